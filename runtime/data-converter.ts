import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { codecKeyring, EncryptionCodec } from './codec.js';
import type { SpokeflowConfig } from './config.js';

/** Plain CommonJS because the workflow sandbox bundles it as well (see the file). */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter of every worker, client, the CLI and the schedules: payloads encrypted with the
 * configured codec keys, failure messages and stack traces encoded so they are encrypted too.
 * Undefined when no key is configured: the SDK's defaults, plain payloads (the local stack).
 */
export function spokeflowDataConverter(config: SpokeflowConfig): DataConverter | undefined {
  const keyring = codecKeyring(config.codec);
  if (!keyring) return undefined;
  return { payloadCodecs: [new EncryptionCodec(keyring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

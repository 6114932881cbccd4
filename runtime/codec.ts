import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApplicationFailure, METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';

/** Encoding of an encrypted payload; anything else passes through decode untouched (older, plain history). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was sealed with, so rotation can keep decrypting old ones. */
export const KEY_ID_METADATA = 'encryption-key-id';
export const CODEC_ERROR_TYPE = 'PayloadCodecError';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The codec settings as configured (runtime/config.ts): raw text, parsed by `codecKeyring`. */
export interface CodecSettings {
  keys?: string;
  keyId?: string;
  keysFile?: string;
}

export interface CodecKeyring {
  /** The key new payloads are sealed with. */
  currentId: string;
  /** Every key that can open a payload: the current one and those being rotated out. */
  keys: ReadonlyMap<string, Buffer>;
}

// A codec failure is a configuration problem no retry fixes.
function codecError(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: CODEC_ERROR_TYPE, nonRetryable: true });
}

/** Parses `id:base64key,id:base64key` (commas or newlines); `origin` names where the text came from. */
export function parseKeys(text: string, origin: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of text.split(/[,\n]/).map((s) => s.trim())) {
    if (!entry || entry.startsWith('#')) continue;
    const colon = entry.indexOf(':');
    if (colon <= 0) throw codecError(`${origin}: each key is id:base64key (an entry has no id)`);
    const id = entry.slice(0, colon).trim();
    const key = Buffer.from(entry.slice(colon + 1).trim(), 'base64');
    if (key.length !== KEY_BYTES) {
      throw codecError(`${origin}: key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (openssl rand -base64 32)`);
    }
    if (keys.has(id)) throw codecError(`${origin}: key id "${id}" appears twice`);
    keys.set(id, key);
  }
  return keys;
}

/**
 * The keys of SPOKEFLOW_CODEC_KEYS and SPOKEFLOW_CODEC_KEYS_FILE, with SPOKEFLOW_CODEC_KEY_ID as the
 * current one (the first key when unset); undefined when no key is configured: payloads stay plain.
 */
export function codecKeyring(settings: CodecSettings): CodecKeyring | undefined {
  const keys = new Map<string, Buffer>();
  const add = (parsed: Map<string, Buffer>, origin: string) => {
    for (const [id, key] of parsed) {
      if (keys.has(id)) throw codecError(`${origin}: key id "${id}" is also in another codec key variable`);
      keys.set(id, key);
    }
  };
  if (settings.keys) add(parseKeys(settings.keys, 'SPOKEFLOW_CODEC_KEYS'), 'SPOKEFLOW_CODEC_KEYS');
  if (settings.keysFile) {
    let text: string;
    try {
      text = readFileSync(settings.keysFile, 'utf8');
    } catch (err) {
      throw codecError(`SPOKEFLOW_CODEC_KEYS_FILE: cannot read ${settings.keysFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    add(parseKeys(text, `SPOKEFLOW_CODEC_KEYS_FILE (${settings.keysFile})`), 'SPOKEFLOW_CODEC_KEYS_FILE');
  }
  if (keys.size === 0) {
    if (settings.keyId)
      throw codecError('SPOKEFLOW_CODEC_KEY_ID is set but no key is: set SPOKEFLOW_CODEC_KEYS or SPOKEFLOW_CODEC_KEYS_FILE');
    return undefined;
  }
  const currentId = settings.keyId || keys.keys().next().value!;
  if (!keys.has(currentId)) {
    throw codecError(`SPOKEFLOW_CODEC_KEY_ID "${currentId}" is not one of the configured keys (${[...keys.keys()].join(', ')})`);
  }
  return { currentId, keys };
}

// The sealed form is the whole payload (metadata and data) as JSON, so the encoding of the value is hidden too.
function serialize(payload: Payload): Buffer {
  const metadata = Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return Buffer.from(JSON.stringify({ metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') }));
}

function deserialize(bytes: Buffer): Payload {
  const parsed = JSON.parse(bytes.toString('utf8')) as { metadata: Record<string, string>; data: string };
  const metadata = Object.fromEntries(Object.entries(parsed.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
  return { metadata, data: new Uint8Array(Buffer.from(parsed.data, 'base64')) };
}

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/**
 * AES-256-GCM over each payload: a fresh 96-bit IV per payload, the key id as associated data (a
 * payload relabelled with another key id fails authentication), the key id in the clear metadata
 * so any holder of that key can open it after the current key has moved on.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: CodecKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { currentId, keys } = this.keyring;
    const key = keys.get(currentId)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, key, iv);
      cipher.setAAD(Buffer.from(currentId));
      const sealed = Buffer.concat([iv, cipher.update(serialize(payload)), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: new Uint8Array(Buffer.from(ENCRYPTED_ENCODING)),
          [KEY_ID_METADATA]: new Uint8Array(Buffer.from(currentId)),
        },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw codecError('an encrypted payload carries no encryption-key-id');
      const key = this.keyring.keys.get(keyId);
      if (!key) {
        throw codecError(
          `payload was encrypted with key "${keyId}", which is not configured here: add it to SPOKEFLOW_CODEC_KEYS or SPOKEFLOW_CODEC_KEYS_FILE`,
        );
      }
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      if (sealed.length < IV_BYTES + TAG_BYTES) throw codecError(`encrypted payload (key "${keyId}") is truncated`);
      const decipher = createDecipheriv(CIPHER, key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      try {
        return deserialize(Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]));
      } catch {
        throw codecError(
          `payload encrypted with key "${keyId}" does not open with the configured key of that id (wrong key or altered data)`,
        );
      }
    });
  }
}

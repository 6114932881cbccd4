import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { encodeErrorToFailure, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { describe, expect, it } from 'vitest';
import { codecKeyring, EncryptionCodec, KEY_ID_METADATA, type CodecSettings } from '../../runtime/codec.js';
import { loadConfig } from '../../runtime/config.js';
import { spokeflowDataConverter } from '../../runtime/data-converter.js';

const SECRET = 'canary-4f1e owner@secret.example';
const key = () => randomBytes(32).toString('base64');
const codecOf = (settings: CodecSettings) => new EncryptionCodec(codecKeyring(settings)!);
const plain = (value: unknown) => defaultPayloadConverter.toPayload(value)!;
const valueOf = (payload: Payload) => defaultPayloadConverter.fromPayload(payload);
const bytesOf = (payload: Payload) => Buffer.concat([...Object.values(payload.metadata ?? {}), payload.data ?? new Uint8Array()]);

/** The failure's text as the server would store it, after the codec. */
async function storedFailure(settings: CodecSettings, err: Error): Promise<string> {
  const config = loadConfig({ SPOKEFLOW_CODEC_KEYS: settings.keys });
  const converter = loadDataConverter(spokeflowDataConverter(config));
  const failure = await encodeErrorToFailure(converter, err);
  return JSON.stringify(failure, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
}

describe('payload encryption', () => {
  it('round-trips a value and hides it, its encoding and nothing else but the key id', async () => {
    const codec = codecOf({ keys: `k1:${key()}` });
    const [sealed] = await codec.encode([plain({ description: SECRET })]);
    expect(bytesOf(sealed!).toString('latin1')).not.toContain('canary');
    expect(bytesOf(sealed!).toString('latin1')).not.toContain('json/plain');
    expect(Buffer.from(sealed!.metadata![KEY_ID_METADATA]!).toString()).toBe('k1');
    const [opened] = await codec.decode([sealed!]);
    expect(valueOf(opened!)).toEqual({ description: SECRET });
  });

  it('seals the same value differently each time (a fresh IV per payload)', async () => {
    const codec = codecOf({ keys: `k1:${key()}` });
    const [a, b] = await codec.encode([plain(SECRET), plain(SECRET)]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after rotation encrypts with the new key and still opens payloads sealed with the old one', async () => {
    const oldKey = key();
    const newKey = key();
    const [old] = await codecOf({ keys: `2025:${oldKey}` }).encode([plain('before rotation')]);
    const rotated = codecOf({ keys: `2025:${oldKey},2026:${newKey}`, keyId: '2026' });
    const [fresh] = await rotated.encode([plain('after rotation')]);
    expect(Buffer.from(fresh!.metadata![KEY_ID_METADATA]!).toString()).toBe('2026');
    expect((await rotated.decode([old!, fresh!])).map(valueOf)).toEqual(['before rotation', 'after rotation']);
  });

  it('refuses, non-retryably and naming the variables, a payload whose key is not configured', async () => {
    const [sealed] = await codecOf({ keys: `gone:${key()}` }).encode([plain(SECRET)]);
    const other = codecOf({ keys: `k1:${key()}` });
    const refused = await other.decode([sealed!]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).nonRetryable).toBe(true);
    expect((refused as Error).message).toMatch(/key "gone".*SPOKEFLOW_CODEC_KEYS/);
  });

  it('refuses a payload sealed with another key of the same id, or altered', async () => {
    const [sealed] = await codecOf({ keys: `k1:${key()}` }).encode([plain(SECRET)]);
    await expect(codecOf({ keys: `k1:${key()}` }).decode([sealed!])).rejects.toThrow(/does not open/);
    const owner = codecOf({ keys: `k1:${key()}` });
    const [mine] = await owner.encode([plain(SECRET)]);
    mine!.data![20]! ^= 1;
    await expect(owner.decode([mine!])).rejects.toThrow(/does not open/);
  });

  it('passes plain payloads through decode (history written before encryption was turned on)', async () => {
    const [opened] = await codecOf({ keys: `k1:${key()}` }).decode([plain('old run')]);
    expect(valueOf(opened!)).toBe('old run');
  });

  it('names the variable of a key of the wrong length or an unknown current key id', () => {
    expect(() => codecKeyring({ keys: `k1:${Buffer.alloc(16).toString('base64')}` })).toThrow(
      /SPOKEFLOW_CODEC_KEYS: key "k1" is 16 bytes; AES-256 needs 32/,
    );
    expect(() => codecKeyring({ keys: `k1:${key()}`, keyId: 'k9' })).toThrow(/SPOKEFLOW_CODEC_KEY_ID "k9" is not one of/);
    expect(() => codecKeyring({ keysFile: '/nonexistent/keys' })).toThrow(/SPOKEFLOW_CODEC_KEYS_FILE: cannot read/);
  });

  it('reads keys from a file, one per line', async () => {
    const file = path.join(tmpdir(), `spokeflow-keys-${process.pid}`);
    const k = key();
    writeFileSync(file, `# rotated 2026-01\nold:${key()}\nnew:${k}\n`);
    const keyring = codecKeyring({ keysFile: file, keyId: 'new' })!;
    expect([...keyring.keys.keys()]).toEqual(['old', 'new']);
    expect(keyring.keys.get('new')!.toString('base64')).toBe(k);
  });

  it('is off when no key is configured, so the local stack keeps plain payloads', () => {
    expect(codecKeyring({})).toBeUndefined();
    expect(spokeflowDataConverter(loadConfig({}))).toBeUndefined();
  });

  it("encodes a failure's message and stack trace, so the codec encrypts them", async () => {
    const stored = await storedFailure({ keys: `k1:${key()}` }, new Error(`source failed: ${SECRET}`));
    expect(stored).toContain('Encoded failure');
    expect(stored).not.toContain('canary');
  });
});

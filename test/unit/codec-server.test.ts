import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodecServer } from '../../cli/codec-server.js';
import { codecKeyring, EncryptionCodec } from '../../runtime/codec.js';

const TOKEN = 'operator-token-1';
const UI = 'http://localhost:8233';
const json = (value: unknown) => defaultPayloadConverter.toPayload(value)!;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('the codec server', () => {
  let server: Server;
  let base: string;
  const codec = new EncryptionCodec(codecKeyring({ keys: `k1:${randomBytes(32).toString('base64')}` })!);

  beforeAll(async () => {
    server = createCodecServer({ codec, token: TOKEN, origins: [UI] });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: UI, ...headers },
      body: JSON.stringify(body),
    });

  it('decodes what the workers encrypted, in the protocol shape, for the Web UI origin', async () => {
    const [sealed] = await codec.encode([json({ description: 'canary' })]);
    const res = await post('/decode', {
      payloads: [
        { metadata: { encoding: b64(sealed!.metadata!.encoding!), 'encryption-key-id': b64(Buffer.from('k1')) }, data: b64(sealed!.data!) },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString())).toEqual({ description: 'canary' });
  });

  it('encodes under any mount path ending in /encode', async () => {
    const plain = json('hello');
    const res = await post('/namespaces/default/encode', {
      payloads: [{ metadata: { encoding: b64(plain.metadata!.encoding!) }, data: b64(plain.data!) }],
    });
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(body.payloads[0]!.data, 'base64').toString('latin1')).not.toContain('hello');
  });

  it('answers the preflight of the Web UI origin without a token, and no other origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-headers')).toContain('x-namespace');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a request without the token (401) or with a wrong one (403)', async () => {
    expect((await post('/decode', { payloads: [] }, {})).status).toBe(401);
    expect((await post('/decode', { payloads: [] }, { authorization: 'Bearer operator-token-2' })).status).toBe(403);
    expect((await post('/decode', { payloads: [] }, { authorization: TOKEN })).status).toBe(403);
  });
});

import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { codecKeyring, EncryptionCodec } from '../runtime/codec.js';
import type { SpokeflowConfig } from '../runtime/config.js';
import { UsageError } from './run.js';

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Payloads as the Web UI and the CLI send them: protobuf JSON, bytes in base64. */
const PayloadsJson = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })),
});
type PayloadsJson = z.infer<typeof PayloadsJson>;

const fromJson = (body: PayloadsJson): Payload[] =>
  body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  }));

const toJson = (payloads: Payload[]): PayloadsJson => ({
  payloads: payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  })),
});

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Every request must carry `Authorization: Bearer <token>`. */
  token: string;
  /** Browser origins allowed to call it (the Web UI's). */
  origins: readonly string[];
}

function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * The Temporal codec-server protocol: POST …/encode and …/decode with `{payloads: [...]}`. The Web
 * UI calls it from the operator's browser, so it answers CORS preflights for the allowed origins
 * (which carry no token) and requires the bearer token of every other request.
 */
export function createCodecServer(options: CodecServerOptions): Server {
  const allowed = new Set(options.origins);
  return createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      // The UI may send credentials and X-Namespace; the exact origin is required for credentials.
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'authorization, content-type, x-namespace');
      res.setHeader('access-control-max-age', '600');
    }
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') return reply(res, origin && allowed.has(origin) ? 204 : 403);
    const action = /\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://codec').pathname)?.[1];
    if (req.method !== 'POST' || !action) return reply(res, 404, { error: 'POST /encode or /decode' });
    if (!req.headers.authorization) return reply(res, 401, { error: 'bearer token required' });
    if (!sameToken(req.headers.authorization, options.token)) return reply(res, 403, { error: 'wrong token' });
    readBody(req)
      .then(async (text) => {
        const parsed = PayloadsJson.safeParse(JSON.parse(text));
        if (!parsed.success) return reply(res, 400, { error: 'body is not {payloads: [{metadata, data}]}' });
        const payloads = fromJson(parsed.data);
        const out = action === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        reply(res, 200, toJson(out));
      })
      .catch((err: unknown) => reply(res, 400, { error: err instanceof Error ? err.message : String(err) }));
  });
}

/** `spokeflow codec-server`: serves the configured keys until stopped; resolves once listening. */
export async function startCodecServer(config: SpokeflowConfig, listen: { host: string; port: number }): Promise<Server> {
  const keyring = codecKeyring(config.codec);
  if (!keyring) throw new UsageError('no codec keys: set SPOKEFLOW_CODEC_KEYS or SPOKEFLOW_CODEC_KEYS_FILE');
  const token = config.codecServer.token;
  if (!token) throw new UsageError('SPOKEFLOW_CODEC_SERVER_TOKEN is not set: the codec server never runs without a token');
  const server = createCodecServer({ codec: new EncryptionCodec(keyring), token, origins: config.codecServer.origins });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  console.log(
    `codec server on http://${address}:${port} (keys ${[...keyring.keys.keys()].join(', ')}; origins ${config.codecServer.origins.join(', ')})`,
  );
  return server;
}

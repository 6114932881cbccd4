import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingInputError } from '../../activities/vectors/embedder.js';
import { createHttpEmbedder } from '../../activities/vectors/http-embedder.js';

/** An OpenAI-compatible /v1/embeddings on loopback: answers by the first input's text, and records requests. */
describe('the OpenAI-compatible embedding provider', () => {
  let server: Server;
  let baseUrl: string;
  const requests: { auth?: string; body: { model: string; input: string[]; dimensions?: number } }[] = [];

  const read = async (req: IncomingMessage) => {
    let data = '';
    for await (const chunk of req) data += String(chunk);
    return JSON.parse(data) as (typeof requests)[number]['body'];
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      void read(req).then((body) => {
        requests.push({ auth: req.headers.authorization, body });
        const first = body.input[0] ?? '';
        if (req.url !== '/v1/embeddings') return res.writeHead(404).end();
        if (first === 'too long') return res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"input too long"}');
        if (first === 'overloaded') return res.writeHead(503).end('busy');
        const dims = first === 'wrong size' ? 3 : 384;
        // Out of order on purpose: the index says which input each vector is for.
        const data = body.input
          .map((_, i) => ({ index: i, embedding: Array.from({ length: dims }, (_, d) => (d === i ? 2 : 0)) }))
          .reverse();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the texts with model and key, and returns unit vectors in input order', async () => {
    const e = createHttpEmbedder({ baseUrl, model: 'all-minilm', apiKey: 'sk-test', sendDimensions: true });
    const vectors = await e.embed(['a', 'b']);
    expect(requests.at(-1)).toEqual({
      auth: 'Bearer sk-test',
      body: { model: 'all-minilm', input: ['a', 'b'], encoding_format: 'float', dimensions: 384 },
    });
    expect(vectors).toHaveLength(2);
    expect(vectors[0]![0]).toBe(1);
    expect(vectors[1]![1]).toBe(1);
    expect(e.model).toBe('all-minilm');
    expect(e.modelVersion).toBe(`http:${new URL(baseUrl).host}`);
    expect(createHttpEmbedder({ baseUrl, model: 'm', modelVersion: 'v2' }).modelVersion).toBe('v2');
  });

  it('calls a refused input an input error, and an overloaded endpoint a transient one', async () => {
    const e = createHttpEmbedder({ baseUrl, model: 'all-minilm' });
    await expect(e.embed(['too long'])).rejects.toBeInstanceOf(EmbeddingInputError);
    const transient = await e.embed(['overloaded']).catch((err: unknown) => err);
    expect(transient).toBeInstanceOf(Error);
    expect(transient).not.toBeInstanceOf(EmbeddingInputError);
    expect((transient as Error).message).toContain('503');
  });

  it('refuses vectors of another size than the index holds', async () => {
    const e = createHttpEmbedder({ baseUrl, model: 'all-minilm' });
    await expect(e.embed(['wrong size'])).rejects.toThrow(/returns 3 dimensions; the index holds 384/);
  });
});

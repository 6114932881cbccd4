import { EmbeddingInputError, type Embedder } from './embedder.js';

export interface HttpEmbedderOptions {
  /** e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), a vLLM or TEI server's /v1. */
  baseUrl: string;
  model: string;
  /** Recorded with each vector; empty: the endpoint's host, so pointing elsewhere re-embeds. */
  modelVersion?: string;
  apiKey?: string;
  dimensions?: number;
  /** Ask for `dimensions` (OpenAI's text-embedding-3 models shorten their vectors on request). */
  sendDimensions?: boolean;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface EmbeddingsResponse {
  data?: { index: number; embedding: number[] }[];
}

/**
 * An OpenAI-compatible `POST {baseUrl}/embeddings` (OpenAI, Ollama, vLLM, TEI). A 4xx other than
 * 408/429 means these inputs are refused (EmbeddingInputError); anything else — network, 5xx, 429,
 * a timeout — is transient and left to the activity's retries.
 */
export function createHttpEmbedder(options: HttpEmbedderOptions): Embedder {
  const dimensions = options.dimensions ?? 384;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
  const doFetch = options.fetch ?? fetch;
  return {
    model: options.model,
    modelVersion: options.modelVersion || `http:${new URL(options.baseUrl).host}`,
    dimensions,
    async embed(texts) {
      if (texts.length === 0) return [];
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
        body: JSON.stringify({
          model: options.model,
          input: texts,
          encoding_format: 'float',
          ...(options.sendDimensions ? { dimensions } : {}),
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
      if (!res.ok) {
        const body = (await res.text().catch(() => '')).slice(0, 500);
        const message = `embedding endpoint ${url} answered ${res.status}: ${body}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new EmbeddingInputError(message);
        throw new Error(message);
      }
      const json = (await res.json()) as EmbeddingsResponse;
      const data = [...(json.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== texts.length) throw new Error(`embedding endpoint returned ${data.length} vectors for ${texts.length} texts`);
      return data.map((d) => {
        if (d.embedding.length !== dimensions) {
          throw new Error(
            `embedding endpoint's model ${options.model} returns ${d.embedding.length} dimensions; the index holds ${dimensions}`,
          );
        }
        // Normalised here so cosine distance means the same whatever the endpoint returns.
        const v = Float32Array.from(d.embedding);
        let norm = 0;
        for (const x of v) norm += x * x;
        norm = Math.sqrt(norm) || 1;
        for (let i = 0; i < v.length; i++) v[i]! /= norm;
        return v;
      });
    },
    close: () => Promise.resolve(),
  };
}

/** Turns texts into unit-length vectors of one model; every provider of the pack has this shape. */
export interface Embedder {
  /** Model name, recorded with every vector. */
  readonly model: string;
  /** Model version (weights checksum or a configured release): a change re-embeds everything. */
  readonly modelVersion: string;
  readonly dimensions: number;
  /** One vector per text, in order. Throws EmbeddingInputError when the texts themselves are refused. */
  embed(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/**
 * The provider refused these texts (a 4xx from an endpoint, a model error on this input): trying
 * them again unchanged fails the same way, so they are recorded rather than retried.
 */
export class EmbeddingInputError extends Error {
  override readonly name = 'EmbeddingInputError';
}

/** The vector as pgvector reads it: `[0.1,-0.2,…]`, 8 significant digits (a float32 holds about 7). */
export function vectorLiteral(v: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i) s += ',';
    s += Number(v[i]!.toPrecision(8)).toString();
  }
  return `${s}]`;
}

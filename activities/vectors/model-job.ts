// What the worker and the model's thread say to each other, apart from the model runtime: a worker
// that never embeds should not load transformers.js and onnxruntime (~40 MiB resident) to know it.

/** A job for the model's thread (model-thread.ts), and its reply: the vectors in one transferred buffer. */
export interface ModelJob {
  modelsDir: string;
  name: string;
  texts: string[];
}
export interface ModelReply {
  data: Float32Array;
  dimensions: number;
}
/** Error prefixes from the thread: a model that cannot load is not a text the model refuses. */
export const LOAD_ERROR = 'model load: ';
export const INPUT_ERROR = 'model input: ';

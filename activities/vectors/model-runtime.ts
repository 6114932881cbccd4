import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';

export { INPUT_ERROR, LOAD_ERROR, type ModelJob, type ModelReply } from './model-job.js';

/** all-MiniLM-L6-v2 was trained on 256-token inputs; longer ones only cost time. */
const MAX_TOKENS = 256;

/**
 * Loads the local model from `modelsDir/<name>` (laid out by infra/local/stack.sh) with remote
 * downloads switched off: a missing file is an error here, never a fetch from a model hub.
 */
export async function loadModel(modelsDir: string, name: string): Promise<FeatureExtractionPipeline> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
  // No spinning threads: on a shared machine (2 cores here) onnxruntime's busy-waiting took CPU from
  // the stores and the event loop and ran no faster when the cores were free.
  const extractor = await pipeline('feature-extraction', name, {
    dtype: 'q8',
    session_options: { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } },
  });
  const config = (extractor.tokenizer as unknown as { _tokenizerConfig?: { model_max_length?: number } })._tokenizerConfig;
  if (config) config.model_max_length = Math.min(config.model_max_length ?? MAX_TOKENS, MAX_TOKENS);
  return extractor;
}

/** Mean-pooled, L2-normalised sentence vectors, one after another in one buffer. */
export async function embedFlat(
  extractor: FeatureExtractionPipeline,
  texts: string[],
): Promise<{ data: Float32Array; dimensions: number }> {
  const out = await extractor(texts, { pooling: 'mean', normalize: true });
  const dimensions = out.dims.at(-1)!;
  const data = out.data instanceof Float32Array ? out.data : Float32Array.from(out.data as ArrayLike<number>);
  return { data, dimensions };
}

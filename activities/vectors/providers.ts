import type { SpokeflowConfig } from '../../runtime/config.js';
import type { Embedder } from './embedder.js';
import { createHttpEmbedder } from './http-embedder.js';
import { createLocalEmbedder } from './local-model.js';

/** The embedder the configuration names: the local model by default, or an OpenAI-compatible endpoint. */
export function createEmbedder(config: SpokeflowConfig, options: { thread?: boolean } = {}): Embedder {
  const e = config.embeddings;
  if (e.provider === 'http') {
    if (!e.url) throw new Error('SPOKEFLOW_EMBEDDING_PROVIDER=http needs SPOKEFLOW_EMBEDDING_URL');
    return createHttpEmbedder({
      baseUrl: e.url,
      model: e.model,
      modelVersion: e.modelVersion,
      apiKey: e.apiKey,
      sendDimensions: e.sendDimensions,
    });
  }
  return createLocalEmbedder({ modelsDir: e.modelsDir, ...options });
}

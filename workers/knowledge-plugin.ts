import type { Embedder } from '../activities/vectors/embedder.js';
import { createVectorActivities } from '../activities/vectors/index.js';
import { createEmbedder } from '../activities/vectors/providers.js';
import { definePlugin } from './define-plugin.js';
import type { PluginOptions } from './plugin-options.js';

export interface KnowledgePluginOptions extends PluginOptions {
  /** An embedder of the caller's, which it keeps (and closes) itself. */
  embedder?: Embedder;
}

/** The knowledge domain: the embedding refresh of the catalog into pgvector (Postgres), read from MySQL. */
export const knowledgePlugin = definePlugin<KnowledgePluginOptions>('spokeflow.knowledge', ({ config, clients, options }) => {
  // The local model runs on a thread of its own (loaded on first use); an HTTP endpoint needs none.
  const embedder = options.embedder ?? createEmbedder(config);
  return {
    activities: createVectorActivities({ catalog: clients.catalog, postgres: clients.postgres, schema: config.vectors.schema, embedder }),
    owns: options.embedder ? [] : [embedder],
  };
});

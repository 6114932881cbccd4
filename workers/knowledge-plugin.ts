import { SimplePlugin } from '@temporalio/plugin';
import type { Embedder } from '../activities/vectors/embedder.js';
import { createVectorActivities } from '../activities/vectors/index.js';
import { createEmbedder } from '../activities/vectors/providers.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { sharedWorkflowsPath, type PluginOptions } from './plugin-options.js';

/** The knowledge domain: the embedding refresh of the catalog into pgvector (Postgres), read from MySQL. */
export function knowledgePlugin(options: PluginOptions & { embedder?: Embedder } = {}): SimplePlugin {
  const config = options.config ?? loadConfig();
  const clients = options.clients ?? createClients(config);
  // The local model runs on a thread of its own (loaded on first use); an HTTP endpoint needs none.
  const embedder = options.embedder ?? createEmbedder(config);
  const activities = createVectorActivities({ catalog: clients.catalog, postgres: clients.postgres, schema: config.vectors.schema, embedder });
  return new SimplePlugin({
    name: 'spokeflow.knowledge',
    activities,
    ...(options.registerWorkflows === false ? {} : { workflowsPath: sharedWorkflowsPath }),
    runContext: async (next) => {
      try {
        await next();
      } finally {
        if (!options.embedder) await embedder.close();
      }
    },
  });
}

import { createSemanticSearch } from '../activities/vectors/search.js';
import { createEmbedder } from '../activities/vectors/providers.js';
import type { SearchHit } from '../common/knowledge.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';

/** `spokeflow search`: ranked catalog entries for a query, from the index the embedding refresh keeps. */
export async function searchCatalog(query: string, options: { team?: string; tag?: string; limit?: number }): Promise<SearchHit[]> {
  const config = loadConfig();
  const clients = createClients(config);
  // One query: the model runs on this thread, no worker thread to start.
  const embedder = createEmbedder(config, { thread: false });
  try {
    const search = createSemanticSearch({ catalog: clients.catalog, postgres: clients.postgres, schema: config.vectors.schema, embedder });
    return await search.search(query, options);
  } finally {
    await embedder.close();
    await clients.close();
  }
}

export function formatHits(hits: SearchHit[]): string {
  if (hits.length === 0) return 'no match (if the index is empty, build it: npx spokeflow run embeddingRefreshWorkflow)';
  return hits
    .map((h, i) => {
      const health = h.health ? `health ${h.health.score} (${h.health.day})` : 'health n/a';
      return `${String(i + 1).padStart(2)}. ${h.dataset}  ${h.similarity.toFixed(3)}  team ${h.team}  owner ${h.owner}  ${health}${h.tags.length ? `  [${h.tags.join(', ')}]` : ''}`;
    })
    .join('\n');
}

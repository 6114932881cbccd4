import type { Pool } from 'mysql2/promise';
import type { Pool as PgPool } from 'pg';
import { describeIssues } from '../../common/errors.js';
import { SearchOptions, type SearchHit } from '../../common/knowledge.js';
import { createHealthStore } from '../catalog/health-store.js';
import { vectorLiteral, type Embedder } from './embedder.js';
import { createVectorStore } from './vector-store.js';

export interface SearchDeps {
  catalog: Pool;
  postgres: PgPool;
  schema: string;
  embedder: Embedder;
}

/**
 * Semantic search over the index: the query is embedded by the same model as the entries (only
 * vectors of that model and version are compared), ranked by cosine distance through the HNSW
 * index, filtered by team and tag, and joined to each dataset's latest health score from MySQL.
 */
export function createSemanticSearch(deps: SearchDeps) {
  const index = createVectorStore(deps.postgres, deps.schema);
  const health = createHealthStore(deps.catalog);

  return {
    async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
      const parsed = SearchOptions.safeParse(options);
      if (!parsed.success) throw new Error(`invalid search options: ${describeIssues(parsed.error)}`);
      const o = parsed.data;
      const [embedded] = await deps.embedder.embed([query]);
      const vector = vectorLiteral(embedded!);
      const model = { model: deps.embedder.model, modelVersion: deps.embedder.modelVersion };
      let rows = await index.nearest(vector, model, o, false);
      // HNSW filters after it walks the graph: a narrow filter can leave the page short, so look exhaustively.
      if (rows.length < o.limit && (o.team !== undefined || o.tag !== undefined)) rows = await index.nearest(vector, model, o, true);
      if (rows.length === 0) return [];
      const scores = await health.latestScores(rows.map((r) => r.dataset_key));
      return rows.map((r) => ({
        dataset: r.dataset_key,
        similarity: Math.round((1 - Number(r.distance)) * 10_000) / 10_000,
        owner: r.owner,
        team: r.team,
        tags: r.tags,
        health: scores.get(r.dataset_key) ?? null,
      }));
    },
  };
}
export type SemanticSearch = ReturnType<typeof createSemanticSearch>;

import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Pool as PgPool } from 'pg';
import { describeIssues } from '../../common/errors.js';
import { SearchOptions, type SearchHit } from '../../common/knowledge.js';
import { vectorLiteral, type Embedder } from './embedder.js';

export interface SearchDeps {
  catalog: Pool;
  postgres: PgPool;
  schema: string;
  embedder: Embedder;
}

/** Candidates HNSW visits: more than pgvector's 40 so that a team or tag filter still fills the page. */
const EF_SEARCH = 100;
const EF_SEARCH_FILTERED = 400;

/**
 * Semantic search over the index: the query is embedded by the same model as the entries (only
 * vectors of that model and version are compared), ranked by cosine distance through the HNSW
 * index, filtered by team and tag, and joined to each dataset's latest health score from MySQL.
 */
export function createSemanticSearch(deps: SearchDeps) {
  const s = `"${deps.schema}"`;

  async function nearest(vector: string, o: { team?: string; tag?: string; limit: number }, exact: boolean) {
    const filtered = o.team !== undefined || o.tag !== undefined;
    const client = await deps.postgres.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL hnsw.ef_search = ${filtered ? EF_SEARCH_FILTERED : EF_SEARCH}`);
      if (exact) await client.query('SET LOCAL enable_indexscan = off');
      const { rows } = await client.query<{ dataset_key: string; owner: string; team: string; tags: string[]; distance: number }>(
        `SELECT dataset_key, owner, team, tags, embedding <=> $1::vector AS distance
         FROM ${s}.vector_entries
         WHERE model = $2 AND model_version = $3 AND ($4::text IS NULL OR team = $4) AND ($5::text IS NULL OR tags @> ARRAY[$5::text])
         ORDER BY embedding <=> $1::vector
         LIMIT $6`,
        [vector, deps.embedder.model, deps.embedder.modelVersion, o.team ?? null, o.tag ?? null, o.limit],
      );
      await client.query('COMMIT');
      return rows;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  return {
    async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
      const parsed = SearchOptions.safeParse(options);
      if (!parsed.success) throw new Error(`invalid search options: ${describeIssues(parsed.error)}`);
      const o = parsed.data;
      const [embedded] = await deps.embedder.embed([query]);
      const vector = vectorLiteral(embedded!);
      let rows = await nearest(vector, o, false);
      // HNSW filters after it walks the graph: a narrow filter can leave the page short, so look exhaustively.
      if (rows.length < o.limit && (o.team !== undefined || o.tag !== undefined)) rows = await nearest(vector, o, true);
      if (rows.length === 0) return [];
      const [scores] = await deps.catalog.query<RowDataPacket[]>(
        `SELECT h.dataset, h.score, DATE_FORMAT(h.day, '%Y-%m-%d') AS day FROM health_scores h
         JOIN (SELECT dataset, MAX(day) AS day FROM health_scores WHERE dataset IN (?) GROUP BY dataset) latest
           ON latest.dataset = h.dataset AND latest.day = h.day`,
        [rows.map((r) => r.dataset_key)],
      );
      const health = new Map(scores.map((r) => [r.dataset as string, { score: Number(r.score), day: r.day as string }]));
      return rows.map((r) => ({
        dataset: r.dataset_key,
        similarity: Math.round((1 - Number(r.distance)) * 10_000) / 10_000,
        owner: r.owner,
        team: r.team,
        tags: r.tags,
        health: health.get(r.dataset_key) ?? null,
      }));
    },
  };
}
export type SemanticSearch = ReturnType<typeof createSemanticSearch>;

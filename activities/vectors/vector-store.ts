import type { Pool as PgPool } from 'pg';
import { vectorLiteral } from './embedder.js';

/** An index row as the refresh compares it: what text, by which model, from which refresh. */
export interface IndexedState {
  contentHash: string;
  model: string;
  modelVersion: string;
  refreshId: string;
}

export interface FailureState extends IndexedState {
  attempts: number;
}

export interface EmbeddedEntry {
  dataset: string;
  text: string;
  contentHash: string;
  owner: string;
  team: string;
  tags: string[];
  vector: Float32Array;
}

type Counts = Record<'scanned' | 'embedded' | 'unchanged' | 'failed' | 'skipped' | 'removed', number>;

/** A planned page of a refresh: its key range (after, through], and once done, its counts. */
export interface RefreshPageRecord {
  after: string | null;
  through: string | null;
  /** Set once the page is done: the last key it read and what it did. */
  done: { last: string | null; totals: Counts } | null;
}

export interface NearestEntry {
  dataset_key: string;
  owner: string;
  team: string;
  tags: string[];
  distance: number;
}

/** Candidates HNSW visits: more than pgvector's 40 so that a team or tag filter still fills the page. */
const EF_SEARCH = 100;
const EF_SEARCH_FILTERED = 400;

/** The Postgres side of the index: entries, failures and refresh runs in one schema. */
export function createVectorStore(postgres: PgPool, schema: string) {
  const s = `"${schema}"`;
  return {
    /**
     * The entries of one model nearest to a vector (a pgvector literal) by cosine distance,
     * filtered by team and tag; through the HNSW index, or exhaustively when `exact`.
     */
    async nearest(
      vector: string,
      model: { model: string; modelVersion: string },
      o: { team?: string; tag?: string; limit: number },
      exact: boolean,
    ): Promise<NearestEntry[]> {
      const filtered = o.team !== undefined || o.tag !== undefined;
      const client = await postgres.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL hnsw.ef_search = ${filtered ? EF_SEARCH_FILTERED : EF_SEARCH}`);
        if (exact) await client.query('SET LOCAL enable_indexscan = off');
        const { rows } = await client.query<NearestEntry>(
          `SELECT dataset_key, owner, team, tags, embedding <=> $1::vector AS distance
           FROM ${s}.vector_entries
           WHERE model = $2 AND model_version = $3 AND ($4::text IS NULL OR team = $4) AND ($5::text IS NULL OR tags @> ARRAY[$5::text])
           ORDER BY embedding <=> $1::vector
           LIMIT $6`,
          [vector, model.model, model.modelVersion, o.team ?? null, o.tag ?? null, o.limit],
        );
        await client.query('COMMIT');
        return rows;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async indexed(keys: string[]): Promise<Map<string, IndexedState>> {
      if (keys.length === 0) return new Map();
      const { rows } = await postgres.query<{ k: string; h: string; m: string; v: string; r: string }>(
        `SELECT dataset_key AS k, content_hash AS h, model AS m, model_version AS v, refresh_id AS r FROM ${s}.vector_entries WHERE dataset_key = ANY($1::text[])`,
        [keys],
      );
      return new Map(rows.map((r) => [r.k, { contentHash: r.h, model: r.m, modelVersion: r.v, refreshId: r.r }]));
    },

    async failures(keys: string[]): Promise<Map<string, FailureState>> {
      if (keys.length === 0) return new Map();
      const { rows } = await postgres.query<{ k: string; h: string; m: string; v: string; r: string; a: number }>(
        `SELECT dataset_key AS k, content_hash AS h, model AS m, model_version AS v, refresh_id AS r, attempts AS a FROM ${s}.vector_failures WHERE dataset_key = ANY($1::text[])`,
        [keys],
      );
      return new Map(rows.map((r) => [r.k, { contentHash: r.h, model: r.m, modelVersion: r.v, refreshId: r.r, attempts: r.a }]));
    },

    /** One statement for the whole batch; an entry embedded again replaces its row, and its failure is forgotten. */
    async upsert(entries: EmbeddedEntry[], model: { model: string; modelVersion: string; refreshId: string }): Promise<void> {
      if (entries.length === 0) return;
      const keys = entries.map((e) => e.dataset);
      const client = await postgres.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO ${s}.vector_entries (dataset_key, text, content_hash, model, model_version, embedding, owner, team, tags, refresh_id, updated_at)
           SELECT x.k, x.t, x.h, $4, $5, x.v::vector, x.o, x.tm, ARRAY(SELECT jsonb_array_elements_text(x.tg::jsonb)), $9, now()
           FROM unnest($1::text[], $2::text[], $3::text[], $6::text[], $7::text[], $8::text[], $10::text[]) AS x(k, t, h, v, o, tm, tg)
           ON CONFLICT (dataset_key) DO UPDATE SET
             text = EXCLUDED.text, content_hash = EXCLUDED.content_hash, model = EXCLUDED.model,
             model_version = EXCLUDED.model_version, embedding = EXCLUDED.embedding, owner = EXCLUDED.owner,
             team = EXCLUDED.team, tags = EXCLUDED.tags, refresh_id = EXCLUDED.refresh_id, updated_at = now()`,
          [
            keys,
            entries.map((e) => e.text),
            entries.map((e) => e.contentHash),
            model.model,
            model.modelVersion,
            entries.map((e) => vectorLiteral(e.vector)),
            entries.map((e) => e.owner),
            entries.map((e) => e.team),
            model.refreshId,
            entries.map((e) => JSON.stringify(e.tags)),
          ],
        );
        await client.query(`DELETE FROM ${s}.vector_failures WHERE dataset_key = ANY($1::text[])`, [keys]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /** Counts a failed try: attempts go up while the text and model stay the same, else start again at 1. */
    async recordFailure(
      f: { dataset: string; contentHash: string; error: string },
      model: { model: string; modelVersion: string; refreshId: string },
    ): Promise<void> {
      await postgres.query(
        `INSERT INTO ${s}.vector_failures AS f (dataset_key, content_hash, model, model_version, attempts, last_error, refresh_id)
         VALUES ($1, $2, $3, $4, 1, $5, $6)
         ON CONFLICT (dataset_key) DO UPDATE SET
           attempts = CASE WHEN f.content_hash = EXCLUDED.content_hash AND f.model = EXCLUDED.model AND f.model_version = EXCLUDED.model_version
                           THEN f.attempts + CASE WHEN f.refresh_id = EXCLUDED.refresh_id THEN 0 ELSE 1 END ELSE 1 END,
           first_failed_at = CASE WHEN f.content_hash = EXCLUDED.content_hash THEN f.first_failed_at ELSE now() END,
           content_hash = EXCLUDED.content_hash, model = EXCLUDED.model, model_version = EXCLUDED.model_version,
           last_error = EXCLUDED.last_error, refresh_id = EXCLUDED.refresh_id, last_failed_at = now()`,
        [f.dataset, f.contentHash, model.model, model.modelVersion, f.error.slice(0, 2_000), model.refreshId],
      );
    },

    /**
     * Entries of the key range (after, through] — to the end when `through` is null — whose
     * dataset the catalog no longer has; their failures go too.
     */
    async removeMissing(after: string | null, through: string | null, present: string[]): Promise<number> {
      const range = `dataset_key > $1 AND ($2::text IS NULL OR dataset_key <= $2) AND NOT (dataset_key = ANY($3::text[]))`;
      const args = [after ?? '', through, present];
      const removed = await postgres.query(`DELETE FROM ${s}.vector_entries WHERE ${range}`, args);
      await postgres.query(`DELETE FROM ${s}.vector_failures WHERE ${range}`, args);
      return removed.rowCount ?? 0;
    },

    /**
     * Records the pages of a refresh as key ranges cut at `bounds` (n bounds, n + 1 pages, the last
     * to the end), once: a second call for the same refresh keeps the first plan. Returns the count.
     */
    async planPages(refreshId: string, after: string | null, bounds: string[]): Promise<number> {
      const afters = [after, ...bounds];
      const throughs = [...bounds, null];
      await postgres.query(
        `INSERT INTO ${s}.vector_refresh_pages (refresh_id, page, after_key, through_key)
         SELECT $1, x.n - 1, x.a, x.t FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(a, t, n)
         WHERE NOT EXISTS (SELECT 1 FROM ${s}.vector_refresh_pages WHERE refresh_id = $1)
         ON CONFLICT (refresh_id, page) DO NOTHING`,
        [refreshId, afters, throughs],
      );
      const { rows } = await postgres.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s}.vector_refresh_pages WHERE refresh_id = $1`,
        [refreshId],
      );
      return rows[0]?.n ?? 0;
    },

    async page(refreshId: string, page: number): Promise<RefreshPageRecord | undefined> {
      const { rows } = await postgres.query(
        `SELECT after_key, through_key, last_key, scanned, embedded, unchanged, failed, skipped, removed, done_at IS NOT NULL AS done
         FROM ${s}.vector_refresh_pages WHERE refresh_id = $1 AND page = $2`,
        [refreshId, page],
      );
      const r = rows[0];
      if (!r) return undefined;
      const { scanned, embedded, unchanged, failed, skipped, removed } = r as Counts;
      return {
        after: r.after_key,
        through: r.through_key,
        done: r.done ? { last: r.last_key, totals: { scanned, embedded, unchanged, failed, skipped, removed } } : null,
      };
    },

    /**
     * Marks a page done with its counts, and brings the refresh's counts to the sum of its done
     * pages, in one transaction; a page already done keeps its first counts.
     */
    async finishPage(refreshId: string, page: number, last: string | null, t: Counts): Promise<void> {
      const client = await postgres.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `UPDATE ${s}.vector_refresh_pages SET last_key = $3, scanned = $4, embedded = $5, unchanged = $6, failed = $7, skipped = $8, removed = $9,
             done_at = now()
           WHERE refresh_id = $1 AND page = $2 AND done_at IS NULL`,
          [refreshId, page, last, t.scanned, t.embedded, t.unchanged, t.failed, t.skipped, t.removed],
        );
        await client.query(
          `UPDATE ${s}.vector_refreshes r SET scanned = p.scanned, embedded = p.embedded, unchanged = p.unchanged, failed = p.failed,
             skipped = p.skipped, removed = p.removed
           FROM (SELECT coalesce(sum(scanned), 0) AS scanned, coalesce(sum(embedded), 0) AS embedded, coalesce(sum(unchanged), 0) AS unchanged,
                   coalesce(sum(failed), 0) AS failed, coalesce(sum(skipped), 0) AS skipped, coalesce(sum(removed), 0) AS removed
                 FROM ${s}.vector_refresh_pages WHERE refresh_id = $1 AND done_at IS NOT NULL) p
           WHERE r.refresh_id = $1`,
          [refreshId],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async startRefresh(r: { refreshId: string; workflowId: string; model: string; modelVersion: string }): Promise<void> {
      await postgres.query(
        `INSERT INTO ${s}.vector_refreshes (refresh_id, workflow_id, model, model_version, status) VALUES ($1, $2, $3, $4, 'running')
         ON CONFLICT (refresh_id) DO NOTHING`,
        [r.refreshId, r.workflowId, r.model, r.modelVersion],
      );
    },

    /** The checkpoint: the last key reconciled and the counts up to it (absolute, so a retry writes the same). */
    async checkpoint(refreshId: string, cursor: string | null, t: Counts, status?: string, error?: string): Promise<void> {
      await postgres.query(
        `UPDATE ${s}.vector_refreshes SET cursor = $2, scanned = $3, embedded = $4, unchanged = $5, failed = $6, skipped = $7, removed = $8,
           status = COALESCE($9, status), error = COALESCE($10, error), finished_at = CASE WHEN $9::text IS NULL THEN finished_at ELSE now() END
         WHERE refresh_id = $1`,
        [refreshId, cursor, t.scanned, t.embedded, t.unchanged, t.failed, t.skipped, t.removed, status ?? null, error ?? null],
      );
    },
  };
}
export type VectorStore = ReturnType<typeof createVectorStore>;

import pg from 'pg';
import type { MigrationContext } from './index.js';

/** Dimensions of every vector in the index: all-MiniLM-L6-v2's, and what an HTTP provider must return. */
export const VECTOR_DIMENSIONS = 384;

/**
 * The vector index in Postgres (pgvector): one embedded entry per catalog dataset with the model
 * that made it, the entries that keep failing, and one row per refresh run. Keys use the C
 * collation so they order byte-wise, as the MySQL catalog (utf8mb4_bin) pages them.
 */
export async function up({ postgres, config }: MigrationContext): Promise<void> {
  const p = config.postgres;
  const pool = postgres ?? new pg.Pool({ host: p.host, port: p.port, user: p.user, password: p.password, database: p.database, max: 1 });
  const s = `"${config.vectors.schema}"`;
  try {
    await pool.query(`SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector; CREATE SCHEMA IF NOT EXISTS ${s};`);
    await pool.query(`
      CREATE TABLE IF NOT EXISTS ${s}.vector_entries (
        dataset_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        text TEXT NOT NULL,
        content_hash CHAR(64) NOT NULL,
        model TEXT NOT NULL,
        model_version TEXT NOT NULL,
        embedding vector(${VECTOR_DIMENSIONS}) NOT NULL,
        owner TEXT NOT NULL,
        team TEXT NOT NULL,
        tags TEXT[] NOT NULL DEFAULT '{}',
        refresh_id TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS vector_entries_hnsw ON ${s}.vector_entries USING hnsw (embedding vector_cosine_ops);
      CREATE INDEX IF NOT EXISTS vector_entries_team ON ${s}.vector_entries (team);
      CREATE INDEX IF NOT EXISTS vector_entries_tags ON ${s}.vector_entries USING gin (tags);
      CREATE TABLE IF NOT EXISTS ${s}.vector_failures (
        dataset_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        content_hash CHAR(64) NOT NULL,
        model TEXT NOT NULL,
        model_version TEXT NOT NULL,
        attempts INT NOT NULL,
        last_error TEXT NOT NULL,
        refresh_id TEXT NOT NULL,
        first_failed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS ${s}.vector_refreshes (
        refresh_id TEXT NOT NULL PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        model TEXT NOT NULL,
        model_version TEXT NOT NULL,
        status TEXT NOT NULL,
        cursor TEXT COLLATE "C" NULL,
        scanned BIGINT NOT NULL DEFAULT 0,
        embedded BIGINT NOT NULL DEFAULT 0,
        unchanged BIGINT NOT NULL DEFAULT 0,
        failed BIGINT NOT NULL DEFAULT 0,
        skipped BIGINT NOT NULL DEFAULT 0,
        removed BIGINT NOT NULL DEFAULT 0,
        error TEXT NULL,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished_at TIMESTAMPTZ NULL
      );`);
  } finally {
    if (!postgres) await pool.end();
  }
}

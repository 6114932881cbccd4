import pg from 'pg';
import type { MigrationContext } from './index.js';

/**
 * The pages a refresh planned, as key ranges of the catalog (after, through], beside the index
 * they fill: a page's counts land when it is done, so a retried activity or a continued run
 * finds it done and embeds nothing again.
 */
export async function up({ postgres, config }: MigrationContext): Promise<void> {
  const p = config.postgres;
  const pool = postgres ?? new pg.Pool({ host: p.host, port: p.port, user: p.user, password: p.password, database: p.database, max: 1 });
  const s = `"${config.vectors.schema}"`;
  try {
    await pool.query(`
      CREATE TABLE IF NOT EXISTS ${s}.vector_refresh_pages (
        refresh_id TEXT NOT NULL,
        page INT NOT NULL,
        after_key TEXT COLLATE "C" NULL,
        through_key TEXT COLLATE "C" NULL,
        last_key TEXT COLLATE "C" NULL,
        scanned INT NOT NULL DEFAULT 0,
        embedded INT NOT NULL DEFAULT 0,
        unchanged INT NOT NULL DEFAULT 0,
        failed INT NOT NULL DEFAULT 0,
        skipped INT NOT NULL DEFAULT 0,
        removed INT NOT NULL DEFAULT 0,
        done_at TIMESTAMPTZ NULL,
        PRIMARY KEY (refresh_id, page)
      )`);
  } finally {
    if (!postgres) await pool.end();
  }
}

import type { RowDataPacket } from 'mysql2/promise';
import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/**
 * Every run on record, failures included: a backfill keeps the error it failed with, and digests
 * get a run table of their own (the delivery ledger says what was sent, not how a run ended).
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  // MySQL 8 has no ADD COLUMN IF NOT EXISTS.
  const [existing] = await mysql.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = ? AND table_name = 'backfills' AND column_name = 'error'",
    [db],
  );
  if (existing.length === 0) await mysql.query(`ALTER TABLE \`${db}\`.backfills ADD COLUMN error TEXT NULL`);

  // status: running → succeeded | partial (some deliveries refused) | failed | cancelled
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.digest_runs (
    digest_run_id VARCHAR(64) NOT NULL PRIMARY KEY,
    workflow_id VARCHAR(255) NOT NULL,
    period VARCHAR(24) NOT NULL,
    audience VARCHAR(16) NOT NULL,
    scope VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    recipients INT NOT NULL DEFAULT 0,
    sent INT NOT NULL DEFAULT 0,
    refused INT NOT NULL DEFAULT 0,
    error TEXT NULL,
    started_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at DATETIME(6) NULL,
    KEY digest_runs_period (period, status)
  ) ${TABLE_OPTIONS}`);
}

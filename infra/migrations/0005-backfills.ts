import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** Backfills and the state of every partition they touched: what a new backfill knows is done. */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.backfills (
    backfill_id VARCHAR(64) NOT NULL PRIMARY KEY,
    dataset VARCHAR(120) NOT NULL,
    workflow_id VARCHAR(255) NOT NULL,
    granularity VARCHAR(8) NOT NULL,
    range_from VARCHAR(32) NOT NULL,
    range_to VARCHAR(32) NOT NULL,
    mode VARCHAR(8) NOT NULL,
    status VARCHAR(16) NOT NULL,
    partitions INT NOT NULL,
    to_run INT NOT NULL,
    succeeded INT NOT NULL DEFAULT 0,
    failed INT NOT NULL DEFAULT 0,
    started_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at DATETIME(6) NULL,
    KEY backfills_dataset (dataset, status)
  ) ${TABLE_OPTIONS}`);
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.backfill_partitions (
    dataset VARCHAR(120) NOT NULL,
    granularity VARCHAR(8) NOT NULL,
    partition_key VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    backfill_id VARCHAR(64) NOT NULL,
    sync_run_id VARCHAR(160) NULL,
    rows_copied BIGINT NOT NULL DEFAULT 0,
    error TEXT NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (dataset, granularity, partition_key)
  ) ${TABLE_OPTIONS}`);
}

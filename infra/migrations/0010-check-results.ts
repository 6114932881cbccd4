import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/**
 * Data-quality check results with their history: one row per run, dataset and check, so the
 * latest result and every earlier one are both a query away.
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  // status: passed | failed | errored
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.check_results (
    run_id VARCHAR(64) NOT NULL,
    dataset VARCHAR(120) NOT NULL,
    check_id VARCHAR(64) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    severity VARCHAR(8) NOT NULL,
    blocking BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR(16) NOT NULL,
    failing_rows BIGINT NULL,
    failing_ratio DOUBLE NULL,
    query_text TEXT NULL,
    duration_ms INT NOT NULL DEFAULT 0,
    sample_key VARCHAR(512) NULL,
    error TEXT NULL,
    checked_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (run_id, dataset, check_id),
    KEY check_results_history (dataset, check_id, checked_at)
  ) ${TABLE_OPTIONS}`);
}

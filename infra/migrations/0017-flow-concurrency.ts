import type { MigrationContext } from './index.js';

/**
 * OpenFlow concurrency limits across runs: a slot per run of a concurrency key, held while it
 * runs and counted for the key's time window after it started. Claims of one key take turns on
 * its row in flow_concurrency_keys.
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.flow_concurrency_keys (
    concurrency_key VARCHAR(255) NOT NULL PRIMARY KEY
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.flow_concurrency_slots (
    concurrency_key VARCHAR(255) NOT NULL,
    workflow_id VARCHAR(255) NOT NULL,
    run_id VARCHAR(64) NOT NULL,
    started_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    PRIMARY KEY (concurrency_key, workflow_id, run_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
}

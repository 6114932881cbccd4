import type { MigrationContext } from './index.js';

/** One writer per dataset: the lease a sync or backfill holds while it writes, until it ends or expires. */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${config.mysql.database}\`.dataset_leases (
    dataset VARCHAR(120) NOT NULL PRIMARY KEY,
    holder_workflow_id VARCHAR(255) NOT NULL,
    holder_run_id VARCHAR(64) NOT NULL,
    taken_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
}

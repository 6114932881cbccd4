import type { MigrationContext } from './index.js';

/**
 * The primary-key ranges a large sync was cut into, planned once per run: (after, through] in
 * the key's order. A range's counts land when it is done, so a retry or a continued run finds it
 * done and copies nothing again.
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${config.mysql.database}\`.sync_key_ranges (
    sync_run_id VARCHAR(64) NOT NULL,
    range_no INT NOT NULL,
    after_position JSON NULL,
    through_position JSON NULL,
    rows_copied INT NOT NULL DEFAULT 0,
    rows_quarantined INT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    objects INT NOT NULL DEFAULT 0,
    done_at DATETIME(6) NULL,
    PRIMARY KEY (sync_run_id, range_no)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
}

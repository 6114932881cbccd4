import type { RowDataPacket } from 'mysql2/promise';
import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/**
 * Digests: the delivery ledger (one row per recipient, period and channel, claimed before the
 * send and completed after), an index to page datasets by owner, and the bucket of rendered digests.
 */
export async function up({ mysql, minio, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  // status: pending → claimed → sending → sent | empty (nothing to report) | failed (refused for good).
  // A row found in `sending` when it is claimed again may have gone out already: its resend
  // carries the same message_id and counts in `resends`.
  await mysql.query(`CREATE TABLE IF NOT EXISTS \`${db}\`.digest_deliveries (
    recipient VARCHAR(255) NOT NULL,
    period VARCHAR(24) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    status VARCHAR(16) NOT NULL,
    workflow_id VARCHAR(255) NOT NULL,
    claim_token VARCHAR(400) NULL,
    lease_until DATETIME(6) NULL,
    claims INT NOT NULL DEFAULT 0,
    resends INT NOT NULL DEFAULT 0,
    object_key VARCHAR(600) NULL,
    claimed_at DATETIME(6) NULL,
    sent_at DATETIME(6) NULL,
    error TEXT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (recipient, period, channel),
    UNIQUE KEY digest_deliveries_message (message_id),
    KEY digest_deliveries_period (period, status)
  ) ${TABLE_OPTIONS}`);

  // Owners' digests select datasets by owner; MySQL 8 has no CREATE INDEX IF NOT EXISTS.
  const [existing] = await mysql.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.statistics WHERE table_schema = ? AND table_name = 'datasets' AND index_name = 'datasets_owner'",
    [db],
  );
  if (existing.length === 0) await mysql.query(`ALTER TABLE \`${db}\`.datasets ADD INDEX datasets_owner (owner)`);

  const bucket = config.digests.bucket;
  if (!(await minio.bucketExists(bucket))) {
    try {
      await minio.makeBucket(bucket);
    } catch (err) {
      // Another process may have made it between the check and the call.
      if (!(await minio.bucketExists(bucket))) throw err;
    }
  }
}

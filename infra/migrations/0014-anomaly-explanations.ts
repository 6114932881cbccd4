import type { RowDataPacket } from 'mysql2/promise';
import type { MigrationContext } from './index.js';

/** Each anomaly says which of the detector's members fired and, in plain words, what was seen. */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  // MySQL 8 has no ADD COLUMN IF NOT EXISTS.
  const [existing] = await mysql.query<RowDataPacket[]>(
    "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = 'anomalies'",
    [db],
  );
  const has = new Set(existing.map((r) => String(r.name).toLowerCase()));
  if (!has.has('members')) await mysql.query(`ALTER TABLE \`${db}\`.anomalies ADD COLUMN members VARCHAR(32) NULL`);
  if (!has.has('explanation')) await mysql.query(`ALTER TABLE \`${db}\`.anomalies ADD COLUMN explanation VARCHAR(255) NULL`);
}

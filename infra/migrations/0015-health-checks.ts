import type { RowDataPacket } from 'mysql2/promise';
import type { MigrationContext } from './index.js';

/**
 * The health score's checks component beside the others: its score and how many checks were
 * failing, both NULL for a dataset scored without checks (the component is absent, not 0). And an
 * index that answers "each check's latest status" from the index alone, as scoring asks it of
 * every dataset at once.
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  // MySQL 8 has no ADD COLUMN IF NOT EXISTS.
  const [existing] = await mysql.query<RowDataPacket[]>(
    "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = 'health_scores'",
    [db],
  );
  const has = new Set(existing.map((r) => String(r.name).toLowerCase()));
  const add = [
    ...(has.has('checks') ? [] : ['ADD COLUMN checks DECIMAL(4,1) NULL AFTER quality']),
    ...(has.has('failing_checks') ? [] : ['ADD COLUMN failing_checks INT NULL AFTER checks']),
  ];
  if (add.length) await mysql.query(`ALTER TABLE \`${db}\`.health_scores ${add.join(', ')}`);
  const [indexes] = await mysql.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.statistics WHERE table_schema = ? AND table_name = 'check_results' AND index_name = 'check_results_latest'",
    [db],
  );
  if (indexes.length === 0)
    await mysql.query(`ALTER TABLE \`${db}\`.check_results ADD KEY check_results_latest (dataset, check_id, checked_at, status, severity)`);
}

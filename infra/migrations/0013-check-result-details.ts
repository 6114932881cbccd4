import type { MigrationContext } from './index.js';

/**
 * What a table-level check saw (rows, age in seconds) and its problems in words ("missing column
 * email"), beside the failing count, so that a result explains itself without re-running.
 */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  const [present] = await mysql.query(
    "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'check_results'",
    [db],
  );
  const have = new Set((present as { name: string }[]).map((r) => r.name));
  const add = [
    ...(have.has('observed') ? [] : ['ADD COLUMN observed DOUBLE NULL']),
    ...(have.has('details') ? [] : ['ADD COLUMN details TEXT NULL']),
    ...(have.has('team') ? [] : ['ADD COLUMN team VARCHAR(64) NULL']),
  ];
  if (add.length) await mysql.query(`ALTER TABLE \`${db}\`.check_results ${add.join(', ')}`);
}

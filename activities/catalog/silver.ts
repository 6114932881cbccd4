import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { describeType, mysqlTypeFor, type ColumnType, type SourceColumn } from '../../common/column-types.js';
import { ErrorType } from '../../common/errors.js';

/** Bookkeeping columns every silver row carries: which sync run wrote it, and when. */
export const RUN_COLUMN = '_spokeflow_run';
export const LOADED_AT_COLUMN = '_spokeflow_loaded_at';

export const q = (id: string): string => `\`${id.replaceAll('`', '``')}\``;

export interface SilverTable {
  database: string;
  table: string;
}

const qualified = (t: SilverTable) => `${q(t.database)}.${q(t.table)}`;

/**
 * Makes the silver table match the source: created on the first sync, new source columns added
 * later. A column whose type changed fails the run with a message rather than guessing.
 */
export async function evolveSilverTable(
  mysql: Pool,
  catalogDatabase: string,
  dataset: string,
  target: SilverTable,
  columns: SourceColumn[],
  primaryKey: string[],
  syncRunId: string,
): Promise<{ created: boolean; addedColumns: string[] }> {
  const [known] = await mysql.query<RowDataPacket[]>(
    `SELECT name, canonical_type FROM ${q(catalogDatabase)}.dataset_columns WHERE dataset = ? ORDER BY ordinal`,
    [dataset],
  );
  const knownTypes = new Map(known.map((r) => [r.name as string, r.canonical_type as string]));
  for (const c of columns) {
    const before = knownTypes.get(c.name);
    if (before !== undefined && before !== describeType(c.type)) {
      throw ApplicationFailure.nonRetryable(
        `column ${c.name} of ${dataset} changed type from ${before} to ${describeType(c.type)}; ` +
          `alter ${target.table} by hand or drop it and run a full refresh`,
        ErrorType.sourceSchema,
      );
    }
  }
  const keySet = new Set(primaryKey);
  const missingKey = primaryKey.filter((k) => !columns.some((c) => c.name === k));
  if (missingKey.length) {
    throw ApplicationFailure.nonRetryable(
      `primary key column(s) ${missingKey.join(', ')} not in the source of ${dataset}`,
      ErrorType.sourceSchema,
    );
  }
  const definition = (c: SourceColumn) =>
    `${q(c.name)} ${mysqlTypeFor(c.type, keySet.has(c.name))}${keySet.has(c.name) ? ' NOT NULL' : ' NULL'}`;

  const [exists] = await mysql.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [target.database, target.table],
  );
  let created = false;
  let added: SourceColumn[] = [];
  if (exists.length === 0) {
    await mysql.query(
      `CREATE TABLE IF NOT EXISTS ${qualified(target)} (` +
        [...columns.map(definition), `${q(RUN_COLUMN)} VARCHAR(64) NOT NULL`, `${q(LOADED_AT_COLUMN)} DATETIME(6) NOT NULL`].join(', ') +
        `, PRIMARY KEY (${primaryKey.map(q).join(', ')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
    created = true;
    added = columns;
  } else {
    const present = new Set(exists.map((r) => r.name as string));
    added = columns.filter((c) => !present.has(c.name));
    if (added.length) {
      await mysql.query(`ALTER TABLE ${qualified(target)} ${added.map((c) => `ADD COLUMN ${definition(c)}`).join(', ')}`);
    }
  }
  const unrecorded = columns.filter((c) => !knownTypes.has(c.name));
  if (unrecorded.length) {
    await mysql.query(
      `INSERT IGNORE INTO ${q(catalogDatabase)}.dataset_columns (dataset, name, ordinal, source_type, canonical_type, mysql_type, added_by_run) VALUES ?`,
      [
        unrecorded.map((c) => [
          dataset,
          c.name,
          columns.indexOf(c),
          c.sourceType,
          describeType(c.type),
          mysqlTypeFor(c.type, keySet.has(c.name)),
          syncRunId,
        ]),
      ],
    );
  }
  return { created, addedColumns: added.map((c) => c.name) };
}

/**
 * Upserts a page with LOAD DATA (the server's fastest path): REPLACE makes a re-load of the same
 * page land on the same rows. Runs on the caller's connection, inside its transaction.
 */
export async function loadSilverPage(
  conn: PoolConnection,
  target: SilverTable,
  columns: { name: string; type: ColumnType }[],
  tsv: Buffer,
  syncRunId: string,
): Promise<number> {
  if (tsv.length === 0) return 0;
  const fields: string[] = [];
  const sets: string[] = [`${q(RUN_COLUMN)} = ?`, `${q(LOADED_AT_COLUMN)} = UTC_TIMESTAMP(6)`];
  columns.forEach((c, i) => {
    if (c.type.kind === 'bytes') {
      fields.push(`@v${i}`);
      sets.push(`${q(c.name)} = UNHEX(@v${i})`);
    } else {
      fields.push(q(c.name));
    }
  });
  const [result] = await conn.query({
    sql:
      `LOAD DATA LOCAL INFILE 'page.tsv' REPLACE INTO TABLE ${qualified(target)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${fields.join(', ')}) SET ${sets.join(', ')}`,
    values: [syncRunId],
    infileStreamFactory: () => Readable.from([tsv]),
  });
  const info = result as { affectedRows: number; warningStatus?: number };
  if (info.warningStatus) {
    const [warnings] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
    throw new Error(`silver load of ${target.table} raised warnings: ${warnings.map((w) => w.Message).join('; ')}`);
  }
  return info.affectedRows;
}

/** Full refresh: rows the run did not write are gone from the source. */
export async function deleteRowsNotFromRun(mysql: Pool, target: SilverTable, syncRunId: string): Promise<number> {
  const [result] = await mysql.query(`DELETE FROM ${qualified(target)} WHERE ${q(RUN_COLUMN)} <> ?`, [syncRunId]);
  return (result as { affectedRows: number }).affectedRows;
}

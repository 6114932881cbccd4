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

/** How a page replaces the rows silver already holds. */
export interface SilverUpsert {
  /** Given, a row is replaced only by a version whose cursor is not older: silver never goes back in time. */
  cursor: string | null;
  /** A full refresh marks every row it saw as its own, kept or replaced, so its deletion pass spares them. */
  claimSeenRows: boolean;
}

/**
 * Upserts a page with LOAD DATA (the server's fastest path), inside the caller's transaction.
 * Without a cursor, REPLACE makes a re-load of the same page land on the same rows. With one, the
 * page is loaded into a temporary table first and merged by a guarded upsert, so a slow writer
 * holding an older version of a row cannot overwrite the newer one.
 */
export async function loadSilverPage(
  conn: PoolConnection,
  target: SilverTable,
  columns: { name: string; type: ColumnType }[],
  tsv: Buffer,
  syncRunId: string,
  upsert: SilverUpsert = { cursor: null, claimSeenRows: false },
): Promise<number> {
  if (tsv.length === 0) return 0;
  if (!upsert.cursor) return loadData(conn, target, target, 'REPLACE', columns, tsv, syncRunId);

  const stage: SilverTable = { database: target.database, table: `_spokeflow_stage_${target.table}`.slice(0, 64) };
  // Made afresh for each page: a pooled connection may keep one from before the table evolved.
  await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${qualified(stage)}`);
  await conn.query(`CREATE TEMPORARY TABLE ${qualified(stage)} LIKE ${qualified(target)}`);
  try {
    await loadData(conn, stage, target, 'IGNORE', columns, tsv, syncRunId);
    const stored = (n: string) => `${qualified(target)}.${q(n)}`; // the staged table has the same columns
    const cursor = stored(upsert.cursor);
    // Not older: the stored row has no cursor, or the incoming one is at least as new. The cursor
    // is assigned last, since each assignment sees the ones before it.
    const newer = `(${cursor} IS NULL OR VALUES(${q(upsert.cursor)}) >= ${cursor})`;
    const all = [...columns.map((c) => c.name), RUN_COLUMN, LOADED_AT_COLUMN];
    const sets = [...all.filter((n) => n !== upsert.cursor), upsert.cursor].map((n) =>
      n === RUN_COLUMN && upsert.claimSeenRows
        ? `${stored(n)} = VALUES(${q(n)})`
        : `${stored(n)} = IF(${newer}, VALUES(${q(n)}), ${stored(n)})`,
    );
    const [result] = await conn.query(
      `INSERT INTO ${qualified(target)} (${all.map(q).join(', ')}) SELECT ${all.map((n) => `s.${q(n)}`).join(', ')} FROM ${qualified(stage)} AS s ` +
        `ON DUPLICATE KEY UPDATE ${sets.join(', ')}`,
    );
    await throwOnWarnings(conn, target, result);
    return (result as { affectedRows: number }).affectedRows;
  } finally {
    await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${qualified(stage)}`);
  }
}

async function loadData(
  conn: PoolConnection,
  into: SilverTable,
  target: SilverTable,
  duplicates: 'REPLACE' | 'IGNORE',
  columns: { name: string; type: ColumnType }[],
  tsv: Buffer,
  syncRunId: string,
): Promise<number> {
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
      `LOAD DATA LOCAL INFILE 'page.tsv' ${duplicates} INTO TABLE ${qualified(into)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${fields.join(', ')}) SET ${sets.join(', ')}`,
    values: [syncRunId],
    infileStreamFactory: () => Readable.from([tsv]),
  });
  await throwOnWarnings(conn, target, result);
  return (result as { affectedRows: number }).affectedRows;
}

async function throwOnWarnings(conn: PoolConnection, target: SilverTable, result: unknown): Promise<void> {
  if (!(result as { warningStatus?: number }).warningStatus) return;
  const [warnings] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
  throw new Error(`silver load of ${target.table} raised warnings: ${warnings.map((w) => w.Message).join('; ')}`);
}

/** Full refresh: rows the run did not write are gone from the source. */
export async function deleteRowsNotFromRun(mysql: Pool, target: SilverTable, syncRunId: string): Promise<number> {
  const [result] = await mysql.query(`DELETE FROM ${qualified(target)} WHERE ${q(RUN_COLUMN)} <> ?`, [syncRunId]);
  return (result as { affectedRows: number }).affectedRows;
}

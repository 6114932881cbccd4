import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { ColumnType, SourceColumn } from '../../common/column-types.js';
import { leadingIndex, quoteIdentifier, quoteTable, type CompiledQuery, type SilverTableRef } from '../quality/checks-sql.js';

/** A row of silver as mysql2 hands it over with dateStrings and bigNumberStrings: text, numbers, bytes or null. */
export type SilverValue = string | number | Buffer | null;

export interface SampleRows {
  columns: SourceColumn[];
  rows: SilverValue[][];
}

/** MariaDB's and MySQL's "statement took too long" (max_statement_time, MAX_EXECUTION_TIME). */
export function isStatementTimeout(err: unknown): boolean {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return errno === 1969 || errno === 3024;
}

/**
 * The checks' side of silver: the queries the compiler built, run as they are. An owner's query
 * runs in a read-only transaction on a connection of its own, under a statement timeout, so it
 * can neither write nor hold the server.
 */
export function createSilverChecks(mysql: Pool) {
  return {
    /**
     * A silver table's columns with their canonical type (for the sample's Parquet), its primary
     * key and its indexes; no columns when the table does not exist.
     */
    async describe(t: SilverTableRef): Promise<{ columns: SourceColumn[]; primaryKey: string[]; indexes: string[][] }> {
      const [[rows], [keys], indexes] = await Promise.all([
        mysql.query<RowDataPacket[]>(
          `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS s
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
          [t.database, t.table],
        ),
        mysql.query<RowDataPacket[]>(
          `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
           WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
          [t.database, t.table],
        ),
        indexesOf(mysql, t),
      ]);
      const columns = rows.map((r) => ({
        name: r.name as string,
        type: canonicalOf(
          String(r.dataType),
          String(r.columnType),
          r.p === null ? undefined : Number(r.p),
          r.s === null ? undefined : Number(r.s),
        ),
        sourceType: String(r.columnType),
      }));
      return { columns, primaryKey: keys.map((k) => k.name as string), indexes };
    },

    /** One row of numbers (the combined scan, a check's own count). */
    async one(q: CompiledQuery): Promise<Record<string, number | null>> {
      const [rows] = await mysql.query<RowDataPacket[]>(q.sql, q.params);
      const row = rows[0] ?? {};
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null || v === undefined ? null : Number(v)]));
    },

    /** The rows a query returns, as arrays in column order. */
    async rows(q: CompiledQuery): Promise<{ names: string[]; rows: SilverValue[][] }> {
      const [rows, fields] = await mysql.query({ sql: q.sql, values: q.params, rowsAsArray: true, typeCast: keepJsonText });
      return { names: fields.map((f) => f.name), rows: rows as unknown as SilverValue[][] };
    },

    /**
     * Runs `work` in a read-only transaction whose every statement may take at most `timeoutSeconds`
     * (MariaDB's max_statement_time); the connection is reset before it goes back to the pool.
     */
    async readOnly<T>(timeoutSeconds: number, work: (c: ReadOnlyConnection) => Promise<T>): Promise<T> {
      const conn = await mysql.getConnection();
      let broken = false;
      try {
        await conn.query('SET SESSION max_statement_time = ?', [timeoutSeconds]);
        await conn.query('START TRANSACTION READ ONLY');
        try {
          return await work(readOnlyConnection(conn));
        } finally {
          await conn.query('ROLLBACK');
        }
      } catch (err) {
        broken = !isStatementTimeout(err) && (err as { fatal?: boolean }).fatal === true;
        throw err;
      } finally {
        if (broken) conn.destroy();
        else {
          await conn.query('SET SESSION max_statement_time = DEFAULT').catch(() => conn.destroy());
          conn.release();
        }
      }
    },
  };
}
export type SilverChecks = ReturnType<typeof createSilverChecks>;

/** Each index of a table (PRIMARY included) as its columns in key order. */
async function indexesOf(mysql: Pool, t: SilverTableRef): Promise<string[][]> {
  const [rows] = await mysql.query<RowDataPacket[]>(
    `SELECT INDEX_NAME AS ix, COLUMN_NAME AS name FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [t.database, t.table],
  );
  const byIndex = new Map<string, string[]>();
  for (const r of rows) byIndex.set(r.ix as string, [...(byIndex.get(r.ix as string) ?? []), r.name as string]);
  return [...byIndex.values()];
}

// Whole-value indexes cannot hold these; such a check keeps its table scan.
const UNINDEXABLE = new Set(['tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'json']);

/**
 * Gives each column list a secondary index unless one already leads with it (unique and
 * relationship checks then walk the index, not the table): the price is the index's upkeep on
 * every silver write. A list with a column that cannot be indexed whole, or whose key is too long,
 * is skipped and named; the check still runs, by scan. A table that does not exist is left alone.
 */
export async function ensureCheckIndexes(
  mysql: Pool,
  t: SilverTableRef,
  wanted: string[][],
): Promise<{ created: string[][]; skipped: string[] }> {
  const created: string[][] = [];
  const skipped: string[] = [];
  if (wanted.length === 0) return { created, skipped };
  const [columns] = await mysql.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [t.database, t.table],
  );
  if (columns.length === 0) return { created, skipped };
  const typeOf = new Map(columns.map((c) => [c.name as string, String(c.dataType).toLowerCase()]));
  const indexes = await indexesOf(mysql, t);
  for (const cols of wanted) {
    if (leadingIndex(indexes, cols)) continue;
    const unfit = cols.find((c) => !typeOf.has(c) || UNINDEXABLE.has(typeOf.get(c)!));
    if (unfit) {
      skipped.push(`${cols.join(', ')}: column ${unfit} ${typeOf.has(unfit) ? `is ${typeOf.get(unfit)}` : 'is missing'}`);
      continue;
    }
    const name = `spokeflow_checks_${createHash('sha256').update(cols.join('\u0000')).digest('hex').slice(0, 16)}`;
    try {
      await mysql.query(`ALTER TABLE ${quoteTable(t)} ADD INDEX ${quoteIdentifier(name)} (${cols.map(quoteIdentifier).join(', ')})`);
      created.push(cols);
      indexes.push(cols);
    } catch (err) {
      // 1071: key too long; 1061: an index of that name (a concurrent apply) already exists.
      const errno = (err as { errno?: unknown }).errno;
      if (errno === 1061) continue;
      if (errno !== 1071) throw err;
      skipped.push(`${cols.join(', ')}: ${String((err as Error).message)}`);
    }
  }
  return { created, skipped };
}

export interface ReadOnlyConnection {
  one(q: CompiledQuery): Promise<Record<string, number | null>>;
  rows(q: CompiledQuery): Promise<{ names: string[]; rows: SilverValue[][] }>;
}

function readOnlyConnection(conn: PoolConnection): ReadOnlyConnection {
  return {
    async one(q) {
      const [rows] = await conn.query<RowDataPacket[]>(q.sql, q.params);
      const row = rows[0] ?? {};
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null || v === undefined ? null : Number(v)]));
    },
    async rows(q) {
      const [rows, fields] = await conn.query({ sql: q.sql, values: q.params, rowsAsArray: true, typeCast: keepJsonText });
      return { names: fields.map((f) => f.name), rows: rows as unknown as SilverValue[][] };
    },
  };
}

// MariaDB's JSON is a text BLOB that mysql2 would otherwise hand over as bytes or parse.
const keepJsonText = (field: { type: string; string(encoding?: string): string | null; charset?: number }, next: () => unknown) =>
  field.type === 'JSON' || (field.type === 'BLOB' && field.charset !== 63) ? field.string('utf8') : next();

/** The canonical type of a silver column, as the sample's Parquet schema wants it. */
function canonicalOf(dataType: string, columnType: string, precision?: number, scale?: number): ColumnType {
  switch (dataType) {
    case 'tinyint':
      return columnType.startsWith('tinyint(1)') ? { kind: 'bool' } : { kind: 'int', bits: 16 };
    case 'smallint':
      return { kind: 'int', bits: 16 };
    case 'mediumint':
    case 'int':
      return { kind: 'int', bits: 32 };
    case 'bigint':
      return { kind: 'int', bits: 64 };
    case 'float':
      return { kind: 'float', bits: 32 };
    case 'double':
      return { kind: 'float', bits: 64 };
    case 'decimal':
      return { kind: 'decimal', ...(precision !== undefined ? { precision, scale: scale ?? 0 } : {}) };
    case 'date':
      return { kind: 'date' };
    case 'datetime':
    case 'timestamp':
      return { kind: 'timestamp', utc: true };
    case 'binary':
    case 'varbinary':
    case 'blob':
    case 'tinyblob':
    case 'mediumblob':
    case 'longblob':
      return { kind: 'bytes' };
    default:
      return { kind: 'text' };
  }
}

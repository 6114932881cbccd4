/**
 * The canonical type of a synced column: what both sources map to, and what decides the silver
 * MySQL type and the bronze Parquet type. Values travel as text in the canonical formats below.
 */
export type ColumnType =
  | { kind: 'int'; bits: 16 | 32 | 64 }
  | { kind: 'float'; bits: 32 | 64 }
  | { kind: 'decimal'; precision?: number; scale?: number }
  | { kind: 'bool' } // text '1' / '0'
  | { kind: 'string'; length?: number } // varchar(n) / char(n)
  | { kind: 'text' }
  | { kind: 'date' } // YYYY-MM-DD
  | { kind: 'time' }
  | { kind: 'timestamp'; utc: boolean } // YYYY-MM-DD HH:MM:SS[.ffffff], UTC when utc
  | { kind: 'json' }
  | { kind: 'bytes' } // lower-case hex
  | { kind: 'uuid' };

export interface SourceColumn {
  name: string;
  type: ColumnType;
  /** The source's own name for the type, for people reading the catalog. */
  sourceType: string;
}

export function describeType(t: ColumnType): string {
  switch (t.kind) {
    case 'int':
    case 'float':
      return `${t.kind}${t.bits}`;
    case 'decimal':
      return t.precision === undefined ? 'decimal' : `decimal(${t.precision},${t.scale ?? 0})`;
    case 'string':
      return t.length === undefined ? 'string' : `string(${t.length})`;
    case 'timestamp':
      return t.utc ? 'timestamptz' : 'timestamp';
    default:
      return t.kind;
  }
}

/** Widest MySQL VARCHAR we use before falling back to a TEXT type (keeps rows under 64 KB). */
const MAX_VARCHAR = 2048;
/** Key columns need a bounded length to be indexed (3072 bytes / 4 bytes per utf8mb4 char). */
const MAX_KEY_VARCHAR = 255;

/** The MySQL 8 / MariaDB 10.11 column type of the silver table for a canonical type. */
export function mysqlTypeFor(t: ColumnType, isKey: boolean): string {
  switch (t.kind) {
    case 'int':
      return t.bits === 16 ? 'SMALLINT' : t.bits === 32 ? 'INT' : 'BIGINT';
    case 'float':
      return t.bits === 32 ? 'FLOAT' : 'DOUBLE';
    case 'decimal':
      // An unconstrained numeric keeps up to 35 integer and 30 fractional digits.
      return t.precision === undefined || t.precision > 65 ? 'DECIMAL(65,30)' : `DECIMAL(${t.precision},${Math.min(t.scale ?? 0, 30)})`;
    case 'bool':
      return 'BOOLEAN';
    case 'string':
      if (isKey) return `VARCHAR(${Math.min(t.length ?? MAX_KEY_VARCHAR, MAX_KEY_VARCHAR)})`;
      return t.length !== undefined && t.length <= MAX_VARCHAR ? `VARCHAR(${t.length})` : 'LONGTEXT';
    case 'text':
      return isKey ? `VARCHAR(${MAX_KEY_VARCHAR})` : 'LONGTEXT';
    case 'date':
      return 'DATE';
    case 'time':
      return 'TIME(6)';
    case 'timestamp':
      return 'DATETIME(6)';
    case 'json':
      return 'JSON';
    case 'bytes':
      return isKey ? 'VARBINARY(255)' : 'LONGBLOB';
    case 'uuid':
      return 'CHAR(36)';
  }
}

export function sameType(a: ColumnType, b: ColumnType): boolean {
  return describeType(a) === describeType(b);
}

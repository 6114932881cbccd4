import mysql from 'mysql2/promise';
import type { FieldPacket, TypeCastField, TypeCastNext } from 'mysql2/promise';
import type { ColumnType, SourceColumn } from '../../common/column-types.js';
import { groupIndexColumns, pageSql, type Dialect } from './keyset.js';
import { rowsToText } from '../ingestion/page.js';
import type { Row, SourceConnection } from './index.js';

const BINARY_CHARSET = 63;
const UNSIGNED_FLAG = 32;

// mysql2 column type codes (protocol constants).
const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
} as const;

interface FieldInfo {
  name: string;
  columnType: number;
  columnLength: number;
  decimals: number;
  flags: number;
  characterSet: number;
}

export function mysqlColumnType(f: FieldInfo): { type: ColumnType; sourceType: string } {
  const unsigned = (f.flags & UNSIGNED_FLAG) !== 0;
  const binary = f.characterSet === BINARY_CHARSET;
  switch (f.columnType) {
    case T.TINY:
    case T.SHORT:
      return unsigned && f.columnType === T.SHORT
        ? { type: { kind: 'int', bits: 32 }, sourceType: 'smallint unsigned' }
        : { type: { kind: 'int', bits: 16 }, sourceType: f.columnType === T.TINY ? 'tinyint' : 'smallint' };
    case T.INT24:
      return { type: { kind: 'int', bits: 32 }, sourceType: 'mediumint' };
    case T.YEAR:
      return { type: { kind: 'int', bits: 16 }, sourceType: 'year' };
    case T.LONG:
      return { type: { kind: 'int', bits: unsigned ? 64 : 32 }, sourceType: unsigned ? 'int unsigned' : 'int' };
    case T.LONGLONG:
      return unsigned
        ? { type: { kind: 'decimal', precision: 20, scale: 0 }, sourceType: 'bigint unsigned' }
        : { type: { kind: 'int', bits: 64 }, sourceType: 'bigint' };
    case T.FLOAT:
      return { type: { kind: 'float', bits: 32 }, sourceType: 'float' };
    case T.DOUBLE:
      return { type: { kind: 'float', bits: 64 }, sourceType: 'double' };
    case T.DECIMAL:
    case T.NEWDECIMAL: {
      // columnLength counts digits plus sign and point.
      const scale = f.decimals;
      const precision = Math.max(1, f.columnLength - (scale > 0 ? 1 : 0) - (unsigned ? 0 : 1));
      return { type: { kind: 'decimal', precision, scale }, sourceType: `decimal(${precision},${scale})` };
    }
    case T.DATE:
    case T.NEWDATE:
      return { type: { kind: 'date' }, sourceType: 'date' };
    case T.TIME:
      return { type: { kind: 'time' }, sourceType: 'time' };
    case T.DATETIME:
      return { type: { kind: 'timestamp', utc: false }, sourceType: 'datetime' };
    case T.TIMESTAMP:
      return { type: { kind: 'timestamp', utc: true }, sourceType: 'timestamp' };
    case T.JSON:
      return { type: { kind: 'json' }, sourceType: 'json' };
    case T.BIT:
      return { type: { kind: 'bytes' }, sourceType: 'bit' };
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      return binary ? { type: { kind: 'bytes' }, sourceType: 'blob' } : { type: { kind: 'text' }, sourceType: 'text' };
    case T.VAR_STRING:
    case T.VARCHAR:
    case T.STRING:
    case T.ENUM:
    case T.SET: {
      if (binary) return { type: { kind: 'bytes' }, sourceType: 'varbinary' };
      // Lengths are reported in bytes: utf8mb4 uses up to 4 per character.
      const length = Math.max(1, Math.round(f.columnLength / 4));
      return { type: { kind: 'string', length }, sourceType: `varchar(${length})` };
    }
    default:
      return { type: { kind: 'text' }, sourceType: `type ${f.columnType} as text` };
  }
}

export const mysqlDialect: Dialect = {
  quote: (id) => `\`${id.replaceAll('`', '``')}\``,
  param: () => '?',
  selectExpr(column) {
    const c = mysqlDialect.quote(column.name);
    switch (column.type.kind) {
      case 'bytes':
        return `LOWER(HEX(${c}))`;
      case 'json':
        return `CAST(${c} AS CHAR)`;
      default:
        return c;
    }
  },
  paramFor: (column, placeholder) => (column.type.kind === 'bytes' ? `UNHEX(${placeholder})` : placeholder),
};

// Everything as text, as the server prints it (the session is in UTC).
function textCast(field: TypeCastField, next: TypeCastNext): unknown {
  void next;
  return field.string('utf8');
}

export function openMysql(url: string): SourceConnection {
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, typeCast: textCast, charset: 'utf8mb4' });
  // Sources are read, never written; values print in UTC. (Separate statements: MariaDB
  // does not take both in one SET.)
  pool.pool.on('connection', (conn) => {
    conn.query("SET SESSION time_zone = '+00:00'");
    conn.query('SET SESSION TRANSACTION READ ONLY');
  });
  return {
    dialect: mysqlDialect,
    async describe(relation) {
      const [, fields] = await pool.query({ sql: `SELECT * FROM ${relation} AS src LIMIT 0` });
      return (fields as FieldPacket[]).map((f): SourceColumn => ({
        name: f.name,
        ...mysqlColumnType({
          name: f.name,
          columnType: f.columnType ?? f.type ?? 253,
          columnLength: f.columnLength ?? f.length ?? 0,
          decimals: f.decimals,
          flags: typeof f.flags === 'number' ? f.flags : 0,
          characterSet: f.characterSet ?? 0,
        }),
      }));
    },
    async uniqueIndexes(table) {
      const [schema, name] = table.includes('.') ? table.split('.') : [null, table];
      // Prefix indexes (SUB_PART) do not identify a row by the column's whole value.
      const [rows] = await pool.query({
        sql:
          'SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE FROM information_schema.STATISTICS s ' +
          'JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME ' +
          'WHERE s.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0 ' +
          'AND s.INDEX_NAME NOT IN (SELECT INDEX_NAME FROM information_schema.STATISTICS p WHERE p.TABLE_SCHEMA = s.TABLE_SCHEMA AND p.TABLE_NAME = s.TABLE_NAME AND p.SUB_PART IS NOT NULL) ' +
          'ORDER BY s.INDEX_NAME, s.SEQ_IN_INDEX',
        values: [schema, name],
        rowsAsArray: true,
      });
      return groupIndexColumns(
        (rows as string[][]).map(([index, column, nullable]) => ({
          index: index!,
          primary: index === 'PRIMARY',
          column: column!,
          notNull: nullable === 'NO',
        })),
      );
    },
    async queryRows(sql, values) {
      const [rows] = await pool.query({ sql, values, rowsAsArray: true });
      return rows as Row[];
    },
    async readPageText(relation, query) {
      const { sql, values } = pageSql(mysqlDialect, relation, query);
      const [rows] = await pool.query({ sql, values, rowsAsArray: true });
      return rowsToText(rows as Row[]);
    },
    close: () => pool.end(),
  };
}

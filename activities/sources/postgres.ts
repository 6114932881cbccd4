import pg from 'pg';
import type { ColumnType, SourceColumn } from '../../common/column-types.js';
import { to as copyTo } from 'pg-copy-streams';
import { fromPostgresCopyText } from '../ingestion/page.js';
import { groupIndexColumns, pageSql, quoteQualified, type Dialect } from './keyset.js';
import type { SourceConnection, Row } from './index.js';

// Every value arrives as the server's text: no precision is lost to JS numbers or Dates.
const asText = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Canonical type from a result field's type OID and modifier (typmod). */
export function pgColumnType(oid: number, typmod: number): { type: ColumnType; sourceType: string } {
  switch (oid) {
    case OID.bool:
      return { type: { kind: 'bool' }, sourceType: 'boolean' };
    case OID.bytea:
      return { type: { kind: 'bytes' }, sourceType: 'bytea' };
    case OID.int2:
      return { type: { kind: 'int', bits: 16 }, sourceType: 'smallint' };
    case OID.int4:
      return { type: { kind: 'int', bits: 32 }, sourceType: 'integer' };
    case OID.oid:
    case OID.int8:
      return { type: { kind: 'int', bits: 64 }, sourceType: 'bigint' };
    case OID.float4:
      return { type: { kind: 'float', bits: 32 }, sourceType: 'real' };
    case OID.float8:
      return { type: { kind: 'float', bits: 64 }, sourceType: 'double precision' };
    case OID.numeric: {
      if (typmod < 4) return { type: { kind: 'decimal' }, sourceType: 'numeric' };
      const precision = ((typmod - 4) >> 16) & 0xffff;
      const scale = (typmod - 4) & 0xffff;
      return { type: { kind: 'decimal', precision, scale }, sourceType: `numeric(${precision},${scale})` };
    }
    case OID.bpchar:
    case OID.varchar: {
      const name = oid === OID.bpchar ? 'character' : 'character varying';
      if (typmod < 4) return { type: { kind: 'text' }, sourceType: name };
      return { type: { kind: 'string', length: typmod - 4 }, sourceType: `${name}(${typmod - 4})` };
    }
    case OID.char:
    case OID.name:
    case OID.text:
      return { type: { kind: 'text' }, sourceType: 'text' };
    case OID.json:
      return { type: { kind: 'json' }, sourceType: 'json' };
    case OID.jsonb:
      return { type: { kind: 'json' }, sourceType: 'jsonb' };
    case OID.date:
      return { type: { kind: 'date' }, sourceType: 'date' };
    case OID.time:
      return { type: { kind: 'time' }, sourceType: 'time' };
    case OID.timestamp:
      return { type: { kind: 'timestamp', utc: false }, sourceType: 'timestamp' };
    case OID.timestamptz:
      return { type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' };
    case OID.uuid:
      return { type: { kind: 'uuid' }, sourceType: 'uuid' };
    default:
      // Arrays, enums, intervals, ranges …: kept as Postgres prints them.
      return { type: { kind: 'text' }, sourceType: `oid ${oid} as text` };
  }
}

export const postgresDialect: Dialect = {
  quote: (id) => `"${id.replaceAll('"', '""')}"`,
  param: (n) => `$${n}`,
  selectExpr(column) {
    const c = postgresDialect.quote(column.name);
    switch (column.type.kind) {
      case 'bool':
        return `${c}::int`;
      case 'bytes':
        return `encode(${c}, 'hex')`;
      // The session runs in UTC; dropping the zone gives MySQL-readable text.
      case 'timestamp':
        return column.type.utc ? `(${c} AT TIME ZONE 'UTC')` : c;
      default:
        return c;
    }
  },
  paramFor(column, p) {
    switch (column.type.kind) {
      case 'bytes':
        return `decode(${p}, 'hex')`;
      case 'timestamp':
        return column.type.utc ? `(${p}::timestamp AT TIME ZONE 'UTC')` : `${p}::timestamp`;
      case 'int':
        return `${p}::bigint`;
      case 'decimal':
        return `${p}::numeric`;
      case 'date':
        return `${p}::date`;
      case 'float':
        return `${p}::float8`;
      case 'uuid':
        return `${p}::uuid`;
      case 'time':
        return `${p}::time`;
      case 'bool':
        return `${p}::int::boolean`;
      default:
        return p;
    }
  },
};

export function openPostgres(url: string): SourceConnection {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    // Sources are read, never written: a declared query cannot change anything.
    options: '-c default_transaction_read_only=on -c TimeZone=UTC',
  });
  // An idle connection the server drops (restart, failover) must not take the worker down;
  // the next query opens a fresh one.
  pool.on('error', (err) => console.warn(`postgres source connection dropped: ${err.message}`));
  return {
    dialect: postgresDialect,
    async describe(relation) {
      const result = await pool.query({ text: `SELECT * FROM ${relation} AS src LIMIT 0`, types: asText });
      return result.fields.map((f): SourceColumn => ({ name: f.name, ...pgColumnType(f.dataTypeID, f.dataTypeModifier) }));
    },
    async uniqueIndexes(table) {
      // Partial and expression indexes do not identify every row by its columns.
      const result = await pool.query<Row>({
        text:
          'SELECT i.indexrelid::regclass::text, i.indisprimary, a.attname, a.attnotnull FROM pg_index i ' +
          'CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ' +
          'JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ' +
          'WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL ' +
          'ORDER BY 1, k.ord',
        values: [quoteQualified(postgresDialect, table)],
        rowMode: 'array',
        types: asText,
      });
      return groupIndexColumns(
        result.rows.map(([index, primary, column, notNull]) => ({
          index: index!,
          primary: primary === 't',
          column: column!,
          notNull: notNull === 't',
        })),
      );
    },
    async queryRows(sql, values) {
      const result = await pool.query<Row>({ text: sql, values, rowMode: 'array', types: asText });
      return result.rows;
    },
    /**
     * The page comes from COPY as text, the format silver loads: no row ever becomes JS values.
     * COPY takes no bind parameters, so values are bound to transaction-local settings first.
     */
    async readPageText(relation, query) {
      const { sql, values } = pageSql(postgresDialect, relation, query, (n) => `current_setting('spokeflow.p${n}')`);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        if (values.length) {
          await client.query(`SELECT ${values.map((_, i) => `set_config('spokeflow.p${i + 1}', $${i + 1}, true)`).join(', ')}`, values);
        }
        const chunks: Buffer[] = [];
        for await (const chunk of client.query(copyTo(`COPY (${sql}) TO STDOUT`))) chunks.push(chunk as Buffer);
        await client.query('COMMIT');
        return fromPostgresCopyText(Buffer.concat(chunks));
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet-writer';
import type { ColumnType, SourceColumn } from '../../common/column-types.js';
import type { Row } from '../sources/index.js';

/** A row that silver cannot hold as it is (e.g. `infinity`, NaN, a year before 1000). */
export interface QuarantinedRow {
  row: Record<string, string | null>;
  reason: string;
}

export interface EncodedPage {
  rows: number;
  quarantined: QuarantinedRow[];
  /** Rows in MySQL's LOAD DATA default text format (tab-separated, backslash escapes, \N for NULL). */
  tsv: Buffer;
  parquet: Uint8Array;
  nullCounts: number[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const NOT_FINITE = /^[-+]?(nan|inf)/i;
const MS_PER_DAY = 86_400_000;
/** Only these kinds have values a source holds and silver cannot. */
const CHECKED_KINDS = new Set<ColumnType['kind']>(['timestamp', 'date', 'float', 'decimal']);

/** Why silver would reject this value, or undefined when it is fine. */
export function rejectReason(type: ColumnType, value: string): string | undefined {
  switch (type.kind) {
    case 'timestamp': {
      const m = TIMESTAMP.exec(value);
      return m && Number(m[1]) >= 1000 ? undefined : 'timestamp outside 1000-01-01 … 9999-12-31';
    }
    case 'date': {
      const m = DATE.exec(value);
      return m && Number(m[1]) >= 1000 ? undefined : 'date outside 1000-01-01 … 9999-12-31';
    }
    case 'float':
    case 'decimal':
      return NOT_FINITE.test(value) ? 'not a finite number' : undefined;
    default:
      return undefined;
  }
}

function timestampMicros(value: string): bigint {
  const m = TIMESTAMP.exec(value)!;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const micros = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
  return BigInt(ms) * 1000n + BigInt(micros);
}

function dateDays(value: string): number {
  const m = DATE.exec(value)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / MS_PER_DAY;
}

function hexBytes(value: string): Uint8Array {
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

/** Parquet schema element and value conversion for a canonical type. */
function parquetColumn(column: SourceColumn): { element: SchemaElement; convert: (v: string) => unknown } {
  const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
  const t = column.type;
  switch (t.kind) {
    case 'int':
      return t.bits === 64
        ? { element: { ...base, type: 'INT64' }, convert: (v) => BigInt(v) }
        : { element: { ...base, type: 'INT32' }, convert: Number };
    case 'float':
      return { element: { ...base, type: t.bits === 32 ? 'FLOAT' : 'DOUBLE' }, convert: Number };
    case 'bool':
      return { element: { ...base, type: 'BOOLEAN' }, convert: (v) => v === '1' };
    case 'date':
      return { element: { ...base, type: 'INT32', converted_type: 'DATE' }, convert: dateDays };
    case 'timestamp':
      return {
        element: { ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: t.utc, unit: 'MICROS' } },
        convert: timestampMicros,
      };
    case 'json':
      return { element: { ...base, type: 'BYTE_ARRAY', converted_type: 'JSON' }, convert: (v) => v };
    case 'bytes':
      return { element: { ...base, type: 'BYTE_ARRAY' }, convert: hexBytes };
    default:
      // Decimals stay exact as their text; strings, times and uuids are UTF-8.
      return { element: { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' }, convert: (v) => v };
  }
}

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

function tsvField(value: string | null): string {
  if (value === null) return '\\N';
  return TSV_SPECIAL.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPES[c]!) : value;
}

/**
 * Splits a page into rows silver accepts and rows to quarantine, and encodes the good ones twice:
 * as Parquet for bronze and as LOAD DATA text for silver.
 */
export function encodePage(columns: SourceColumn[], rows: Row[]): EncodedPage {
  const checked = columns.map((c, i) => ({ i, type: c.type })).filter((c) => CHECKED_KINDS.has(c.type.kind));
  const good: Row[] = [];
  const quarantined: QuarantinedRow[] = [];
  for (const row of rows) {
    let reason: string | undefined;
    for (const { i, type } of checked) {
      const value = row[i];
      if (value !== null && value !== undefined) {
        reason = rejectReason(type, value);
        if (reason) {
          reason = `${columns[i]!.name}: ${reason} (${value})`;
          break;
        }
      }
    }
    if (reason) quarantined.push({ row: Object.fromEntries(columns.map((c, i) => [c.name, row[i] ?? null])), reason });
    else good.push(row);
  }

  const nullCounts = columns.map(() => 0);
  const lines: string[] = new Array(good.length);
  for (let r = 0; r < good.length; r++) {
    const row = good[r]!;
    const fields: string[] = new Array(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const value = row[i] ?? null;
      if (value === null) nullCounts[i]!++;
      fields[i] = tsvField(value);
    }
    lines[r] = fields.join('\t');
  }
  const tsv = Buffer.from(lines.length ? lines.join('\n') + '\n' : '', 'utf8');

  const parquetColumns = columns.map(parquetColumn);
  const columnData = parquetColumns.map(({ element, convert }, i) => {
    const data = new Array<unknown>(good.length);
    for (let r = 0; r < good.length; r++) {
      const value = good[r]![i];
      data[r] = value === null || value === undefined ? null : convert(value);
    }
    return { name: element.name, data };
  });
  const parquet = new Uint8Array(
    parquetWriteBuffer({
      columnData: columnData as Parameters<typeof parquetWriteBuffer>[0]['columnData'],
      schema: [{ name: 'root', num_children: columns.length }, ...parquetColumns.map((c) => c.element)],
      statistics: false,
      rowGroupSize: 100_000,
    }),
  );
  return { rows: good.length, quarantined, tsv, parquet, nullCounts };
}

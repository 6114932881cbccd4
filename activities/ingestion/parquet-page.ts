import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet-writer';
import type { SourceColumn } from '../../common/column-types.js';

const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;
const ZERO = 48;
const MS_PER_DAY = 86_400_000;

/** The Parquet schema element of a canonical column type. */
export function parquetElement(column: SourceColumn): SchemaElement {
  const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
  const t = column.type;
  switch (t.kind) {
    case 'int':
      return { ...base, type: t.bits === 64 ? 'INT64' : 'INT32' };
    case 'float':
      return { ...base, type: t.bits === 32 ? 'FLOAT' : 'DOUBLE' };
    case 'bool':
      return { ...base, type: 'BOOLEAN' };
    case 'date':
      return { ...base, type: 'INT32', converted_type: 'DATE' };
    case 'timestamp':
      return { ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: t.utc, unit: 'MICROS' } };
    case 'json':
      // Logical type only: the writer would JSON-encode the (already JSON) text a second time
      // under the JSON converted type.
      return { ...base, type: 'BYTE_ARRAY', logical_type: { type: 'JSON' } };
    case 'bytes':
      return { ...base, type: 'BYTE_ARRAY' };
    default:
      // Decimals stay exact as their text; strings, times and uuids are UTF-8.
      return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  }
}

const latin1 = (bytes: Uint8Array, start: number, end: number): string => Buffer.prototype.latin1Slice.call(bytes, start, end) as string;

/** Digits of bytes[start, end) as a number (ASCII, optional leading '-'). */
function digits(bytes: Uint8Array, start: number, end: number): number {
  let negative = false;
  if (bytes[start] === 45) {
    negative = true;
    start++;
  }
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (bytes[i]! - ZERO);
  return negative ? -n : n;
}

/** `\t`, `\n`, `\\` … of page text back to the bytes they stand for. */
function unescape(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    let b = bytes[i]!;
    if (b === BACKSLASH && i + 1 < end) {
      const c = bytes[++i]!;
      b = c === 116 ? TAB : c === 110 ? NEWLINE : c === 114 ? 13 : c === ZERO ? 0 : c === 98 ? 8 : c === 102 ? 12 : c === 118 ? 11 : c;
    }
    out[o++] = b;
  }
  return out.subarray(0, o);
}

/** Decodes one column's field from the page text without making a JS string where it can. */
type FieldReader = (bytes: Uint8Array, start: number, end: number, escaped: boolean) => unknown;

function fieldReader(column: SourceColumn): FieldReader {
  const t = column.type;
  switch (t.kind) {
    case 'int':
      if (t.bits !== 64) return (b, s, e) => digits(b, s, e);
      // Up to 15 digits are exact as a double; longer ones go through a string.
      return (b, s, e) => (e - s <= 15 ? BigInt(digits(b, s, e)) : BigInt(latin1(b, s, e)));
    case 'float':
      return (b, s, e) => Number(latin1(b, s, e));
    case 'bool':
      return (b, s) => b[s] === 49;
    case 'date': {
      let lastKey = -1;
      let lastDays = 0;
      return (b, s) => {
        const y = digits(b, s, s + 4);
        const m = digits(b, s + 5, s + 7);
        const d = digits(b, s + 8, s + 10);
        const key = (y * 100 + m) * 100 + d;
        if (key !== lastKey) {
          lastKey = key;
          lastDays = Date.UTC(y, m - 1, d) / MS_PER_DAY;
        }
        return lastDays;
      };
    }
    case 'timestamp': {
      // Rows of a page mostly share a day: its epoch is computed once per distinct date.
      let lastKey = -1;
      let lastDayMs = 0;
      return (b, s, e) => {
        const y = digits(b, s, s + 4);
        const m = digits(b, s + 5, s + 7);
        const d = digits(b, s + 8, s + 10);
        const key = (y * 100 + m) * 100 + d;
        if (key !== lastKey) {
          lastKey = key;
          lastDayMs = Date.UTC(y, m - 1, d);
        }
        const seconds = digits(b, s + 11, s + 13) * 3600 + digits(b, s + 14, s + 16) * 60 + digits(b, s + 17, s + 19);
        let micros = 0;
        if (e > s + 20) {
          const fraction = Math.min(e, s + 26);
          micros = digits(b, s + 20, fraction) * 10 ** (6 - (fraction - s - 20));
        }
        // Exact as a double until the year 2255.
        return (lastDayMs + seconds * 1000) * 1000 + micros;
      };
    }
    case 'bytes':
      return (b, s, e) => Uint8Array.from(Buffer.from(latin1(b, s, e), 'hex'));
    default:
      return (b, s, e, escaped) => (escaped ? unescape(b, s, e) : b.subarray(s, e));
  }
}

/**
 * The bronze Parquet file of a page, read straight from its LOAD DATA text: fields are sliced
 * from the bytes, so UTF-8 text is never decoded to strings and encoded back.
 */
export function encodeParquetFromText(columns: SourceColumn[], text: Uint8Array): Uint8Array {
  const readers = columns.map(fieldReader);
  const data: unknown[][] = columns.map(() => []);
  const n = columns.length;
  let pos = 0;
  while (pos < text.length) {
    for (let c = 0; c < n; c++) {
      const start = pos;
      let escaped = false;
      let b = text[pos];
      while (b !== TAB && b !== NEWLINE && pos < text.length) {
        if (b === BACKSLASH) {
          escaped = true;
          pos++; // the escaped byte is never a separator
        }
        b = text[++pos];
      }
      const end = pos;
      const isLast = c === n - 1;
      if ((b === NEWLINE) !== isLast && pos < text.length) throw new Error(`page text has a row whose field count is not ${n}`);
      pos++;
      const isNull = end - start === 2 && text[start] === BACKSLASH && text[start + 1] === 78;
      data[c]!.push(isNull ? null : readers[c]!(text, start, end, escaped));
    }
  }
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: columns.map((c, i) => ({ name: c.name, data: data[i]! })) as Parameters<typeof parquetWriteBuffer>[0]['columnData'],
      schema: [{ name: 'root', num_children: n }, ...columns.map(parquetElement)],
      statistics: false,
      rowGroupSize: 100_000,
    }),
  );
}

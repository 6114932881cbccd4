import type { ColumnType, SourceColumn } from '../../common/column-types.js';
import type { KeysetPosition } from '../../common/sync.js';
import { tsvField } from '../catalog/load-data.js';
import type { Row } from '../sources/index.js';

/**
 * Pages travel as text in MySQL's LOAD DATA default format: one row per line, fields separated
 * by tabs, `\N` for NULL, and backslash escapes (`\\`, `\t`, `\n`, `\r`, `\0`, `\b`). Postgres
 * writes nearly this format itself (COPY), so rows from it are never turned into JS values.
 */
const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;

/** A row that silver cannot hold as it is (e.g. `infinity`, NaN, a year before 1000). */
export interface QuarantinedRow {
  row: Record<string, string | null>;
  reason: string;
}

/** A page checked for silver: the text of the rows it accepts, and what goes to quarantine. */
export interface SilverPage {
  text: Buffer;
  rows: number;
  quarantined: QuarantinedRow[];
  nullCounts: number[];
  /** Keyset positions of the page's first and last source rows (quarantined or not). */
  first: KeysetPosition;
  last: KeysetPosition;
}

/** Rows as page text (for sources that hand over values rather than text). */
export function rowsToText(rows: Row[]): Buffer {
  let text = '';
  for (const row of rows) {
    const last = row.length - 1;
    for (let i = 0; i <= last; i++) {
      text += tsvField(row[i] ?? null);
      text += i === last ? '\n' : '\t';
    }
  }
  return Buffer.from(text, 'utf8');
}

const UNESCAPED: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f', v: '\v' };

/** One field of page text back to its value. */
export function decodeField(text: Buffer, start: number, end: number): string | null {
  if (end - start === 2 && text[start] === BACKSLASH && text[start + 1] === 78) return null;
  const raw = text.toString('utf8', start, end);
  return raw.includes('\\') ? raw.replace(/\\(.)/g, (_, c: string) => UNESCAPED[c] ?? c) : raw;
}

/** Positions of a row's fields: [start0, end0, start1, end1, …]; returns the offset after the row. */
function scanRow(text: Buffer, pos: number, bounds: Int32Array, columns: number): number {
  for (let c = 0; c < columns; c++) {
    bounds[2 * c] = pos;
    let b = text[pos];
    while (b !== TAB && b !== NEWLINE && pos < text.length) {
      if (b === BACKSLASH) pos++; // an escaped byte is never a separator
      b = text[++pos];
    }
    bounds[2 * c + 1] = pos;
    if ((b === NEWLINE) !== (c === columns - 1)) throw new Error(`page text has a row whose field count is not ${columns}`);
    pos++;
  }
  return pos;
}

const isDigit = (b: number | undefined) => b !== undefined && b >= 48 && b <= 57;

function validDate(t: Buffer, s: number): boolean {
  return (
    isDigit(t[s]) &&
    t[s]! >= 49 &&
    isDigit(t[s + 1]) &&
    isDigit(t[s + 2]) &&
    isDigit(t[s + 3]) &&
    t[s + 4] === 45 &&
    isDigit(t[s + 5]) &&
    isDigit(t[s + 6]) &&
    t[s + 7] === 45 &&
    isDigit(t[s + 8]) &&
    isDigit(t[s + 9])
  );
}

/** Why silver would reject a field (checked on the bytes), or undefined when it is fine. */
function rejectReason(type: ColumnType, t: Buffer, s: number, e: number): string | undefined {
  switch (type.kind) {
    case 'date':
      return e - s === 10 && validDate(t, s) ? undefined : 'date outside 1000-01-01 … 9999-12-31';
    case 'timestamp': {
      const ok =
        e - s >= 19 &&
        e - s <= 26 &&
        validDate(t, s) &&
        (t[s + 10] === 32 || t[s + 10] === 84) &&
        isDigit(t[s + 11]) &&
        isDigit(t[s + 12]) &&
        t[s + 13] === 58 &&
        isDigit(t[s + 14]) &&
        isDigit(t[s + 15]) &&
        t[s + 16] === 58 &&
        isDigit(t[s + 17]) &&
        isDigit(t[s + 18]) &&
        (e - s === 19 || (t[s + 19] === 46 && isDigit(t[e - 1])));
      return ok ? undefined : 'timestamp outside 1000-01-01 … 9999-12-31';
    }
    case 'float':
    case 'decimal': {
      const c = t[s] === 45 || t[s] === 43 ? t[s + 1] : t[s];
      // NaN, Infinity, inf: letters where a number starts.
      return c === 78 || c === 110 || c === 73 || c === 105 ? 'not a finite number' : undefined;
    }
    default:
      return undefined;
  }
}

/** Only these kinds have values a source holds and silver cannot. */
const CHECKED_KINDS = new Set<ColumnType['kind']>(['timestamp', 'date', 'float', 'decimal']);

/**
 * Checks a page of text for silver in one pass over its bytes: counts NULLs per column, moves
 * rows silver would refuse to quarantine (with the reason), and reads the keyset positions of
 * its first and last rows.
 */
export function inspectPage(columns: SourceColumn[], text: Buffer, keyset: number[]): SilverPage {
  const n = columns.length;
  const checked = columns.map((c, i) => (CHECKED_KINDS.has(c.type.kind) ? i : -1)).filter((i) => i >= 0);
  const bounds = new Int32Array(2 * n);
  const nullCounts = new Array<number>(n).fill(0);
  const quarantined: QuarantinedRow[] = [];
  const goodRanges: [number, number][] = [];
  let rows = 0;
  let first: KeysetPosition = [];
  let last: KeysetPosition = [];
  let goodStart = 0;
  const position = () => keyset.map((i) => decodeField(text, bounds[2 * i]!, bounds[2 * i + 1]!));

  let pos = 0;
  while (pos < text.length) {
    const rowStart = pos;
    pos = scanRow(text, pos, bounds, n);
    if (rowStart === 0) first = position();
    let reason: string | undefined;
    for (const i of checked) {
      const s = bounds[2 * i]!;
      const e = bounds[2 * i + 1]!;
      if (e - s === 2 && text[s] === BACKSLASH && text[s + 1] === 78) continue;
      const why = rejectReason(columns[i]!.type, text, s, e);
      if (why) {
        reason = `${columns[i]!.name}: ${why} (${decodeField(text, s, e)})`;
        break;
      }
    }
    if (reason) {
      const row: Record<string, string | null> = {};
      columns.forEach((c, i) => (row[c.name] = decodeField(text, bounds[2 * i]!, bounds[2 * i + 1]!)));
      quarantined.push({ row, reason });
      if (rowStart > goodStart) goodRanges.push([goodStart, rowStart]);
      goodStart = pos;
    } else {
      rows++;
      for (let i = 0; i < n; i++) {
        const s = bounds[2 * i]!;
        if (bounds[2 * i + 1]! - s === 2 && text[s] === BACKSLASH && text[s + 1] === 78) nullCounts[i]!++;
      }
    }
    if (pos >= text.length) last = position();
  }
  let good = text;
  if (quarantined.length > 0) {
    if (goodStart < text.length) goodRanges.push([goodStart, text.length]);
    good = Buffer.concat(goodRanges.map(([s, e]) => text.subarray(s, e)));
  }
  return { text: good, rows, quarantined, nullCounts, first, last };
}

/**
 * Postgres COPY text to LOAD DATA text: the two agree but for `\f` and `\v`, which MySQL does not
 * know; those become the raw bytes they stand for.
 */
export function fromPostgresCopyText(text: Buffer): Buffer {
  if (text.indexOf(BACKSLASH) === -1) return text;
  let out: Buffer | undefined;
  let o = 0;
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== BACKSLASH) continue;
    const c = text[i + 1];
    if (c === 102 || c === 118) {
      out ??= Buffer.allocUnsafe(text.length);
      o += text.copy(out, o, copied, i);
      out[o++] = c === 102 ? 12 : 11;
      copied = i + 2;
    }
    i++; // skip the escaped byte
  }
  if (!out) return text;
  o += text.copy(out, o, copied, text.length);
  return out.subarray(0, o);
}

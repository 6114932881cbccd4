import type { SourceColumn } from '../../common/column-types.js';
import type { KeysetPosition } from '../../common/sync.js';

/** How a SQL dialect quotes names, writes parameters and normalises values to canonical text. */
export interface Dialect {
  quote(identifier: string): string;
  /** Placeholder for the n-th (1-based) bound value. */
  param(n: number): string;
  /** Expression that yields the column's canonical text (see ColumnType). */
  selectExpr(column: SourceColumn): string;
  /** A value compared against the column, given the placeholder of its canonical text. */
  paramFor(column: SourceColumn, placeholder: string): string;
}

export interface PageQuery {
  columns: SourceColumn[];
  /** Columns that order and resume the copy: [cursor?, ...primaryKey]. */
  keyset: string[];
  cursor?: string;
  after: KeysetPosition | null;
  cursorLowerBound: string | null; // inclusive
  cursorUpperBound: string | null;
  upperInclusive: boolean;
  /** Given, the page ends at this keyset position (inclusive): the end of a key range. */
  through?: KeysetPosition | null;
  limit: number;
}

export function quoteQualified(dialect: Dialect, name: string): string {
  return name
    .split('.')
    .map((part) => dialect.quote(part))
    .join('.');
}

/** The relation rows are read from: a quoted table, or the declared query as a derived table. */
export function relationSql(dialect: Dialect, source: { table?: string; query?: string }): string {
  if (source.table !== undefined) return quoteQualified(dialect, source.table);
  return `(${source.query!.trim()})`;
}

/**
 * Keyset pagination: `WHERE (cursor, pk) > (…) ORDER BY cursor, pk LIMIT n`. Names are quoted by
 * the dialect and every value is a bound parameter.
 */
export function pageSql(
  dialect: Dialect,
  relation: string,
  q: PageQuery,
  placeholder: (n: number) => string = dialect.param,
): { sql: string; values: string[] } {
  const byName = new Map(q.columns.map((c) => [c.name, c]));
  const { where, values, bind } = cursorFilter(dialect, q, placeholder);
  const keyColumns = q.keyset.map((name) => byName.get(name)!);
  const keyCompare = (op: string, position: KeysetPosition) => {
    const left = keyColumns.map((c) => dialect.quote(c.name)).join(', ');
    const right = keyColumns.map((c, i) => bind(c, position[i] ?? null)).join(', ');
    return `(${left}) ${op} (${right})`;
  };
  if (q.after !== null) where.push(keyCompare('>', q.after));
  if (q.through) where.push(keyCompare('<=', q.through));
  const select = q.columns.map((c) => `${dialect.selectExpr(c)} AS ${dialect.quote(c.name)}`).join(', ');
  // Qualified, so that it orders by the source column (and its index), not by the output alias.
  const order = q.keyset.map((name) => `src.${dialect.quote(name)}`).join(', ');
  const sql =
    `SELECT ${select} FROM ${relation} AS src` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${order} LIMIT ${Math.trunc(q.limit)}`;
  return { sql, values };
}

/** The run's bounds on the cursor as WHERE terms, with a binder that appends further values. */
function cursorFilter(
  dialect: Dialect,
  q: Pick<PageQuery, 'columns' | 'cursor' | 'cursorLowerBound' | 'cursorUpperBound' | 'upperInclusive'>,
  placeholder: (n: number) => string,
) {
  const values: string[] = [];
  const bind = (column: SourceColumn, value: string | null): string => {
    if (value === null) return 'NULL';
    values.push(value);
    return dialect.paramFor(column, placeholder(values.length));
  };
  const where: string[] = [];
  const cursor = q.cursor === undefined ? undefined : q.columns.find((c) => c.name === q.cursor);
  if (cursor && q.cursorLowerBound !== null) {
    where.push(`${dialect.quote(cursor.name)} >= ${bind(cursor, q.cursorLowerBound)}`);
  }
  if (cursor && q.cursorUpperBound !== null) {
    where.push(`${dialect.quote(cursor.name)} ${q.upperInclusive ? '<=' : '<'} ${bind(cursor, q.cursorUpperBound)}`);
  }
  return { where, values, bind };
}

/**
 * Where to cut the key space into ranges of `every` rows: the primary key of every `every`-th row
 * (ROW_NUMBER over the key, within the run's cursor bounds), as canonical text in key order.
 */
export function keyCutsSql(
  dialect: Dialect,
  relation: string,
  q: Omit<PageQuery, 'keyset' | 'after' | 'through' | 'limit'> & { primaryKey: string[]; every: number },
): { sql: string; values: string[] } {
  const { where, values } = cursorFilter(dialect, q, dialect.param);
  const keyColumns = q.primaryKey.map((name) => q.columns.find((c) => c.name === name)!);
  const keys = keyColumns.map((c, i) => `${dialect.selectExpr(c)} AS ${dialect.quote(`k${i}`)}`).join(', ');
  const order = keyColumns.map((c) => `src.${dialect.quote(c.name)}`).join(', ');
  const rn = dialect.quote('spokeflow_rn');
  const total = dialect.quote('spokeflow_rows');
  // No cut at the last row: the range after it would be empty.
  const sql =
    `SELECT ${keyColumns.map((_, i) => dialect.quote(`k${i}`)).join(', ')} FROM ` +
    `(SELECT ${keys}, ROW_NUMBER() OVER (ORDER BY ${order}) AS ${rn}, COUNT(*) OVER () AS ${total} FROM ${relation} AS src` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    `) AS numbered WHERE MOD(${rn}, ${Math.trunc(q.every)}) = 0 AND ${rn} < ${total} ORDER BY ${rn}`;
  return { sql, values };
}

/** Count, top of the cursor and rows without a cursor, within the run's bounds. */
export function boundsSql(
  dialect: Dialect,
  relation: string,
  columns: SourceColumn[],
  cursorName: string | undefined,
  lower: { value: string; inclusive: boolean } | null,
  upper: { value: string; inclusive: boolean } | null,
): { sql: string; values: string[] } {
  const values: string[] = [];
  if (cursorName === undefined) return { sql: `SELECT COUNT(*) AS n, NULL AS top, 0 AS nulls FROM ${relation} AS src`, values };
  const cursor = columns.find((c) => c.name === cursorName)!;
  const c = dialect.quote(cursor.name);
  const where: string[] = [];
  if (lower) {
    values.push(lower.value);
    where.push(`${c} ${lower.inclusive ? '>=' : '>'} ${dialect.paramFor(cursor, dialect.param(values.length))}`);
  }
  if (upper) {
    values.push(upper.value);
    where.push(`${c} ${upper.inclusive ? '<=' : '<'} ${dialect.paramFor(cursor, dialect.param(values.length))}`);
  }
  const sql =
    `SELECT COUNT(${c}) AS n, MAX(${dialect.selectExpr(cursor)}) AS top, ` +
    `SUM(CASE WHEN ${c} IS NULL THEN 1 ELSE 0 END) AS nulls FROM ${relation} AS src` +
    (where.length ? ` WHERE ${where.join(' AND ')} OR ${c} IS NULL` : '');
  return { sql, values };
}

/** A unique index of a source table, as the source's catalog describes it. */
export interface UniqueIndex {
  name: string;
  primary: boolean;
  columns: { name: string; notNull: boolean }[];
}

/**
 * The columns that identify a row: the primary key, else the narrowest unique index whose columns
 * are all NOT NULL (a NULL would let two rows share a key); undefined when there is neither.
 */
export function chooseRowKey(indexes: UniqueIndex[]): string[] | undefined {
  const primary = indexes.find((i) => i.primary);
  if (primary) return primary.columns.map((c) => c.name);
  const usable = indexes.filter((i) => i.columns.length > 0 && i.columns.every((c) => c.notNull));
  usable.sort((a, b) => a.columns.length - b.columns.length || a.name.localeCompare(b.name));
  return usable[0]?.columns.map((c) => c.name);
}

/** Rows of (index, primary?, column, not null?) in index column order, grouped into indexes. */
export function groupIndexColumns(rows: { index: string; primary: boolean; column: string; notNull: boolean }[]): UniqueIndex[] {
  const byName = new Map<string, UniqueIndex>();
  for (const r of rows) {
    let index = byName.get(r.index);
    if (!index) byName.set(r.index, (index = { name: r.index, primary: r.primary, columns: [] }));
    index.columns.push({ name: r.column, notNull: r.notNull });
  }
  return [...byName.values()];
}

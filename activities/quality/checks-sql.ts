import { maxAgeSeconds, type CheckDeclaration, type CheckOf } from '../../common/checks.js';
import { SqlIdentifier } from '../../common/identifiers.js';

/**
 * Checks as set-based MySQL / MariaDB over a silver table. Row-level rules of one table share ONE
 * scan (`COUNT(CASE WHEN <fails> THEN 1 END)` per check, plus the row count and newest cursor
 * values); rules that need a group or another table (unique, relationship, an owner's sql) get a
 * query each, which the activity runs beside the scan. Where an index leads with a unique or
 * relationship check's columns, that query walks the index instead of the table. Identifiers are
 * validated again here and quoted; values are parameters. Pure: the activities (checks.ts) run
 * what this builds.
 */

export interface SilverTableRef {
  database: string;
  table: string;
}

export interface CheckTarget {
  table: SilverTableRef;
  primaryKey: string[];
  /** The dataset's cursor: what a freshness check without a column measures. */
  cursor?: string;
  /** Silver tables of the datasets relationship checks point at, by dataset name. */
  related: Record<string, SilverTableRef>;
  /** The table's indexes (primary key included), each as its columns in key order. */
  indexes?: string[][];
}

export interface CompiledQuery {
  sql: string;
  params: unknown[];
}

/** One output column of the combined scan: a check's failing rows, or the age of its newest value. */
export interface ScanMeasure {
  checkId: string;
  alias: string;
  measure: 'failing' | 'age_seconds' | 'distinct_keys' | 'keyed_rows';
}

export interface ChecksPlan {
  /** The combined scan: `rows` plus one column per measure. */
  scan: CompiledQuery & { measures: ScanMeasure[] };
  /**
   * Checks that need a query of their own, each returning one row with `failing`. A unique
   * check's runs only when the scan's distinct count says some key repeats (`unlessDistinct`); a
   * relationship's only when its `precheck` (one row with `orphans`, distinct values without a
   * parent) finds any, so a passing check costs the cheap query and a failing one its exact count.
   */
  separate: (CompiledQuery & { checkId: string; unlessDistinct?: boolean; precheck?: CompiledQuery })[];
  /** The failing rows of each row-level check (at most SAMPLE_ROWS, primary key first). */
  samples: Record<string, CompiledQuery>;
  /** Checks evaluated from table metadata (schema) or from the scan's row count alone. */
  tableLevel: string[];
}

export const SAMPLE_ROWS = 100;
export const ROWS_ALIAS = 'rows';

/** A validated identifier, backtick-quoted. Refuses anything else even though zod already did. */
export function quoteIdentifier(name: string): string {
  if (!SqlIdentifier.safeParse(name).success) throw new Error(`refusing SQL identifier ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,63}$/;

export function quoteTable(t: SilverTableRef, alias?: string): string {
  if (!DATABASE_NAME.test(t.database)) throw new Error(`refusing database name ${JSON.stringify(t.database)}`);
  return `\`${t.database}\`.${quoteIdentifier(t.table)}${alias ? ` AS ${alias}` : ''}`;
}

type RowCheck = CheckOf<'not_null'> | CheckOf<'accepted_values'> | CheckOf<'range'> | CheckOf<'regex'>;

/** The condition a row fails a row-level check on, with its parameters. */
export function failingPredicate(check: RowCheck, alias = ''): CompiledQuery {
  const c = `${alias ? `${alias}.` : ''}${quoteIdentifier(check.column)}`;
  switch (check.kind) {
    case 'not_null':
      return { sql: `${c} IS NULL`, params: [] };
    case 'accepted_values':
      return { sql: `${c} IS NOT NULL AND ${c} NOT IN (${check.values.map(() => '?').join(', ')})`, params: [...check.values] };
    case 'range': {
      const parts: string[] = [];
      const params: unknown[] = [];
      if (check.min !== undefined) {
        parts.push(`${c} ${check.min_inclusive ? '<' : '<='} ?`);
        params.push(check.min);
      }
      if (check.max !== undefined) {
        parts.push(`${c} ${check.max_inclusive ? '>' : '>='} ?`);
        params.push(check.max);
      }
      return { sql: `${c} IS NOT NULL AND (${parts.join(' OR ')})`, params };
    }
    case 'regex':
      return { sql: `${c} IS NOT NULL AND NOT (${c} REGEXP ?)`, params: [check.pattern] };
  }
}

const isRowCheck = (c: CheckDeclaration): c is RowCheck =>
  c.kind === 'not_null' || c.kind === 'accepted_values' || c.kind === 'range' || c.kind === 'regex';

function orderBy(primaryKey: string[], alias = ''): string {
  return primaryKey.length ? ` ORDER BY ${primaryKey.map((k) => `${alias ? `${alias}.` : ''}${quoteIdentifier(k)}`).join(', ')}` : '';
}

/** An owner's query with `{{table}}` standing for the silver table. */
function ownerQuery(check: CheckOf<'sql'>, target: CheckTarget): string {
  return check.query.replaceAll('{{table}}', quoteTable(target.table));
}

/** Builds every query a dataset's checks need. */
export function compileChecks(checks: CheckDeclaration[], target: CheckTarget): ChecksPlan {
  const table = quoteTable(target.table);
  const columns = [`COUNT(*) AS \`${ROWS_ALIAS}\``];
  const scanParams: unknown[] = [];
  const measures: ScanMeasure[] = [];
  const separate: ChecksPlan['separate'] = [];
  const samples: ChecksPlan['samples'] = {};
  const tableLevel: string[] = [];

  checks.forEach((check, i) => {
    const alias = `m${i}`;
    if (isRowCheck(check)) {
      const p = failingPredicate(check);
      // COUNT keeps an integer; SUM would add up DECIMALs, row by row.
      columns.push(`COUNT(CASE WHEN ${p.sql} THEN 1 END) AS \`${alias}\``);
      scanParams.push(...p.params);
      measures.push({ checkId: check.id, alias, measure: 'failing' });
      samples[check.id] = {
        sql: `SELECT * FROM ${table} WHERE ${p.sql}${orderBy(target.primaryKey)} LIMIT ${SAMPLE_ROWS}`,
        params: p.params,
      };
      return;
    }
    switch (check.kind) {
      case 'freshness': {
        const column = check.column ?? target.cursor;
        if (!column) throw new Error(`check ${check.id}: the dataset has no cursor; name the column to measure`);
        // Silver keeps timestamps in UTC; an empty table has no age (NULL) and fails.
        columns.push(`TIMESTAMPDIFF(SECOND, MAX(${quoteIdentifier(column)}), UTC_TIMESTAMP()) AS \`${alias}\``);
        measures.push({ checkId: check.id, alias, measure: 'age_seconds' });
        return;
      }
      case 'row_count':
      case 'schema':
        tableLevel.push(check.id);
        return;
      case 'unique': {
        const keys = check.columns.map(quoteIdentifier);
        const notNull = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');
        const groups = `SELECT ${keys.join(', ')} FROM ${table} WHERE ${notNull} GROUP BY ${keys.join(', ')} HAVING COUNT(*) > 1`;
        // Over an index the GROUP BY streams in key order; without one it builds a temporary table,
        // and COUNT(DISTINCT) in the shared scan (MariaDB's in-memory Unique tree) is many times
        // cheaper: when it equals the keyed rows no key repeats.
        const indexed = leadingIndex(target.indexes, check.columns);
        if (!indexed) {
          columns.push(`COUNT(DISTINCT ${keys.join(', ')}) AS \`${alias}d\``, `COUNT(CASE WHEN ${notNull} THEN 1 END) AS \`${alias}k\``);
          measures.push(
            { checkId: check.id, alias: `${alias}d`, measure: 'distinct_keys' },
            { checkId: check.id, alias: `${alias}k`, measure: 'keyed_rows' },
          );
        }
        separate.push({
          checkId: check.id,
          sql: `SELECT COALESCE(SUM(n), 0) AS failing FROM (SELECT COUNT(*) AS n FROM ${table} WHERE ${notNull} GROUP BY ${keys.join(', ')} HAVING COUNT(*) > 1) AS duplicated`,
          params: [],
          ...(indexed ? {} : { unlessDistinct: true }),
        });
        samples[check.id] = {
          sql: `SELECT c.* FROM ${quoteTable(target.table, 'c')} JOIN (${groups}) AS d ON ${keys.map((k) => `c.${k} = d.${k}`).join(' AND ')}${orderBy([...check.columns, ...target.primaryKey.filter((k) => !check.columns.includes(k))], 'c')} LIMIT ${SAMPLE_ROWS}`,
          params: [],
        };
        return;
      }
      case 'relationship': {
        const other = target.related[check.to.dataset];
        if (!other) throw new Error(`check ${check.id}: dataset ${check.to.dataset} is not in the catalog`);
        const where = `c.${quoteIdentifier(check.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${quoteTable(other, 'p')} WHERE p.${quoteIdentifier(check.to.column)} = c.${quoteIdentifier(check.column)})`;
        const column = quoteIdentifier(check.column);
        // With an index on the column its distinct values come from a loose index scan (a seek per
        // value, not a probe per row); NOT IN over a materialized set of the parent's non-null keys.
        const precheck = leadingIndex(target.indexes, [check.column])
          ? {
              sql: `SELECT COUNT(*) AS orphans FROM (SELECT DISTINCT ${column} FROM ${table} WHERE ${column} IS NOT NULL) AS v WHERE v.${column} NOT IN (SELECT p.${quoteIdentifier(check.to.column)} FROM ${quoteTable(other, 'p')} WHERE p.${quoteIdentifier(check.to.column)} IS NOT NULL)`,
              params: [],
            }
          : undefined;
        separate.push({
          checkId: check.id,
          sql: `SELECT COUNT(*) AS failing FROM ${quoteTable(target.table, 'c')} WHERE ${where}`,
          params: [],
          ...(precheck ? { precheck } : {}),
        });
        samples[check.id] = {
          sql: `SELECT c.* FROM ${quoteTable(target.table, 'c')} WHERE ${where}${orderBy(target.primaryKey, 'c')} LIMIT ${SAMPLE_ROWS}`,
          params: [],
        };
        return;
      }
      case 'sql': {
        const q = ownerQuery(check, target);
        separate.push({ checkId: check.id, sql: `SELECT COUNT(*) AS failing FROM (${q}) AS failing_rows`, params: [] });
        samples[check.id] = { sql: `SELECT * FROM (${q}) AS failing_rows LIMIT ${SAMPLE_ROWS}`, params: [] };
        return;
      }
    }
  });

  return { scan: { sql: `SELECT ${columns.join(', ')} FROM ${table}`, params: scanParams, measures }, separate, samples, tableLevel };
}

/** Whether one of the indexes starts with these columns in this order, so a GROUP BY or DISTINCT over them can walk it. */
export function leadingIndex(indexes: string[][] | undefined, columns: string[]): boolean {
  return (indexes ?? []).some((ix) => columns.every((c, i) => ix[i] === c));
}

/** The column lists that unique and relationship checks want an index on (the apply path keeps one for each). */
export function checkIndexColumns(checks: CheckDeclaration[]): string[][] {
  const wanted = checks.flatMap((c) => (c.kind === 'unique' ? [c.columns] : c.kind === 'relationship' ? [[c.column]] : []));
  return wanted.filter((cols, i) => wanted.findIndex((o) => o.join('\u0000') === cols.join('\u0000')) === i);
}

/** A row-count check's verdict: 1 failing "row" (the table) when the count is out of bounds. */
export function rowCountFailing(check: CheckOf<'row_count'>, rows: number): number {
  return (check.min !== undefined && rows < check.min) || (check.max !== undefined && rows > check.max) ? 1 : 0;
}

/** A freshness check's verdict: stale (or empty, no age at all) fails. */
export function freshnessFailing(check: CheckOf<'freshness'>, ageSeconds: number | null): number {
  return ageSeconds === null || ageSeconds > maxAgeSeconds(check.max_age) ? 1 : 0;
}

export interface ColumnFacts {
  name: string;
  /** Canonical type from the catalog (`int32`, `string(200)`, `decimal(10,2)`), when recorded. */
  type?: string;
}

/**
 * A schema check against the silver table's columns and the catalog's record of them: each
 * problem is one failing item ("missing column email", "total is decimal(10,2), not int32").
 */
export function schemaProblems(check: CheckOf<'schema'>, silver: ColumnFacts[], recorded: ColumnFacts[], bookkeeping: string[]): string[] {
  const problems: string[] = [];
  const present = new Map(silver.map((c) => [c.name, c]));
  const typeOf = (name: string) => recorded.find((c) => c.name === name)?.type ?? present.get(name)?.type;
  for (const want of check.columns) {
    if (!present.has(want.name)) {
      problems.push(`missing column ${want.name}`);
      continue;
    }
    const actual = typeOf(want.name);
    if (want.type && actual !== want.type && actual?.replace(/\(.*\)$/, '') !== want.type) {
      problems.push(`${want.name} is ${actual ?? 'of unknown type'}, not ${want.type}`);
    }
  }
  if (!check.allow_dropped_columns) {
    for (const r of recorded) if (!present.has(r.name)) problems.push(`column ${r.name} was dropped`);
  }
  if (!check.allow_new_columns) {
    const declared = new Set(check.columns.map((c) => c.name));
    for (const s of silver) if (!declared.has(s.name) && !bookkeeping.includes(s.name)) problems.push(`undeclared column ${s.name}`);
  }
  return problems;
}

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileChecks, type CheckTarget } from '../../activities/quality/checks-sql.js';
import { CheckDeclaration, CheckList } from '../../common/checks.js';
import { describeIssues } from '../../common/errors.js';

/** A value that breaks out of a quoted identifier, a string literal or a statement. */
const HOSTILE = "a`; DROP TABLE canary; -- ' \" \\' OR 1=1 /*";

/** One valid declaration of each kind, the base every hostile field is planted in. */
const VALID: Record<string, Record<string, unknown>> = {
  not_null: { kind: 'not_null', id: 'x', severity: 'error', column: 'a' },
  unique: { kind: 'unique', id: 'x', severity: 'error', columns: ['a'] },
  accepted_values: { kind: 'accepted_values', id: 'x', severity: 'error', column: 'a', values: ['v'] },
  range: { kind: 'range', id: 'x', severity: 'error', column: 'a', min: 0 },
  regex: { kind: 'regex', id: 'x', severity: 'error', column: 'a', pattern: 'x' },
  row_count: { kind: 'row_count', id: 'x', severity: 'error', min: 1 },
  freshness: { kind: 'freshness', id: 'x', severity: 'error', max_age: '1h' },
  schema: { kind: 'schema', id: 'x', severity: 'error', columns: [{ name: 'a', type: 'int32' }] },
  relationship: { kind: 'relationship', id: 'x', severity: 'error', column: 'a', to: { dataset: 'shop.c', column: 'id' } },
  sql: { kind: 'sql', id: 'x', severity: 'error', query: 'SELECT * FROM {{table}}' },
};

/**
 * What each field of each kind does with a hostile value: `refused` (the declaration is refused,
 * naming the field), or `bound` (accepted as a value and only ever a parameter of the SQL), or
 * `unused` (accepted, never reaches SQL). A field added to the schema without an entry here fails
 * the first test below.
 */
const FIELDS: Record<string, 'refused' | 'bound' | 'unused'> = {
  kind: 'refused',
  id: 'refused',
  severity: 'refused',
  blocking: 'refused',
  description: 'unused',
  max_failing_rows: 'refused',
  max_failing_ratio: 'refused',
  column: 'refused',
  'columns[]': 'refused',
  'columns[].name': 'refused',
  'columns[].type': 'refused',
  'values[]': 'bound',
  min: 'bound', // a range's min/max may be a string bound; a row count's is an integer
  max: 'bound',
  min_inclusive: 'refused',
  max_inclusive: 'refused',
  pattern: 'bound',
  max_age: 'refused',
  allow_new_columns: 'refused',
  allow_dropped_columns: 'refused',
  'to.dataset': 'refused',
  'to.column': 'refused',
  query: 'refused',
};

/** Paths of every leaf field of a zod schema: `to.column`, `columns[].name`. */
function leafPaths(schema: z.ZodType, prefix = ''): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
      return leafPaths(def.innerType as z.ZodType, prefix);
    case 'array':
      return leafPaths(def.element as z.ZodType, `${prefix}[]`);
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
    default:
      return [prefix];
  }
}

const kinds = (CheckDeclaration as unknown as { options: z.ZodObject[] }).options;
const fieldsOfKind = (kind: z.ZodObject) => ({ name: (kind.shape.kind as z.ZodLiteral<string>).value, paths: leafPaths(kind) });

/** The declaration with the value at `path` (`columns[].name` is the first element's) replaced. */
function planted(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const steps = path.split('.').flatMap((s) => (s.endsWith('[]') ? [s.slice(0, -2), 0] : [s]));
  let at: Record<string | number, unknown> = copy;
  steps.slice(0, -1).forEach((s, i) => {
    at[s] ??= typeof steps[i + 1] === 'number' ? [] : {};
    at = at[s] as Record<string | number, unknown>;
  });
  at[steps.at(-1)!] = value;
  return copy;
}

const fieldName = (path: string) => path.replaceAll('[]', '.0');
const target: CheckTarget = {
  table: { database: 'silver', table: 't' },
  primaryKey: ['a'],
  cursor: 'a',
  related: { 'shop.c': { database: 'silver', table: 'c' } },
};

describe('injection through a check declaration', () => {
  it('has a verdict for every field of every kind in the schema', () => {
    const all = kinds.flatMap((k) => fieldsOfKind(k).paths);
    expect(new Set(all).size).toBeGreaterThan(15);
    expect(all.filter((p) => !(p in FIELDS))).toEqual([]);
    expect(kinds.map((k) => fieldsOfKind(k).name).sort()).toEqual(Object.keys(VALID).sort());
  });

  for (const kind of kinds) {
    const { name, paths } = fieldsOfKind(kind);
    for (const path of paths.filter((p) => p !== 'kind')) {
      const verdict = FIELDS[path] ?? 'missing';
      it(`${name}.${path}: a hostile value is ${verdict}`, () => {
        const raw = planted(VALID[name]!, path, HOSTILE);
        const parsed = CheckList.safeParse([raw]);
        if (verdict === 'refused') {
          expect(parsed.success, JSON.stringify(raw)).toBe(false);
          expect(describeIssues(parsed.error!)).toMatch(new RegExp(`^0\\.${fieldName(path).replaceAll('.', '\\.')}(:| )`));
          return;
        }
        // row_count's min/max are integers: there a string is refused as well.
        if (name === 'row_count' && (path === 'min' || path === 'max')) {
          expect(parsed.success).toBe(false);
          expect(describeIssues(parsed.error!)).toMatch(new RegExp(`^0\\.${path}:`));
          return;
        }
        expect(parsed.success, parsed.success ? '' : describeIssues(parsed.error)).toBe(true);
        const plan = compileChecks(parsed.data!, target);
        const queries = [plan.scan, ...plan.separate, ...Object.values(plan.samples)];
        for (const q of queries) expect(q.sql).not.toContain('DROP');
        if (verdict === 'bound') expect(queries.some((q) => q.params.includes(HOSTILE))).toBe(true);
        else expect(queries.every((q) => !q.params.includes(HOSTILE))).toBe(true);
      });
    }
  }

  it('refuses an unknown kind, naming it', () => {
    expect(describeIssues(CheckList.safeParse([{ ...VALID.not_null, kind: HOSTILE }]).error!)).toMatch(/^0\.kind:/);
  });

  // What passes for a SELECT but would write, lock or escape the subquery it runs in.
  it.each([
    ['SELECT 1 FROM {{table}}; DROP TABLE canary', 'single statement'],
    ['INSERT INTO canary VALUES (1)', 'must be a SELECT'],
    ['DROP TABLE canary', 'must be a SELECT'],
    ["SELECT * FROM {{table}} INTO OUTFILE '/tmp/x'", 'INTO'],
    ['SELECT * FROM {{table}} INTO @v', 'INTO'],
    ['SELECT * FROM {{table}} FOR UPDATE', 'lock rows'],
    ['SELECT 1) AS a UNION SELECT 1 FROM (SELECT 1', 'balanced parentheses'],
    ['SELECT 1 /* hidden */', 'comments'],
  ])('refuses the owner query %j', (query, why) => {
    const r = CheckList.safeParse([{ ...VALID.sql, query }]);
    expect(r.success).toBe(false);
    expect(describeIssues(r.error!)).toMatch(new RegExp(`^0\\.query: .*(${why})`));
  });

  it('keeps keywords inside quoted strings as text', () => {
    expect(CheckList.safeParse([{ ...VALID.sql, query: "SELECT * FROM {{table}} WHERE note = 'put it into (the box'" }]).success).toBe(
      true,
    );
  });
});

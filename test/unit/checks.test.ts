import { describe, expect, it } from 'vitest';
import { CheckDeclaration, CheckList, checksJsonSchema, maxAgeSeconds, withinThreshold } from '../../common/checks.js';
import { DatasetDeclaration } from '../../common/dataset.js';
import { describeIssues } from '../../common/errors.js';
import {
  checkIndexColumns,
  compileChecks,
  freshnessFailing,
  quoteIdentifier,
  rowCountFailing,
  schemaProblems,
  type CheckTarget,
} from '../../activities/quality/checks-sql.js';

const target: CheckTarget = {
  table: { database: 'silver', table: 'orders' },
  primaryKey: ['order_id'],
  cursor: 'updated_at',
  related: { 'shop.customers': { database: 'silver', table: 'customers' } },
};

const parse = (raw: unknown) => CheckDeclaration.parse(raw);
const problemOf = (raw: unknown): string => {
  const r = CheckList.safeParse([raw]);
  if (r.success) throw new Error(`accepted ${JSON.stringify(raw)}`);
  return describeIssues(r.error);
};

describe('check declarations', () => {
  it('accepts every kind with its defaults', () => {
    const checks = CheckList.parse([
      { kind: 'not_null', id: 'a', severity: 'error', column: 'name' },
      { kind: 'unique', id: 'b', severity: 'error', columns: ['x', 'y'] },
      { kind: 'accepted_values', id: 'c', severity: 'warn', column: 's', values: ['open', 2] },
      { kind: 'range', id: 'd', severity: 'error', column: 'p', min: 0, max_failing_ratio: 0.1 },
      { kind: 'regex', id: 'e', severity: 'warn', column: 'email', pattern: '^[^@]+@[^@]+$' },
      { kind: 'row_count', id: 'f', severity: 'error', min: 1 },
      { kind: 'freshness', id: 'g', severity: 'error', max_age: '6h' },
      { kind: 'schema', id: 'h', severity: 'error', columns: [{ name: 'total', type: 'decimal' }] },
      { kind: 'relationship', id: 'i', severity: 'error', blocking: true, column: 'c', to: { dataset: 'shop.customers', column: 'id' } },
      { kind: 'sql', id: 'j', severity: 'warn', query: 'SELECT * FROM {{table}} WHERE total < 0' },
    ]);
    expect(checks).toHaveLength(10);
    expect(checks[0]!.blocking).toBe(false);
    expect(checks[3]).toMatchObject({ min_inclusive: true, max_inclusive: true });
    expect(checks[7]).toMatchObject({ allow_new_columns: true, allow_dropped_columns: false });
  });

  it('sits beside the dataset in the same declaration', () => {
    const d = DatasetDeclaration.parse({
      name: 'shop.orders',
      source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders' },
      target: { table: 'orders' },
      owner: 'o@example.com',
      team: 'commerce',
      checks: [{ kind: 'not_null', id: 'order_customer', severity: 'error', column: 'customer_id' }],
    });
    expect(d.checks?.[0]?.id).toBe('order_customer');
    const bad = DatasetDeclaration.safeParse({ ...d, checks: [{ kind: 'not_null', id: 'x', severity: 'error', column: 'a b' }] });
    expect(bad.success).toBe(false);
    expect(describeIssues(bad.error!)).toMatch(/^checks\.0\.column: must be a plain SQL identifier/);
  });

  // Every field that reaches SQL, with an attempt to break out of it: refused, the field named.
  it.each([
    [{ kind: 'not_null', id: 'x', severity: 'error', column: 'a`; DROP TABLE t; --' }, '0.column'],
    [{ kind: 'not_null', id: "x'; --", severity: 'error', column: 'a' }, '0.id'],
    [{ kind: 'unique', id: 'x', severity: 'error', columns: ['a', 'b) OR 1=1'] }, '0.columns.1'],
    [{ kind: 'accepted_values', id: 'x', severity: 'error', column: 'a--', values: ['v'] }, '0.column'],
    [{ kind: 'accepted_values', id: 'x', severity: 'error', column: 'a', values: [{ raw: 'x' }] }, '0.values.0'],
    [{ kind: 'range', id: 'x', severity: 'error', column: 'a', min: { toSqlString: '1' } }, '0.min'],
    [{ kind: 'range', id: 'x', severity: 'error', column: 'a', max: [1, 2] }, '0.max'],
    [{ kind: 'regex', id: 'x', severity: 'error', column: 'a/**/', pattern: 'x' }, '0.column'],
    [{ kind: 'regex', id: 'x', severity: 'error', column: 'a', pattern: '(' }, '0.pattern'],
    [{ kind: 'freshness', id: 'x', severity: 'error', column: 'a)', max_age: '1h' }, '0.column'],
    [{ kind: 'freshness', id: 'x', severity: 'error', max_age: '1 HOUR); DROP' }, '0.max_age'],
    [{ kind: 'schema', id: 'x', severity: 'error', columns: [{ name: 'a', type: "int'; DROP" }] }, '0.columns.0.type'],
    [{ kind: 'schema', id: 'x', severity: 'error', columns: [{ name: 'a`b' }] }, '0.columns.0.name'],
    [{ kind: 'relationship', id: 'x', severity: 'error', column: 'a', to: { dataset: 'x`.y', column: 'id' } }, '0.to.dataset'],
    [{ kind: 'relationship', id: 'x', severity: 'error', column: 'a', to: { dataset: 'shop.c', column: 'id` OR 1' } }, '0.to.column'],
    [{ kind: 'sql', id: 'x', severity: 'error', query: 'SELECT 1; DROP TABLE orders' }, '0.query'],
    [{ kind: 'sql', id: 'x', severity: 'error', query: 'DELETE FROM orders' }, '0.query'],
    [{ kind: 'sql', id: 'x', severity: 'error', query: 'SELECT 1 -- hidden' }, '0.query'],
    [{ kind: 'not_null', id: 'x', severity: 'error', column: 'a', where: '1=1' }, '0'],
    [{ kind: 'not_null', id: 'x', severity: 'fatal', column: 'a' }, '0.severity'],
  ])('refuses %j naming %s', (raw, field) => {
    expect(problemOf(raw)).toMatch(new RegExp(`^${field.replaceAll('.', '\\.')}(:| )`));
  });

  it('refuses two thresholds, a blocking warning and a repeated id', () => {
    expect(problemOf({ kind: 'not_null', id: 'x', severity: 'error', column: 'a', max_failing_rows: 1, max_failing_ratio: 0.1 })).toMatch(
      /^0\.max_failing_ratio: give max_failing_rows or max_failing_ratio/,
    );
    expect(problemOf({ kind: 'not_null', id: 'x', severity: 'warn', blocking: true, column: 'a' })).toMatch(
      /^0\.blocking: only a check of severity error/,
    );
    const twice = CheckList.safeParse([
      { kind: 'not_null', id: 'x', severity: 'error', column: 'a' },
      { kind: 'not_null', id: 'x', severity: 'error', column: 'b' },
    ]);
    expect(describeIssues(twice.error!)).toBe('1.id: check id x is declared twice');
  });

  it('exports a JSON Schema naming every kind', () => {
    const text = JSON.stringify(checksJsonSchema());
    for (const kind of [
      'not_null',
      'unique',
      'accepted_values',
      'range',
      'regex',
      'row_count',
      'freshness',
      'schema',
      'relationship',
      'sql',
    ]) {
      expect(text).toContain(`"${kind}"`);
    }
  });

  it('applies thresholds by rows or by ratio', () => {
    const none = parse({ kind: 'not_null', id: 'x', severity: 'error', column: 'a' });
    expect(withinThreshold(none, 0, 10)).toBe(true);
    expect(withinThreshold(none, 1, 10)).toBe(false);
    const ratio = parse({ kind: 'not_null', id: 'x', severity: 'error', column: 'a', max_failing_ratio: 0.1 });
    expect(withinThreshold(ratio, 1, 10)).toBe(true);
    expect(withinThreshold(ratio, 2, 10)).toBe(false);
    expect(maxAgeSeconds('2d')).toBe(172_800);
  });
});

describe('the checks SQL compiler', () => {
  it('combines the row-level checks of a table into one scan with bound values', () => {
    const plan = compileChecks(
      CheckList.parse([
        { kind: 'not_null', id: 'n', severity: 'error', column: 'customer_id' },
        { kind: 'accepted_values', id: 'v', severity: 'error', column: 'status', values: ['open', "it's"] },
        { kind: 'range', id: 'r', severity: 'error', column: 'total', min: 0, max: 1000, max_inclusive: false },
        { kind: 'regex', id: 'x', severity: 'warn', column: 'email', pattern: '^[^@]+@' },
        { kind: 'freshness', id: 'f', severity: 'error', max_age: '1h' },
        { kind: 'row_count', id: 'c', severity: 'error', min: 1 },
      ]),
      target,
    );
    expect(plan.scan.sql).toBe(
      'SELECT COUNT(*) AS `rows`, ' +
        'COUNT(CASE WHEN `customer_id` IS NULL THEN 1 END) AS `m0`, ' +
        'COUNT(CASE WHEN `status` IS NOT NULL AND `status` NOT IN (?, ?) THEN 1 END) AS `m1`, ' +
        'COUNT(CASE WHEN `total` IS NOT NULL AND (`total` < ? OR `total` >= ?) THEN 1 END) AS `m2`, ' +
        'COUNT(CASE WHEN `email` IS NOT NULL AND NOT (`email` REGEXP ?) THEN 1 END) AS `m3`, ' +
        'TIMESTAMPDIFF(SECOND, MAX(`updated_at`), UTC_TIMESTAMP()) AS `m4` FROM `silver`.`orders`',
    );
    expect(plan.scan.params).toEqual(['open', "it's", 0, 1000, '^[^@]+@']);
    expect(plan.scan.measures.map((m) => [m.checkId, m.measure])).toEqual([
      ['n', 'failing'],
      ['v', 'failing'],
      ['r', 'failing'],
      ['x', 'failing'],
      ['f', 'age_seconds'],
    ]);
    expect(plan.separate).toEqual([]);
    expect(plan.tableLevel).toEqual(['c']);
    expect(plan.samples.v).toEqual({
      sql: 'SELECT * FROM `silver`.`orders` WHERE `status` IS NOT NULL AND `status` NOT IN (?, ?) ORDER BY `order_id` LIMIT 100',
      params: ['open', "it's"],
    });
  });

  it('gives unique, relationship and owner sql a query each', () => {
    const plan = compileChecks(
      CheckList.parse([
        { kind: 'unique', id: 'u', severity: 'error', columns: ['email', 'shop'] },
        { kind: 'relationship', id: 'fk', severity: 'error', column: 'customer_id', to: { dataset: 'shop.customers', column: 'id' } },
        { kind: 'sql', id: 'q', severity: 'warn', query: 'SELECT order_id FROM {{table}} WHERE total < 0' },
      ]),
      target,
    );
    expect(plan.separate.map((s) => s.sql)).toEqual([
      'SELECT COALESCE(SUM(n), 0) AS failing FROM (SELECT COUNT(*) AS n FROM `silver`.`orders` WHERE `email` IS NOT NULL AND `shop` IS NOT NULL GROUP BY `email`, `shop` HAVING COUNT(*) > 1) AS duplicated',
      'SELECT COUNT(*) AS failing FROM `silver`.`orders` AS c WHERE c.`customer_id` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM `silver`.`customers` AS p WHERE p.`id` = c.`customer_id`)',
      'SELECT COUNT(*) AS failing FROM (SELECT order_id FROM `silver`.`orders` WHERE total < 0) AS failing_rows',
    ]);
    // The GROUP BY runs only when the shared scan's distinct count shows a repeated key.
    expect(plan.scan.sql).toContain(
      'COUNT(DISTINCT `email`, `shop`) AS `m0d`, COUNT(CASE WHEN `email` IS NOT NULL AND `shop` IS NOT NULL THEN 1 END) AS `m0k`',
    );
    expect(plan.separate.map((s) => s.unlessDistinct ?? false)).toEqual([true, false, false]);
    expect(plan.separate.map((s) => s.precheck)).toEqual([undefined, undefined, undefined]);
    expect(plan.samples.u!.sql).toContain('JOIN (SELECT `email`, `shop` FROM `silver`.`orders` WHERE');
    expect(plan.samples.u!.sql).toMatch(/ORDER BY c\.`email`, c\.`shop`, c\.`order_id` LIMIT 100$/);
    expect(plan.samples.fk!.sql).toMatch(/ORDER BY c\.`order_id` LIMIT 100$/);
  });

  it('walks an index that leads with a unique or relationship column instead of scanning for it', () => {
    const checks = CheckList.parse([
      { kind: 'unique', id: 'u', severity: 'error', columns: ['email', 'shop'] },
      { kind: 'relationship', id: 'fk', severity: 'error', column: 'customer_id', to: { dataset: 'shop.customers', column: 'id' } },
    ]);
    // Column order matters: an index on (shop, email) cannot stream GROUP BY email, shop.
    const unordered = compileChecks(checks, { ...target, indexes: [['order_id'], ['shop', 'email'], ['customer_id_x']] });
    expect(unordered.scan.sql).toContain('COUNT(DISTINCT `email`, `shop`)');
    expect(unordered.separate.map((s) => [s.unlessDistinct ?? false, s.precheck !== undefined])).toEqual([
      [true, false],
      [false, false],
    ]);

    const plan = compileChecks(checks, { ...target, indexes: [['order_id'], ['email', 'shop', 'order_id'], ['customer_id']] });
    expect(plan.scan.sql).toBe('SELECT COUNT(*) AS `rows` FROM `silver`.`orders`');
    expect(plan.separate[0]!.unlessDistinct).toBeUndefined();
    expect(plan.separate[0]!.sql).toContain('GROUP BY `email`, `shop` HAVING COUNT(*) > 1');
    // The relationship's exact count is unchanged; the precheck decides whether it runs.
    expect(plan.separate[1]!.sql).toBe(unordered.separate[1]!.sql);
    expect(plan.separate[1]!.precheck!.sql).toBe(
      'SELECT COUNT(*) AS orphans FROM (SELECT DISTINCT `customer_id` FROM `silver`.`orders` WHERE `customer_id` IS NOT NULL) AS v ' +
        'WHERE v.`customer_id` NOT IN (SELECT p.`id` FROM `silver`.`customers` AS p WHERE p.`id` IS NOT NULL)',
    );
    expect(checkIndexColumns([...checks, ...checks])).toEqual([['email', 'shop'], ['customer_id']]);
  });

  it('refuses an identifier that slipped past validation', () => {
    expect(() => quoteIdentifier('a`b')).toThrow(/refusing SQL identifier/);
    const forged = { kind: 'not_null', id: 'x', severity: 'error', blocking: false, column: 'a` OR 1' } as CheckDeclaration;
    expect(() => compileChecks([forged], target)).toThrow(/refusing/);
  });

  it('judges row counts, freshness and schemas', () => {
    const rc = CheckList.parse([{ kind: 'row_count', id: 'c', severity: 'error', min: 10, max: 20 }])[0] as never;
    expect([rowCountFailing(rc, 9), rowCountFailing(rc, 10), rowCountFailing(rc, 21)]).toEqual([1, 0, 1]);
    const f = CheckList.parse([{ kind: 'freshness', id: 'f', severity: 'error', max_age: '1h' }])[0] as never;
    expect([freshnessFailing(f, 3600), freshnessFailing(f, 3601), freshnessFailing(f, null)]).toEqual([0, 1, 1]);
    const s = CheckList.parse([
      {
        kind: 'schema',
        id: 's',
        severity: 'error',
        columns: [{ name: 'id', type: 'int32' }, { name: 'total', type: 'decimal' }, { name: 'email' }],
        allow_new_columns: false,
      },
    ])[0] as never;
    const silver = [{ name: 'id' }, { name: 'total' }, { name: 'extra' }, { name: '_spokeflow_run' }];
    const recorded = [
      { name: 'id', type: 'int64' },
      { name: 'total', type: 'decimal(10,2)' },
      { name: 'email', type: 'string' },
      { name: 'extra', type: 'text' },
    ];
    expect(schemaProblems(s, silver, recorded, ['_spokeflow_run'])).toEqual([
      'id is int64, not int32',
      'missing column email',
      'column email was dropped',
      'undeclared column extra',
    ]);
  });
});

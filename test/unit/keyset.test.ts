import { describe, expect, it } from 'vitest';
import { mysqlDialect } from '../../activities/sources/mysql.js';
import { postgresDialect } from '../../activities/sources/postgres.js';
import { chooseRowKey, keyCutsSql, pageSql, relationSql } from '../../activities/sources/keyset.js';
import type { SourceColumn } from '../../common/column-types.js';

const columns: SourceColumn[] = [
  { name: 'id', type: { kind: 'int', bits: 32 }, sourceType: 'integer' },
  { name: 'updated_at', type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' },
  { name: 'odd"name', type: { kind: 'text' }, sourceType: 'text' },
];

describe('keyset page queries', () => {
  it('end a key range at its last key, inclusive, after the window on the cursor', () => {
    const { sql, values } = pageSql(mysqlDialect, relationSql(mysqlDialect, { table: 'orders' }), {
      columns,
      keyset: ['id'],
      cursor: 'updated_at',
      after: ['100'],
      through: ['200'],
      cursorLowerBound: '2024-01-01',
      cursorUpperBound: '2024-02-01',
      upperInclusive: false,
      limit: 50,
    });
    expect(sql).toBe(
      'SELECT `id` AS `id`, `updated_at` AS `updated_at`, `odd"name` AS `odd"name` FROM `orders` AS src ' +
        'WHERE `updated_at` >= ? AND `updated_at` < ? AND (`id`) > (?) AND (`id`) <= (?) ORDER BY src.`id` LIMIT 50',
    );
    expect(values).toEqual(['2024-01-01', '2024-02-01', '100', '200']);
  });

  it('cut the key space at every n-th row by ROW_NUMBER over the key, within the window, never at the last row', () => {
    const { sql, values } = keyCutsSql(postgresDialect, relationSql(postgresDialect, { table: 'shop.orders' }), {
      columns,
      primaryKey: ['updated_at', 'id'],
      cursor: 'updated_at',
      cursorLowerBound: '2024-01-01 00:00:00',
      cursorUpperBound: '2024-02-01 00:00:00',
      upperInclusive: false,
      every: 5000,
    });
    expect(sql).toBe(
      `SELECT "k0", "k1" FROM (SELECT ("updated_at" AT TIME ZONE 'UTC') AS "k0", "id" AS "k1", ` +
        `ROW_NUMBER() OVER (ORDER BY src."updated_at", src."id") AS "spokeflow_rn", COUNT(*) OVER () AS "spokeflow_rows" ` +
        `FROM "shop"."orders" AS src ` +
        `WHERE "updated_at" >= ($1::timestamp AT TIME ZONE 'UTC') AND "updated_at" < ($2::timestamp AT TIME ZONE 'UTC')) ` +
        `AS numbered WHERE MOD("spokeflow_rn", 5000) = 0 AND "spokeflow_rn" < "spokeflow_rows" ORDER BY "spokeflow_rn"`,
    );
    expect(values).toEqual(['2024-01-01 00:00:00', '2024-02-01 00:00:00']);
  });

  it('resume after (cursor, key) within the bounds, with every value bound as a parameter', () => {
    const { sql, values } = pageSql(postgresDialect, relationSql(postgresDialect, { table: 'shop.orders' }), {
      columns,
      keyset: ['updated_at', 'id'],
      cursor: 'updated_at',
      after: ['2024-01-01 00:00:00', '42'],
      cursorLowerBound: null,
      cursorUpperBound: '2024-02-01 00:00:00',
      upperInclusive: true,
      limit: 500,
    });
    expect(sql).toBe(
      `SELECT "id" AS "id", ("updated_at" AT TIME ZONE 'UTC') AS "updated_at", "odd""name" AS "odd""name" ` +
        `FROM "shop"."orders" AS src WHERE "updated_at" <= ($1::timestamp AT TIME ZONE 'UTC') ` +
        `AND ("updated_at", "id") > (($2::timestamp AT TIME ZONE 'UTC'), $3::bigint) ORDER BY src."updated_at", src."id" LIMIT 500`,
    );
    expect(values).toEqual(['2024-02-01 00:00:00', '2024-01-01 00:00:00', '42']);
  });

  it('can bind values through settings for COPY, which takes no parameters', () => {
    const { sql, values } = pageSql(
      postgresDialect,
      relationSql(postgresDialect, { query: 'SELECT * FROM t' }),
      { columns, keyset: ['id'], after: ['7'], cursorLowerBound: null, cursorUpperBound: null, upperInclusive: true, limit: 5 },
      (n) => `current_setting('spokeflow.p${n}')`,
    );
    expect(sql).toContain(`FROM (SELECT * FROM t) AS src WHERE ("id") > (current_setting('spokeflow.p1')::bigint)`);
    expect(values).toEqual(['7']);
  });

  it('quote MySQL names with backticks and bind a null key part as NULL', () => {
    const { sql, values } = pageSql(mysqlDialect, relationSql(mysqlDialect, { table: 'orders' }), {
      columns,
      keyset: ['updated_at', 'id'],
      cursor: 'updated_at',
      after: ['2024-01-01 00:00:00', null],
      cursorLowerBound: '2023-12-01',
      cursorUpperBound: '2024-02-01',
      upperInclusive: false,
      limit: 10,
    });
    expect(sql).toBe(
      'SELECT `id` AS `id`, `updated_at` AS `updated_at`, `odd"name` AS `odd"name` FROM `orders` AS src ' +
        'WHERE `updated_at` >= ? AND `updated_at` < ? AND (`updated_at`, `id`) > (?, NULL) ORDER BY src.`updated_at`, src.`id` LIMIT 10',
    );
    expect(values).toEqual(['2023-12-01', '2024-02-01', '2024-01-01 00:00:00']);
  });
});

describe('the key of a table declared without one', () => {
  const index = (name: string, primary: boolean, ...columns: [string, boolean][]) => ({
    name,
    primary,
    columns: columns.map(([c, notNull]) => ({ name: c, notNull })),
  });

  it('is the primary key when there is one', () => {
    expect(chooseRowKey([index('by_code', false, ['code', true]), index('pk', true, ['a', true], ['b', true])])).toEqual(['a', 'b']);
  });

  it('is the narrowest unique index of NOT NULL columns otherwise, passing over one with a nullable column', () => {
    const indexes = [
      index('wide', false, ['a', true], ['b', true]),
      index('nullable', false, ['other', false]),
      index('code', false, ['code', true]),
    ];
    expect(chooseRowKey(indexes)).toEqual(['code']);
  });

  it('is missing when no unique index has only NOT NULL columns', () => {
    expect(chooseRowKey([index('nullable', false, ['other', false])])).toBeUndefined();
    expect(chooseRowKey([])).toBeUndefined();
  });
});

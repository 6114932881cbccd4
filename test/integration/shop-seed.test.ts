/**
 * Seeds tiny shops into throwaway schemas of a real Postgres (PGHOST/PGPORT/PGUSER/PGPASSWORD/
 * PGDATABASE, defaulting to the local stack) and checks what the demo relies on.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIRST_ORDER_ID,
  ORDER_LINE_AMOUNT_SQL,
  SHOP_PRIMARY_KEYS,
  SHOP_TABLES,
  mutateShop,
  seedShop,
  type ShopSize,
  type ShopTable,
} from '../../infra/demo/shop.js';

const TINY_SHOP: ShopSize = { customers: 300, products: 60, orders: 1_000, linesPerOrder: 3 };
const SEED = 7;

const runId = randomBytes(4).toString('hex');
const schemaA = `shop_test_${runId}_a`;
const schemaB = `shop_test_${runId}_b`;
const schemaOtherSeed = `shop_test_${runId}_c`;

const client = new pg.Client({
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'spokeflow',
  password: process.env.PGPASSWORD ?? 'spokeflow',
  database: process.env.PGDATABASE ?? 'spokeflow',
});

/** md5 of every row as text, in primary-key order: equal checksums mean equal tables. */
async function tableChecksum(schema: string, table: ShopTable): Promise<string> {
  const keys = SHOP_PRIMARY_KEYS[table].join(', ');
  const { rows } = await client.query<{ checksum: string }>(
    `SELECT md5(string_agg(t::text, E'\\n' ORDER BY ${keys})) AS checksum FROM ${schema}.${table} AS t`,
  );
  return rows[0]!.checksum;
}

async function scalar<T>(sql: string, values: unknown[] = []): Promise<T> {
  const { rows } = await client.query<{ value: T }>(sql, values);
  return rows[0]!.value;
}

describe('seedShop / mutateShop', () => {
  let seededCounts: Record<string, number>;

  beforeAll(async () => {
    await client.connect();
    // Checksums print timestamps, which depend on the session time zone: pin it.
    await client.query(`SET TimeZone = 'UTC'`);
    seededCounts = await seedShop(client, { schema: schemaA, size: TINY_SHOP, seed: SEED });
  }, 60_000);

  afterAll(async () => {
    for (const schema of [schemaA, schemaB, schemaOtherSeed]) {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
    await client.end();
  });

  it('creates the four tables with the requested sizes', async () => {
    expect(Object.keys(seededCounts).sort()).toEqual([...SHOP_TABLES].sort());
    expect(seededCounts.customers).toBe(TINY_SHOP.customers);
    expect(seededCounts.products).toBe(TINY_SHOP.products);
    expect(seededCounts.orders).toBe(TINY_SHOP.orders);
    // 1..5 lines per order, about 3 on average.
    expect(seededCounts.order_lines).toBeGreaterThan(TINY_SHOP.orders * 2.5);
    expect(seededCounts.order_lines).toBeLessThan(TINY_SHOP.orders * 3.5);
    for (const table of SHOP_TABLES) {
      expect(Number(await scalar<string>(`SELECT count(*) AS value FROM ${schemaA}.${table}`))).toBe(seededCounts[table]);
    }
  });

  it('gives the same tables for the same seed, and others for another seed', async () => {
    await seedShop(client, { schema: schemaB, size: TINY_SHOP, seed: SEED });
    await seedShop(client, { schema: schemaOtherSeed, size: TINY_SHOP, seed: SEED + 1 });
    for (const table of SHOP_TABLES) {
      expect(await tableChecksum(schemaB, table), table).toBe(await tableChecksum(schemaA, table));
      expect(await tableChecksum(schemaOtherSeed, table), table).not.toBe(await tableChecksum(schemaA, table));
    }
  }, 60_000);

  it('keeps every order total equal to the sum of its lines', async () => {
    const mismatched = await scalar<string>(
      `SELECT count(*) AS value FROM ${schemaA}.orders AS o
        WHERE o.total IS DISTINCT FROM (SELECT sum(${ORDER_LINE_AMOUNT_SQL}) FROM ${schemaA}.order_lines AS l WHERE l.order_id = o.order_id)`,
    );
    expect(Number(mismatched)).toBe(0);
  });

  it('has plausible times, ids, awkward text and some NULLs', async () => {
    const facts = (
      await client.query<Record<string, string | boolean>>(
        `SELECT
           (SELECT count(*) FROM ${schemaA}.customers WHERE updated_at < signed_up_at) AS customers_updated_before_signup,
           (SELECT count(*) FROM ${schemaA}.orders o JOIN ${schemaA}.customers c USING (customer_id) WHERE o.ordered_at < c.signed_up_at) AS orders_before_signup,
           (SELECT count(*) FROM ${schemaA}.orders WHERE updated_at < ordered_at OR shipped_on < ordered_at::date) AS orders_out_of_order,
           (SELECT count(*) FROM ${schemaA}.order_lines l JOIN ${schemaA}.orders o USING (order_id) WHERE l.updated_at < o.ordered_at) AS lines_before_order,
           (SELECT min(order_id)::text FROM ${schemaA}.orders) AS min_order_id,
           (SELECT max(updated_at) - min(ordered_at) > interval '600 days' FROM ${schemaA}.orders) AS spans_two_years,
           (SELECT count(*) FROM ${schemaA}.orders WHERE extract(microseconds FROM ordered_at)::int % 1000 <> 0) AS orders_with_microseconds,
           (SELECT count(*) FROM ${schemaA}.customers WHERE full_name = 'Zoë Brontë') AS zoe,
           (SELECT count(*) FROM ${schemaA}.customers WHERE city IN ('São Paulo', 'Łódź', '東京')) AS showcase_cities,
           (SELECT count(*) FROM ${schemaA}.customers WHERE city IS NULL) AS customers_without_city,
           (SELECT count(*) FROM ${schemaA}.customers WHERE marketing_opt_in IS NULL) AS customers_without_consent,
           (SELECT count(*) FROM ${schemaA}.products WHERE weight_kg IS NULL) AS products_without_weight,
           (SELECT count(*) FROM ${schemaA}.products WHERE attributes IS NULL) AS products_without_attributes,
           (SELECT count(*) FROM ${schemaA}.orders WHERE note ~ '[\\U0001F300-\\U0001FAFF]') AS notes_with_emoji,
           (SELECT count(*) FROM ${schemaA}.orders WHERE shipped_on IS NULL) AS orders_not_shipped`,
      )
    ).rows[0]!;
    expect(Number(facts.customers_updated_before_signup)).toBe(0);
    expect(Number(facts.orders_before_signup)).toBe(0);
    expect(Number(facts.orders_out_of_order)).toBe(0);
    expect(Number(facts.lines_before_order)).toBe(0);
    expect(facts.min_order_id).toBe(String(FIRST_ORDER_ID));
    expect(facts.spans_two_years).toBe(true);
    expect(Number(facts.orders_with_microseconds)).toBeGreaterThan(TINY_SHOP.orders / 2);
    expect(Number(facts.zoe)).toBeGreaterThanOrEqual(1);
    expect(Number(facts.showcase_cities)).toBeGreaterThanOrEqual(3);
    for (const key of [
      'customers_without_city',
      'customers_without_consent',
      'products_without_weight',
      'products_without_attributes',
      'notes_with_emoji',
      'orders_not_shipped',
    ]) {
      expect(Number(facts[key]), key).toBeGreaterThan(0);
    }
  });

  it('mutates exactly the promised rows, stamped after everything seeded', async () => {
    const maxUpdatedAt: Record<string, string> = {};
    for (const table of SHOP_TABLES) {
      maxUpdatedAt[table] = await scalar<string>(`SELECT max(updated_at)::text AS value FROM ${schemaA}.${table}`);
    }
    const maxOrderIdBefore = BigInt(await scalar<string>(`SELECT max(order_id)::text AS value FROM ${schemaA}.orders`));
    const citiesBefore = new Map(
      (await client.query<{ customer_id: number; city: string | null }>(`SELECT customer_id, city FROM ${schemaA}.customers`)).rows.map(
        (row) => [row.customer_id, row.city],
      ),
    );
    const statusesBefore = new Map(
      (await client.query<{ order_id: string; status: string }>(`SELECT order_id, status FROM ${schemaA}.orders`)).rows.map((row) => [
        row.order_id,
        row.status,
      ]),
    );

    const result = await mutateShop(client, { schema: schemaA, seed: 3, updates: 30, inserts: 12 });
    expect(result.updated).toEqual({ customers: 10, orders: 20 });
    expect(result.inserted.orders).toBe(12);
    expect(result.inserted.order_lines).toBeGreaterThanOrEqual(12);

    const changedSince = async (table: string): Promise<number> =>
      Number(
        await scalar<string>(`SELECT count(*) AS value FROM ${schemaA}.${table} WHERE updated_at > $1::timestamptz`, [maxUpdatedAt[table]]),
      );
    expect(await changedSince('customers')).toBe(10);
    expect(await changedSince('orders')).toBe(20 + 12);
    expect(await changedSince('order_lines')).toBe(result.inserted.order_lines);
    expect(await changedSince('products')).toBe(0);

    // The stamped rows are exactly the rows whose content changed.
    const customersAfter = (
      await client.query<{ customer_id: number; city: string | null; stamped: boolean }>(
        `SELECT customer_id, city, updated_at > $1::timestamptz AS stamped FROM ${schemaA}.customers`,
        [maxUpdatedAt.customers],
      )
    ).rows;
    for (const row of customersAfter)
      expect(row.city !== citiesBefore.get(row.customer_id), `customer ${row.customer_id}`).toBe(row.stamped);

    const ordersAfter = (
      await client.query<{ order_id: string; status: string; stamped: boolean }>(
        `SELECT order_id, status, updated_at > $1::timestamptz AS stamped FROM ${schemaA}.orders`,
        [maxUpdatedAt.orders],
      )
    ).rows;
    const newOrders = ordersAfter.filter((row) => !statusesBefore.has(row.order_id));
    expect(newOrders).toHaveLength(12);
    for (const row of newOrders) {
      expect(BigInt(row.order_id) > maxOrderIdBefore).toBe(true);
      expect(row.status).toBe('pending');
      expect(row.stamped).toBe(true);
    }
    for (const row of ordersAfter.filter((order) => statusesBefore.has(order.order_id))) {
      expect(row.status !== statusesBefore.get(row.order_id), `order ${row.order_id}`).toBe(row.stamped);
    }

    const mismatched = await scalar<string>(
      `SELECT count(*) AS value FROM ${schemaA}.orders AS o
        WHERE o.total IS DISTINCT FROM (SELECT sum(${ORDER_LINE_AMOUNT_SQL}) FROM ${schemaA}.order_lines AS l WHERE l.order_id = o.order_id)`,
    );
    expect(Number(mismatched)).toBe(0);
  });
});

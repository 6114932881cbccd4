import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutateShop, seedShop, SHOP_PRIMARY_KEYS, SHOP_TABLES } from '../../infra/demo/shop.js';
import { mysqlDigest, openHarness, postgresDigest, type Harness } from '../support/harness.js';

describe('the demo shop, synced', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const schema = `shop_${tag}`;
  let h: Harness;
  const dataset = (t: string) => `shop_${tag}.${t}`;
  const target = (t: string) => `shop_${tag}_${t}`;

  async function expectSame(t: (typeof SHOP_TABLES)[number]): Promise<number> {
    const columns = (
      await h.postgres.query<{ c: string }>(
        'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [schema, t],
      )
    ).rows.map((r) => r.c);
    const source = await postgresDigest(h.postgres, `"${schema}"."${t}"`, columns, [...SHOP_PRIMARY_KEYS[t]]);
    expect(await mysqlDigest(h.warehouse, `\`${target(t)}\``, columns, [...SHOP_PRIMARY_KEYS[t]]), t).toEqual(source);
    return source.rows;
  }

  beforeAll(async () => {
    h = await openHarness();
    await seedShop(h.postgres, { schema, size: { customers: 500, products: 80, orders: 2_000, linesPerOrder: 3 } });
    for (const t of SHOP_TABLES) {
      await h.datasets.upsert({
        name: dataset(t),
        source: {
          kind: 'postgres',
          connection: 'local-postgres',
          table: `${schema}.${t}`,
          primaryKey: [...SHOP_PRIMARY_KEYS[t]],
          cursor: 'updated_at',
        },
        target: { table: target(t) },
        owner: 'shop@example.com',
        team: 'commerce',
      });
    }
  });

  afterAll(async () => {
    if (!h) return;
    await h.postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const t of SHOP_TABLES) await h.warehouse.query(`DROP TABLE IF EXISTS \`${target(t)}\``);
    await h.close();
  });

  it('copies booleans, JSON, reals, fixed chars, emoji and NULLs exactly, then only the changes', async () => {
    for (const t of SHOP_TABLES) {
      const result = await h.sync({ dataset: dataset(t), pageRows: 700 });
      expect(result.rows).toBe(await expectSame(t));
    }
    const changed = await mutateShop(h.postgres, { schema, updates: 300, inserts: 40 });
    const moved: Record<string, number> = {};
    for (const t of SHOP_TABLES) {
      moved[t] = (await h.sync({ dataset: dataset(t) })).rows;
      await expectSame(t);
    }
    expect(moved).toEqual({
      customers: changed.updated.customers,
      products: 0,
      orders: (changed.updated.orders ?? 0) + (changed.inserted.orders ?? 0),
      order_lines: changed.inserted.order_lines,
    });
  });
});

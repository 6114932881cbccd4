import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBronzeStore } from '../../activities/objects/bronze.js';
import { mysqlDigest, openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';

/** The failure a workflow ended with: message, type and whether retries were ruled out. */
async function failureOf(run: Promise<unknown>): Promise<{ message: string; type?: string; nonRetryable?: boolean }> {
  try {
    await run;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { message: string; type?: string; nonRetryable?: boolean };
    return { message: cause.message, type: cause.type, nonRetryable: cause.nonRetryable };
  }
  throw new Error('expected the workflow to fail');
}

describe('sync sources, bad input and poison rows', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const sourceDb = `spokeflow_src_${tag}`;
  let h: Harness;

  beforeAll(async () => {
    h = await openHarness();
  });

  afterAll(async () => {
    if (!h) return;
    await h.warehouse.query(`DROP DATABASE IF EXISTS \`${sourceDb}\``);
    for (const t of ['items', 'events', 'poison']) await h.warehouse.query(`DROP TABLE IF EXISTS \`${t}_${tag}\``);
    await h.postgres.query(`DROP TABLE IF EXISTS public.events_${tag}, public.poison_${tag}`);
    await h.close();
  });

  it('syncs a MySQL table with its types into silver, then only what changed', async () => {
    await h.warehouse.query(`CREATE DATABASE \`${sourceDb}\` CHARACTER SET utf8mb4`);
    await h.warehouse.query(`
      CREATE TABLE \`${sourceDb}\`.items (
        id INT NOT NULL PRIMARY KEY,
        big BIGINT UNSIGNED NULL,
        price DECIMAL(12,3) NULL,
        ratio DOUBLE NULL,
        label VARCHAR(50) CHARACTER SET utf8mb4 NULL,
        body TEXT NULL,
        seen_on DATE NULL,
        raw BLOB NULL,
        flag TINYINT(1) NULL,
        updated_at DATETIME(6) NOT NULL
      )`);
    await h.warehouse.query(
      `INSERT INTO \`${sourceDb}\`.items VALUES
        (1, 18446744073709551615, 1234.567, 0.1, 'Zoë 🚲', 'multi\nline\ttext \\\\ end', '2024-02-29', X'00FF10', 1, '2024-01-01 00:00:00.000001'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 00:00:00.000001'),
        (3, 7, -0.001, -1e300, '東京', '', '1999-12-31', X'', 0, '2024-01-02 10:00:00')`,
    );
    await h.datasets.upsert({
      name: `mysql_${tag}.items`,
      source: { kind: 'mysql', connection: 'local-mysql', table: `${sourceDb}.items`, primaryKey: ['id'], cursor: 'updated_at' },
      target: { table: `items_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
    });
    const columns = ['id', 'big', 'price', 'ratio', 'label', 'body', 'seen_on', 'raw', 'flag', 'updated_at'];
    const first = await h.sync({ dataset: `mysql_${tag}.items`, pageRows: 2 });
    expect(first.rows).toBe(3);
    const source = await mysqlDigest(h.warehouse, `\`${sourceDb}\`.items`, columns, ['id']);
    expect(await mysqlDigest(h.warehouse, `\`items_${tag}\``, columns, ['id'])).toEqual(source);

    await h.warehouse.query(`UPDATE \`${sourceDb}\`.items SET label = 'changed', updated_at = '2024-03-01' WHERE id = 2`);
    await h.warehouse.query(`INSERT INTO \`${sourceDb}\`.items (id, updated_at) VALUES (4, '2024-03-02')`);
    const second = await h.sync({ dataset: `mysql_${tag}.items` });
    expect(second.rows).toBe(2);

    // Each run left its metrics in InfluxDB: rows per run, and null counts per column.
    const flux = (measurement: string, field: string, extra = '') =>
      `from(bucket: "${h.config.influx.bucket}") |> range(start: -1h)
       |> filter(fn: (r) => r._measurement == "${measurement}" and r.dataset == "mysql_${tag}.items" and r._field == "${field}"${extra})
       |> sort(columns: ["_time"])`;
    const query = h.clients.influx.getQueryApi(h.config.influx.org);
    const runs = await query.collectRows<{ _value: number; status: string }>(flux('sync_run', 'rows'));
    expect(runs.map((r) => [r._value, r.status])).toEqual([
      [3, 'succeeded'],
      [2, 'succeeded'],
    ]);
    const labelNulls = await query.collectRows<{ _value: number }>(flux('sync_column', 'nulls', ' and r.column == "label"'));
    expect(labelNulls.map((r) => r._value)).toEqual([1, 1]); // row 2 first, then the new row 4
    expect(await mysqlDigest(h.warehouse, `\`items_${tag}\``, columns, ['id'])).toEqual(
      await mysqlDigest(h.warehouse, `\`${sourceDb}\`.items`, columns, ['id']),
    );
  });

  it('syncs a declared query and a window of it, leaving the watermark alone for the window', async () => {
    await h.postgres.query(`
      CREATE TABLE public.events_${tag} AS
        SELECT g AS id, timestamp '2024-01-01' + g * interval '1 hour' AS at, 'event ' || g AS name
        FROM generate_series(1, 100) g`);
    await h.datasets.upsert({
      name: `pg_${tag}.events`,
      source: {
        kind: 'postgres',
        connection: 'local-postgres',
        query: `SELECT id, at, upper(name) AS name FROM public.events_${tag} WHERE id % 2 = 0`,
        primaryKey: ['id'],
        cursor: 'at',
      },
      target: { table: `events_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
    });
    const window = await h.sync({ dataset: `pg_${tag}.events`, window: { from: '2024-01-02 00:00:00', to: '2024-01-03 00:00:00' } });
    expect(window.rows).toBe(12); // hours 24..47, even ids only
    expect(window.watermark).toBeNull();
    // The same window written with a zone: normalised to UTC before the query sees it.
    const zoned = await h.sync({ dataset: `pg_${tag}.events`, window: { from: '2024-01-02T01:00:00+01:00', to: '2024-01-03' } });
    expect(zoned.rows).toBe(12);
    const numeric = await failureOf(h.sync({ dataset: `pg_${tag}.events`, window: { from: 1, to: 50 } }));
    expect([numeric.nonRetryable, numeric.type]).toEqual([true, 'InvalidInput']);
    expect(numeric.message).toContain(`window.from: the cursor at of pg_${tag}.events is a timestamp column`);
    const all = await h.sync({ dataset: `pg_${tag}.events` });
    expect(all.rows).toBe(50);
    const [rows] = await h.warehouse.query<RowDataPacket[]>(`SELECT name FROM \`events_${tag}\` WHERE id = 24`);
    expect(rows[0]?.name).toBe('EVENT 24');
  });

  it('quarantines rows silver cannot hold, with a count, and keeps the rest', async () => {
    await h.postgres.query(`
      CREATE TABLE public.poison_${tag} (id int PRIMARY KEY, at timestamp, amount float8);
      INSERT INTO public.poison_${tag} VALUES (1, '2024-01-01', 1.5), (2, 'infinity', 2.5), (3, '2024-01-03', 'NaN'), (4, '2024-01-04', 4)`);
    await h.datasets.upsert({
      name: `pg_${tag}.poison`,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.poison_${tag}`, primaryKey: ['id'] },
      target: { table: `poison_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
    });
    const result = await h.sync({ dataset: `pg_${tag}.poison`, mode: 'full' });
    expect([result.rows, result.quarantined]).toEqual([2, 2]);
    const [ids] = await h.warehouse.query<RowDataPacket[]>(`SELECT id FROM \`poison_${tag}\` ORDER BY id`);
    expect(ids.map((r) => Number(r.id))).toEqual([1, 4]);
    const [run] = await h.clients.catalog.query<RowDataPacket[]>('SELECT rows_quarantined FROM sync_runs WHERE sync_run_id = ?', [
      result.syncRunId,
    ]);
    expect(Number(run[0]?.rows_quarantined)).toBe(2);
    const [entry] = await h.clients.catalog.query<RowDataPacket[]>('SELECT quarantine_key FROM sync_manifest WHERE sync_run_id = ?', [
      result.syncRunId,
    ]);
    const quarantined = (await createBronzeStore(h.clients.minio, h.config.minio.bronzeBucket).get(entry[0]!.quarantine_key))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { row: { id: string }; reason: string });
    expect(quarantined.map((q) => [q.row.id, q.reason])).toEqual([
      ['2', 'at: timestamp outside 1000-01-01 … 9999-12-31 (infinity)'],
      ['3', 'amount: not a finite number (NaN)'],
    ]);
  });

  it('rejects malformed input at once, without retries, naming the field', async () => {
    const bad = await failureOf(h.sync({ dataset: 'Not A Name', pageRows: -1 }));
    expect(bad.nonRetryable).toBe(true);
    expect(bad.type).toBe('InvalidInput');
    expect(bad.message).toMatch(/dataset: must be lower-case words/);
    expect(bad.message).toMatch(/pageRows:/);

    const unknown = await failureOf(h.sync({ dataset: `nothing_${tag}.here` }));
    expect(unknown.type).toBe('UnknownDataset');
    expect(unknown.message).toContain(`unknown dataset "nothing_${tag}.here"`);

    const noCursor = await failureOf(h.sync({ dataset: `pg_${tag}.poison` }));
    expect(noCursor.message).toContain('declares no cursor column');
  });

  it('fails a run whose connection secret is missing, and says which variable to set', async () => {
    await h.datasets.upsert({
      name: `pg_${tag}.secret`,
      source: { kind: 'postgres', connection: 'warehouse-replica', table: 'public.anything', primaryKey: ['id'] },
      target: { table: `secret_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
    });
    const failure = await failureOf(h.sync({ dataset: `pg_${tag}.secret`, mode: 'full' }));
    expect(failure.message).toContain('set SPOKEFLOW_SOURCE_WAREHOUSE_REPLICA_URL');
  });

  it('fails at once, without retries, when the declared table is gone from the source', async () => {
    for (const [kind, connection] of [
      ['postgres', 'local-postgres'],
      ['mysql', 'local-mysql'],
    ] as const) {
      await h.datasets.upsert({
        name: `${kind}_${tag}.dropped`,
        source: {
          kind,
          connection,
          table: kind === 'postgres' ? `public.dropped_${tag}` : `${sourceDb}.dropped`,
          primaryKey: ['id'],
          cursor: 'updated_at',
        },
        target: { table: `dropped_${kind}_${tag}` },
        owner: 'ops@example.com',
        team: 'platform',
      });
      const failure = await failureOf(h.sync({ dataset: `${kind}_${tag}.dropped` }));
      expect(failure).toMatchObject({ type: 'SourceSchemaError', nonRetryable: true });
      expect(failure.message).toContain(`source of ${kind}_${tag}.dropped:`);
      expect(failure.message).toMatch(/dropped/);
    }
  });
});

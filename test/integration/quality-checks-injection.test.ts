import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckResultStore } from '../../activities/catalog/check-results.js';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import { createCheckMetrics } from '../../activities/metrics/check-metrics.js';
import { createCheckSamples } from '../../activities/objects/check-samples.js';
import { createChecksActivities } from '../../activities/quality/checks.js';
import { createClients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';

const HOSTILE_NAME = 'a`; DROP TABLE canary; -- \'"';

describe('injection through check declarations, against the real MariaDB', () => {
  const tag = `inj${randomUUID().slice(0, 8)}`;
  const dataset = `${tag}.orders`;
  const config = loadConfig();
  const clients = createClients(config);
  const silverDb = config.mysql.silverDatabase;
  const table = (name: string) => `\`${silverDb}\`.\`${tag}_${name}\``;
  // The apply path: declarations validated by zod, then their columns against silver.
  const catalog = createDatasetCatalog(clients.catalog, { silverDatabase: silverDb });
  const declaration = (checks: unknown[], description = 'orders') => ({
    name: dataset,
    source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders', primaryKey: ['id'] },
    target: { table: `${tag}_orders` },
    owner: 'o@example.com',
    team: 'platform',
    description,
    checks,
  });
  const canary = async () => {
    const [rows] = await clients.catalog.query<RowDataPacket[]>(`SELECT id, note FROM ${table('canary')} ORDER BY id`);
    return rows.map((r) => [Number(r.id), r.note as string]);
  };
  const orders = async () => {
    const [rows] = await clients.catalog.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', id, status, note))) AS h FROM ${table('orders')}`,
    );
    return [Number(rows[0]!.n), String(rows[0]!.h)];
  };
  const acts = createChecksActivities({
    catalog: clients.catalog,
    silverDatabase: silverDb,
    silverSite: { store: 'MySQL silver', address: `${config.mysql.host}:${config.mysql.port}`, database: silverDb, setting: 'MYSQL_*' },
    samples: createCheckSamples(clients.minio, config.minio.bronzeBucket),
    metrics: createCheckMetrics(clients.influx, config.influx.org, config.influx.bucket),
    ownerSqlTimeoutSeconds: 10,
  });
  let before: { canary: unknown; orders: unknown };

  beforeAll(async () => {
    const db = clients.catalog;
    const bookkeeping = '`_spokeflow_run` VARCHAR(64) NOT NULL DEFAULT "t", `_spokeflow_loaded_at` DATETIME(6) NOT NULL DEFAULT NOW(6)';
    await db.query(`CREATE TABLE ${table('canary')} (id INT PRIMARY KEY, note VARCHAR(50))`);
    await db.query(`INSERT INTO ${table('canary')} VALUES (1, 'untouched')`);
    await db.query(
      `CREATE TABLE ${table('orders')} (id INT PRIMARY KEY, status VARCHAR(50) NULL, note VARCHAR(50) NULL, at DATETIME NULL, ${bookkeeping})`,
    );
    await db.query(`INSERT INTO ${table('orders')} (id, status, note, at) VALUES ?`, [
      [
        [1, 'open', 'plain', '2025-01-01 00:00:00'],
        [2, "it's", "quote ' inside", '2025-01-01 00:00:00'],
        [3, 'back\\slash', 'back\\slash', '2025-01-01 00:00:00'],
        [4, 'closed', 'plain2', '2025-01-01 00:00:00'],
        [5, null, null, null],
      ],
    ]);
    before = { canary: await canary(), orders: await orders() };
  });

  afterAll(async () => {
    await clients.catalog.query('DELETE FROM check_results WHERE dataset = ?', [dataset]);
    await clients.catalog.query('DELETE FROM datasets WHERE name = ?', [dataset]);
    await clients.catalog.query(`DROP TABLE IF EXISTS ${table('orders')}, ${table('canary')}`);
    await clients.close();
  });

  // Each identifier field and each owner query that tries to write, applied as an operator would.
  it.each([
    ['column', { kind: 'not_null', column: HOSTILE_NAME }],
    ['columns.0', { kind: 'unique', columns: [HOSTILE_NAME] }],
    ['column', { kind: 'accepted_values', column: 'status`)', values: ['x'] }],
    ['column', { kind: 'range', column: 'note;', min: 0 }],
    ['column', { kind: 'regex', column: "note'", pattern: 'x' }],
    ['column', { kind: 'freshness', column: 'at) FROM canary', max_age: '1h' }],
    ['max_age', { kind: 'freshness', column: 'at', max_age: '1 HOUR); DROP TABLE canary' }],
    ['columns.0.name', { kind: 'schema', columns: [{ name: HOSTILE_NAME }] }],
    ['columns.0.type', { kind: 'schema', columns: [{ name: 'id', type: "int'; DROP TABLE canary" }] }],
    ['column', { kind: 'relationship', column: HOSTILE_NAME, to: { dataset: 'x.y', column: 'id' } }],
    ['to.dataset', { kind: 'relationship', column: 'id', to: { dataset: 'x`.`canary', column: 'id' } }],
    ['to.column', { kind: 'relationship', column: 'id', to: { dataset: dataset, column: 'id` OR 1=1 OR `id' } }],
    ['query', { kind: 'sql', query: `INSERT INTO ${table('canary')} VALUES (2, 'x')` }],
    ['query', { kind: 'sql', query: `DROP TABLE ${table('canary')}` }],
    ['query', { kind: 'sql', query: `SELECT * FROM {{table}}; DROP TABLE ${table('canary')}` }],
    ['query', { kind: 'sql', query: `SELECT * FROM {{table}} INTO OUTFILE '/tmp/${tag}'` }],
    ['query', { kind: 'sql', query: `SELECT 1) AS a UNION SELECT 1 FROM (SELECT 1` }],
    ['id', { kind: 'not_null', column: 'id', id: "x'); DROP TABLE canary; --" }],
  ])('refuses at apply time a hostile %s (%j), naming the field; nothing changes', async (field, check) => {
    const raw = { id: 'hostile', severity: 'error', ...check };
    await expect(catalog.upsert(declaration([raw]))).rejects.toThrow(`checks.0.${field}:`);
    const [rows] = await clients.catalog.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM datasets WHERE name = ?', [dataset]);
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await canary()).toEqual(before.canary);
  });

  it('binds hostile values (quotes, backslashes, SQL in strings) so they match as text and nothing is altered', async () => {
    const checks = [
      {
        id: 'status_values',
        kind: 'accepted_values',
        severity: 'error',
        column: 'status',
        values: ['open', "it's", 'back\\slash', `a'); DROP TABLE ${table('canary')}; --`],
        description: `'); DROP TABLE ${table('canary')}; --`,
      },
      // Notes without a quote or a backslash: rows 2 and 3 fail.
      { id: 'note_plain', kind: 'regex', severity: 'error', column: 'note', pattern: "^[^'\\\\]*$" },
      // Below "quote ' inside" in the table's collation: back\slash, plain, plain2.
      { id: 'note_range', kind: 'range', severity: 'error', column: 'note', min: "quote ' inside" },
      { id: 'status_range', kind: 'range', severity: 'error', column: 'status', max: "zzz' OR '1'='1" },
      {
        id: 'own_sql',
        kind: 'sql',
        severity: 'warn',
        query: "SELECT id FROM {{table}} WHERE note = 'quote '' inside' OR note LIKE '%\\\\\\\\%'",
      },
    ];
    expect(await catalog.upsert(declaration(checks, `"; DROP TABLE canary; --`))).toMatchObject({ changed: true });
    const runId = `inj-${tag}`;
    const summary = await acts.runDatasetChecks({ runId, dataset, startedAtMs: Date.now() });
    expect(summary).toMatchObject({ checks: 5, errored: 0 });
    const results = await createCheckResultStore(clients.catalog).ofRun(runId, dataset);
    expect(Object.fromEntries(results.map((r) => [r.checkId, r.failing]))).toEqual({
      status_values: 1, // closed
      note_plain: 2,
      note_range: 3,
      status_range: 0,
      own_sql: 2,
    });
    expect(await canary()).toEqual(before.canary);
    expect(await orders()).toEqual(before.orders);
  });

  it('refuses a declaration forged in the catalog past validation when its checks run', async () => {
    const forged = declaration([{ id: 'forged', kind: 'not_null', severity: 'error', blocking: false, column: HOSTILE_NAME }]);
    await clients.catalog.query('UPDATE datasets SET declaration = ? WHERE name = ?', [JSON.stringify(forged), dataset]);
    await expect(acts.runDatasetChecks({ runId: `forged-${tag}`, dataset, startedAtMs: Date.now() })).rejects.toThrow(
      `invalid stored declaration of ${dataset}: checks.0.column: must be a plain SQL identifier`,
    );
    expect(await canary()).toEqual(before.canary);
    expect(await orders()).toEqual(before.orders);
  });
});

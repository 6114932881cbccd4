import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parquetReadObjects } from 'hyparquet';
import type { RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckResultStore, type StoredCheckResult } from '../../activities/catalog/check-results.js';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import { createSilverChecks } from '../../activities/catalog/silver-checks.js';
import { createCheckMetrics } from '../../activities/metrics/check-metrics.js';
import { createBronzeStore } from '../../activities/objects/bronze.js';
import { createCheckSamples } from '../../activities/objects/check-samples.js';
import { createChecksActivities } from '../../activities/quality/checks.js';
import type { QualityChecksResult } from '../../common/checks.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { CHINOOK_KEYS as KEYS, chinookFixture, type Check } from '../support/chinook.js';
import { openHarness, type Harness } from '../support/harness.js';

const run = promisify(execFile);

/** The CLI as an operator runs it: exit code and both streams. */
async function spokeflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run(process.execPath, ['bin/spokeflow.js', ...args])) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('data-quality checks on the Chinook tables, with planted violations', () => {
  const tag = `q${randomUUID().slice(0, 8)}`;
  const team = `music-${tag}`;
  const chinook = chinookFixture(tag, team);
  const { schema, dataset, target } = chinook;
  const checks: Record<string, Check[]> = {
    customer: [
      { id: 'customer_email_unique', kind: 'unique', severity: 'error', blocking: true, columns: ['email'] },
      { id: 'customer_first_name_not_null', kind: 'not_null', severity: 'error', column: 'first_name' },
      { id: 'customer_count', kind: 'row_count', severity: 'warn', min: 50, max: 100 },
      {
        id: 'customer_support_rep_fk',
        kind: 'relationship',
        severity: 'error',
        column: 'support_rep_id',
        to: { dataset: dataset('employee'), column: 'employee_id' },
      },
    ],
    invoice: [
      {
        id: 'invoice_customer_fk',
        kind: 'relationship',
        severity: 'error',
        column: 'customer_id',
        to: { dataset: dataset('customer'), column: 'customer_id' },
      },
      {
        id: 'invoice_schema',
        kind: 'schema',
        severity: 'error',
        columns: [
          { name: 'invoice_id', type: 'int32' },
          { name: 'total', type: 'decimal' },
        ],
      },
      { id: 'invoice_fresh', kind: 'freshness', severity: 'warn', column: 'invoice_date', max_age: '2d' },
      { id: 'invoice_total_range', kind: 'range', severity: 'error', column: 'total', min: 0 },
      { id: 'invoice_no_negative_sql', kind: 'sql', severity: 'warn', query: 'SELECT invoice_id FROM {{table}} WHERE total < 0' },
    ],
    invoice_line: [
      {
        id: 'invoice_line_invoice_fk',
        kind: 'relationship',
        severity: 'error',
        column: 'invoice_id',
        to: { dataset: dataset('invoice'), column: 'invoice_id' },
      },
      { id: 'invoice_line_price_range', kind: 'range', severity: 'error', column: 'unit_price', min: 0, max: 2 },
      { id: 'invoice_line_quantity_values', kind: 'accepted_values', severity: 'warn', column: 'quantity', values: [1] },
    ],
    employee: [
      { id: 'employee_hired_recently', kind: 'freshness', severity: 'warn', column: 'hire_date', max_age: '1d' },
      { id: 'employee_last_name_not_null', kind: 'not_null', severity: 'error', column: 'last_name' },
    ],
  };
  const FAILING: Record<string, number> = {
    customer_email_unique: 2,
    customer_first_name_not_null: 1,
    invoice_customer_fk: 1,
    invoice_line_price_range: 1,
    employee_hired_recently: 1,
  };
  let h: Harness;
  let q: Harness;
  let result: QualityChecksResult;
  /** spokeflow_checks_failed_total of this file's datasets, summed by `dataset severity`. */
  const checksFailed = async () => {
    const counts: Record<string, number> = {};
    for (const s of await h.metrics()) {
      if (s.name !== SPOKEFLOW_METRICS.checksFailed.name || !s.labels.dataset?.includes(tag)) continue;
      const key = `${s.labels.dataset} ${s.labels.severity}`;
      counts[key] = (counts[key] ?? 0) + s.value;
    }
    return counts;
  };
  let failedBefore: Record<string, number>;

  const declaration = (table: string, extra: Check[] = []) => chinook.declaration(table, [...checks[table]!, ...extra]);

  beforeAll(async () => {
    h = await openHarness({ prometheus: true });
    q = await openHarness({ domain: 'quality' });
    await chinook.load(h.postgres);
    // The violations, planted in the source as a careless upstream would (a NOT NULL dropped first).
    await h.postgres.query(`
      SET search_path TO "${schema}";
      ALTER TABLE customer ALTER COLUMN first_name DROP NOT NULL;
      UPDATE customer SET email = (SELECT email FROM customer WHERE customer_id = 1) WHERE customer_id = 2;
      UPDATE customer SET first_name = NULL WHERE customer_id = 5;
      INSERT INTO invoice (invoice_id, customer_id, invoice_date, billing_city, total) VALUES (413, 9999, now() AT TIME ZONE 'UTC', 'Nowhere', 1.98);
      UPDATE invoice_line SET unit_price = 25.00 WHERE invoice_line_id = 1;`);
    // Synced before the checks are declared: a sync of a dataset with checks starts them on the
    // shared quality queue by itself, and this file runs its own.
    for (const table of Object.keys(KEYS)) {
      await h.datasets.upsert({ ...declaration(table), checks: [] });
      await h.sync({ dataset: dataset(table), mode: 'full' });
    }
    for (const table of Object.keys(KEYS)) await h.datasets.upsert(declaration(table));
    failedBefore = await checksFailed();
    result = await q.client.workflow.execute('qualityChecksWorkflow', {
      taskQueue: q.taskQueue,
      workflowId: `test-quality-checks-${tag}`,
      args: [{ team }],
    });
  }, 240_000);

  afterAll(async () => {
    if (!h) return;
    await chinook.drop(h.postgres, h.warehouse, Object.keys(KEYS));
    await q?.close();
    await h.close();
  });

  const resultsOf = (runId: string) => createCheckResultStore(q.clients.catalog).ofRun(runId);

  it("counts the run's failed checks on the worker's /metrics, by dataset and severity", async () => {
    const after = await checksFailed();
    const added = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (failedBefore[k] ?? 0)]));
    // The duplicated email and the null first name; the dangling invoice; the 25.00 price; the stale employee table (warn).
    expect(added).toEqual({
      [`${dataset('customer')} error`]: 2,
      [`${dataset('invoice')} error`]: 1,
      [`${dataset('invoice_line')} error`]: 1,
      [`${dataset('employee')} warn`]: 1,
    });
  });

  it('fails exactly the planted violations, with their counts; every other check passes', async () => {
    expect(result.unchecked).toEqual([]);
    expect([result.checks, result.failed, result.errored]).toEqual([14, 5, 0]);
    expect(result.blockingFailed).toEqual([`${dataset('customer')}/customer_email_unique`]);
    const stored = await resultsOf(result.runId);
    expect(stored).toHaveLength(14);
    const failing = Object.fromEntries(stored.filter((r) => r.status === 'failed').map((r) => [r.checkId, r.failing]));
    expect(failing).toEqual(FAILING);
    expect(stored.filter((r) => r.status === 'passed').every((r) => r.failing === 0)).toBe(true);
    const byId = new Map(stored.map((r) => [r.checkId, r]));
    expect(byId.get('customer_email_unique')!.ratio).toBeCloseTo(2 / 59, 6);
    expect(byId.get('customer_count')!.observed).toBe(59);
    expect(byId.get('employee_hired_recently')!.observed).toBeGreaterThan(365 * 86_400); // hired in 2002–2004
    expect(byId.get('invoice_fresh')!.observed).toBeLessThan(2 * 86_400); // the planted invoice is new
    // The query kept with a result is one an operator can paste: values inlined, identifiers quoted.
    expect(byId.get('invoice_line_price_range')!.query).toBe(
      `SELECT COUNT(*) AS failing FROM \`${q.config.mysql.silverDatabase}\`.\`${target('invoice_line')}\` WHERE \`unit_price\` IS NOT NULL AND (\`unit_price\` < 0 OR \`unit_price\` > 2)`,
    );
    const [[count]] = await h.warehouse.query<RowDataPacket[]>(byId.get('invoice_line_price_range')!.query!);
    expect(Number(count!.failing)).toBe(1);
  });

  it('keeps the failing rows of each failed row check in MinIO as Parquet, primary key first', async () => {
    const stored = await resultsOf(result.runId);
    const bronze = createBronzeStore(q.clients.minio, q.config.minio.bronzeBucket);
    const sample = async (id: string) => {
      const r = stored.find((s) => s.checkId === id)!;
      expect(r.sampleKey, `${id} links its sample`).toBe(`_checks/${r.dataset}/${result.runId}/${id}.parquet`);
      const file = await bronze.get(r.sampleKey!);
      return parquetReadObjects({ file: new Uint8Array(file).buffer });
    };
    const duplicates = await sample('customer_email_unique');
    expect(duplicates.map((r) => [r.customer_id, r.email])).toEqual([
      [1, 'luisg@embraer.com.br'],
      [2, 'luisg@embraer.com.br'],
    ]);
    expect((await sample('customer_first_name_not_null')).map((r) => [r.customer_id, r.first_name])).toEqual([[5, null]]);
    expect((await sample('invoice_customer_fk')).map((r) => [r.invoice_id, r.customer_id])).toEqual([[413, 9999]]);
    expect((await sample('invoice_line_price_range')).map((r) => [r.invoice_line_id, r.unit_price])).toEqual([[1, '25.00']]);
    // A freshness failure has no rows to show; passed checks keep none.
    expect(
      stored
        .filter((r) => r.sampleKey)
        .map((r) => r.checkId)
        .sort(),
    ).toEqual(['customer_email_unique', 'customer_first_name_not_null', 'invoice_customer_fk', 'invoice_line_price_range']);
  });

  it('writes a check_result point per check to InfluxDB', async () => {
    const rows = await q.clients.influx.getQueryApi(q.config.influx.org).collectRows<{ check: string; _value: number }>(
      `from(bucket: "${q.config.influx.bucket}") |> range(start: -1h)
       |> filter(fn: (r) => r._measurement == "check_result" and r.team == "${team}" and r._field == "failing")`,
    );
    const failing = Object.fromEntries(rows.filter((r) => r._value > 0).map((r) => [r.check, r._value]));
    expect(failing).toEqual(FAILING);
    expect(new Set(rows.map((r) => r.check)).size).toBe(14);
  });

  it('is idempotent per run and check, and keeps the history of runs', async () => {
    const acts = checksActivities();
    const runId = `rerun-${tag}`;
    const args = { runId, dataset: dataset('customer'), startedAtMs: Date.now() };
    const first = await acts.runDatasetChecks(args);
    const again = await acts.runDatasetChecks(args);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ checks: 4, passed: 2, failed: 2, errored: 0, blockingFailed: ['customer_email_unique'] });
    expect(await resultsOf(runId)).toHaveLength(4);
    const [history] = await q.clients.catalog.query<RowDataPacket[]>(
      'SELECT COUNT(DISTINCT run_id) AS runs FROM check_results WHERE dataset = ? AND check_id = ?',
      [dataset('customer'), 'customer_email_unique'],
    );
    expect(Number(history[0]!.runs)).toBe(2);
    const latest = await createCheckResultStore(q.clients.catalog).latest(dataset('customer'));
    expect(latest.map((r: StoredCheckResult) => [r.checkId, r.runId])).toEqual(
      ['customer_count', 'customer_email_unique', 'customer_first_name_not_null', 'customer_support_rep_fk'].map((id) => [id, runId]),
    );
  });

  it('counts the same whether unique and relationship walk the indexes that applying the checks adds or scan the table', async () => {
    const silverDb = q.config.mysql.silverDatabase;
    const indexNames = async () => {
      const [rows] = await q.clients.catalog.query<RowDataPacket[]>(
        "SELECT DISTINCT INDEX_NAME AS ix FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME LIKE 'spokeflow\\_checks\\_%'",
        [silverDb, target('customer')],
      );
      return rows.map((r) => r.ix as string);
    };
    const failingOf = async (runId: string) => Object.fromEntries((await resultsOf(runId)).map((r) => [r.checkId, [r.status, r.failing]]));
    const args = (runId: string) => ({ runId, dataset: dataset('customer'), startedAtMs: Date.now() });
    // The harness's catalog knows no silver database: so far the checks have scanned.
    expect(await indexNames()).toEqual([]);
    await checksActivities().runDatasetChecks(args(`scanned-${tag}`));
    // Applied as `spokeflow datasets apply` does: email (unique) and support_rep_id (relationship) get an index.
    await createDatasetCatalog(q.clients.catalog, { silverDatabase: silverDb }).upsert(declaration('customer'));
    expect(await indexNames()).toHaveLength(2);
    await checksActivities().runDatasetChecks(args(`indexed-${tag}`));
    const expected = {
      customer_email_unique: ['failed', 2],
      customer_first_name_not_null: ['failed', 1],
      customer_count: ['passed', 0],
      customer_support_rep_fk: ['passed', 0],
    };
    expect(await failingOf(`scanned-${tag}`)).toEqual(expected);
    expect(await failingOf(`indexed-${tag}`)).toEqual(expected);
    // The indexed relationship found no orphan value, so its exact count never ran.
    const fk = (await resultsOf(`indexed-${tag}`)).find((r) => r.checkId === 'customer_support_rep_fk')!;
    expect(fk.query).toMatch(/^SELECT COUNT\(\*\) AS orphans FROM \(SELECT DISTINCT `support_rep_id`/);
  });

  it("runs an owner's sql read-only and under a statement timeout", async () => {
    const silver = createSilverChecks(q.clients.catalog);
    const table = `\`${q.config.mysql.silverDatabase}\`.\`${target('customer')}\``;
    await expect(
      silver.readOnly(5, (c) => c.one({ sql: `INSERT INTO ${table} (customer_id) VALUES (?)`, params: [100_000] })),
    ).rejects.toMatchObject({ code: 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION' });

    // A slow owner query errors (it does not fail the run or hang it); the rest of the dataset's checks still run.
    const slow: Check = {
      id: 'customer_slow_sql',
      kind: 'sql',
      severity: 'warn',
      query: 'SELECT customer_id FROM {{table}} WHERE SLEEP(0.2) = 1',
    };
    await h.datasets.upsert(declaration('customer', [slow]));
    const summary = await checksActivities(1).runDatasetChecks({
      runId: `slow-${tag}`,
      dataset: dataset('customer'),
      startedAtMs: Date.now(),
    });
    expect(summary).toMatchObject({ checks: 5, passed: 2, failed: 2, errored: 1 });
    const slowResult = (await resultsOf(`slow-${tag}`)).find((r) => r.checkId === 'customer_slow_sql')!;
    expect([slowResult.status, slowResult.error]).toEqual(['errored', 'the query ran longer than the statement timeout of 1 s']);
    // The pooled connection went back without the timeout: a long statement still runs on it.
    const [[slept]] = await q.clients.catalog.query<RowDataPacket[]>('SELECT SLEEP(1.2) AS s');
    expect(Number(slept!.s)).toBe(0);
  });

  it('refuses at apply time a check that names a column the silver table lacks, naming check and column', async () => {
    const file = join(tmpdir(), `checks-${tag}.yaml`);
    const typo: Check = { id: 'customer_mail_not_null', kind: 'not_null', severity: 'error', column: 'e_mail' };
    writeFileSync(file, stringify([declaration('customer', [typo])]));
    const refused = await spokeflow('datasets', 'apply', file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `spokeflow: invalid dataset declaration ${dataset('customer')}: checks.4.column: check customer_mail_not_null names column e_mail, which silver table ${target('customer')} does not have`,
    );
    const badTarget: Check = {
      id: 'invoice_rep_fk',
      kind: 'relationship',
      severity: 'error',
      column: 'customer_id',
      to: { dataset: dataset('customer'), column: 'id' },
    };
    writeFileSync(file, stringify([declaration('invoice', [badTarget])]));
    expect((await spokeflow('datasets', 'apply', file)).stderr).toContain(
      `checks.5.to.column: check invoice_rep_fk names column id of ${dataset('customer')}, which silver table ${target('customer')} does not have`,
    );
    writeFileSync(file, stringify([declaration('invoice')]));
    expect((await spokeflow('datasets', 'apply', file)).stdout).toContain(`unchanged ${dataset('invoice')}`);
  });

  it("lists and runs a dataset's checks from the CLI, with clear refusals", async () => {
    const listed = await spokeflow('checks', 'list', dataset('invoice_line'));
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/invoice_line_price_range +range +error +failed +1 +unit_price in \[0, 2\]/);
    expect(listed.stdout).toMatch(/invoice_line_invoice_fk +relationship +error +passed +0 /);

    const ran = await spokeflow('checks', 'run', dataset('invoice_line'), '--task-queue', q.taskQueue);
    expect(ran.code).toBe(1); // an error-severity check failed
    expect(ran.stdout).toContain(`started quality-checks:${dataset('invoice_line')}`);
    expect(ran.stdout).toMatch(/3 checks: 2 passed, 1 failed, 0 errored \(run [0-9a-f-]{36}\)/);
    expect(ran.stdout).toMatch(/invoice_line_price_range +range +error +failed +1 .*sample _checks\//);

    const only = await spokeflow(
      'checks',
      'run',
      dataset('invoice_line'),
      '--check',
      'invoice_line_quantity_values',
      '--task-queue',
      q.taskQueue,
    );
    expect([only.code, only.stderr]).toEqual([0, '']);
    expect(only.stdout).toMatch(/1 checks: 1 passed, 0 failed, 0 errored/);

    const typo = await spokeflow('checks', 'run', dataset('invoice_line'), '--check', 'invoice_line_price', '--task-queue', q.taskQueue);
    expect(typo.stderr.trim()).toBe(
      `spokeflow: --check invoice_line_price: not declared on ${dataset('invoice_line')} (it declares invoice_line_invoice_fk, invoice_line_price_range, invoice_line_quantity_values)`,
    );
    const unknown = await spokeflow('checks', 'list', `${dataset('invoice_lines')}`);
    expect(unknown.stderr).toContain(`unknown dataset "${dataset('invoice_lines')}": did you mean ${dataset('invoice_line')}`);
  });

  function checksActivities(ownerSqlTimeoutSeconds?: number) {
    const { config, clients } = q;
    return createChecksActivities({
      catalog: clients.catalog,
      silverDatabase: config.mysql.silverDatabase,
      silverSite: {
        store: 'MySQL silver',
        address: `${config.mysql.host}:${config.mysql.port}`,
        database: config.mysql.silverDatabase,
        setting: 'MYSQL_*',
      },
      samples: createCheckSamples(clients.minio, config.minio.bronzeBucket),
      metrics: createCheckMetrics(clients.influx, config.influx.org, config.influx.bucket),
      ...(ownerSqlTimeoutSeconds ? { ownerSqlTimeoutSeconds } : {}),
    });
  }
});

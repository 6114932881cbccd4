import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckResultStore, type StoredCheckResult } from '../../activities/catalog/check-results.js';
import type { HealthScoringResult } from '../../common/health.js';
import { sqlTime } from '../../common/time.js';
import { openHarness, type Harness } from '../support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("health scoring's checks component on the real stack", () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const team = `hc-${tag}`;
  const orders = `hc_${tag}.orders`;
  const plain = `hc_${tag}.plain`;
  const unrun = `hc_${tag}.unrun`;
  const names = [orders, plain, unrun];
  // Yesterday (UTC) is scored as of its end; results are placed relative to that instant.
  const end = Math.floor(Date.now() / DAY) * DAY;
  const day = new Date(end - DAY).toISOString().slice(0, 10);
  const orderChecks = [
    { id: 'orders_status_values', kind: 'accepted_values', column: 'status', values: ['new', 'paid'], severity: 'error' },
    { id: 'orders_customer_fk', kind: 'not_null', column: 'customer_id', severity: 'warn' },
    { id: 'orders_not_null', kind: 'not_null', column: 'id', severity: 'error' },
    { id: 'orders_unique', kind: 'unique', columns: ['id'], severity: 'error' },
    ...['a', 'b', 'c', 'd', 'e'].map((x) => ({ id: `orders_${x}`, kind: 'not_null', column: x, severity: 'warn' })),
  ];

  let h: Harness;

  const score = async (input: Record<string, unknown>): Promise<HealthScoringResult> =>
    h.client.workflow.execute('healthScoringWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-health-checks-${tag}-${randomUUID().slice(0, 8)}`,
      args: [input],
    });

  async function rowsOf(scoredDay: string): Promise<Map<string, Record<string, unknown>>> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT dataset, score, checks, failing_checks, components FROM health_scores WHERE dataset IN (?) AND day = ?',
      [names, scoredDay],
    );
    return new Map(
      rows.map((r) => [
        r.dataset as string,
        { ...r, components: typeof r.components === 'string' ? JSON.parse(r.components) : r.components },
      ]),
    );
  }

  beforeAll(async () => {
    h = await openHarness({ domain: 'quality' });
    const declare = (name: string, checks: unknown[]) =>
      h.datasets.upsert({
        name,
        source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders', primaryKey: ['id'] },
        target: { table: name.replace('.', '_') },
        owner: 'ana@example.com',
        team,
        description: 'Every order placed in the web shop, one row per order, updated as it ships.',
        tags: ['sales'],
        ...(checks.length ? { checks } : {}),
      });
    await declare(orders, orderChecks);
    await declare(plain, []);
    await declare(unrun, [{ id: 'unrun_id', kind: 'not_null', column: 'id', severity: 'error' }]);

    // History as qualityChecksWorkflow leaves it, one row per run and check, at chosen instants.
    const result = (runId: string, checkId: string, severity: string, status: string, atMs: number) => [
      runId,
      orders,
      team,
      checkId,
      'not_null',
      severity,
      false,
      status,
      status === 'failed' ? 4 : 0,
      sqlTime(atMs),
    ];
    const severityOf = new Map(orderChecks.map((c) => [c.id, c.severity]));
    const rows: unknown[][] = [];
    // Two days back every declared check passed, but orders_unique failed.
    for (const c of orderChecks)
      rows.push(result(`r1-${tag}`, c.id, c.severity, c.id === 'orders_unique' ? 'failed' : 'passed', end - 2 * DAY));
    // Yesterday: status values fail, the fk check errors, unique passes again; the rest pass.
    for (const c of orderChecks) {
      const status = c.id === 'orders_status_values' ? 'failed' : c.id === 'orders_customer_fk' ? 'errored' : 'passed';
      rows.push(result(`r2-${tag}`, c.id, severityOf.get(c.id)!, status, end - 5 * HOUR));
    }
    // A check no longer declared keeps its old failure in the history; it does not count.
    rows.push(result(`r2-${tag}`, 'orders_retired', 'error', 'failed', end - 5 * HOUR));
    await h.clients.catalog.query(
      `INSERT INTO check_results (run_id, dataset, team, check_id, kind, severity, blocking, status, failing_rows, checked_at) VALUES ?`,
      [rows],
    );
    // Today, through the store the checks activity writes with: not_null of id now fails too.
    const today: StoredCheckResult = {
      runId: `r3-${tag}`,
      dataset: orders,
      team,
      checkId: 'orders_not_null',
      kind: 'not_null',
      severity: 'error',
      blocking: false,
      status: 'failed',
      failing: 2,
      ratio: 0.02,
      observed: null,
      details: null,
      query: null,
      durationMs: 5,
      sampleKey: null,
      error: null,
    };
    await createCheckResultStore(h.clients.catalog).record([today]);
  });

  afterAll(async () => {
    if (!h) return;
    await h.clients.catalog.query('DELETE FROM team_health WHERE team = ?', [team]);
    await h.close();
  });

  it("scores each check's latest result as of the day, 25 off per failing error check and 10 per warn, with its reason", async () => {
    const result = await score({ day, team });
    expect(result.datasets).toBe(3);
    const rows = await rowsOf(day);
    expect(rows.get(orders)).toMatchObject({
      // (1.0 × 100 for the other four components + 0.25 × 65) / 1.25
      score: '93.0',
      checks: '65.0',
      failing_checks: 2,
      components: { checks: { score: 65, reason: '2 of 9 checks failing: orders_status_values, orders_customer_fk (errored)' } },
    });
    // No checks, or none run yet: no component (NULL, not 0 or 100), and the other weights share its part.
    for (const name of [plain, unrun]) {
      expect(rows.get(name)).toMatchObject({ score: '100.0', checks: null, failing_checks: null });
      expect(rows.get(name)!.components).not.toHaveProperty('checks');
    }

    const points = await h.clients.influx.getQueryApi(h.config.influx.org).collectRows<{ _field: string; _value: number; dataset: string }>(
      `from(bucket: "${h.config.influx.bucket}") |> range(start: ${new Date(end - DAY).toISOString()}, stop: ${new Date(end).toISOString()})
         |> filter(fn: (r) => r._measurement == "health_score" and r._field == "checks" and r.team == "${team}")`,
    );
    expect(points.map((p) => [p.dataset, p._value])).toEqual([[orders, 65]]);
  });

  it('counts a result recorded today when today is scored, and not in the day before', async () => {
    const result = await score({ team });
    const rows = await rowsOf(result.day);
    expect(rows.get(orders)).toMatchObject({
      checks: '40.0',
      failing_checks: 3,
      components: {
        checks: { score: 40, reason: '3 of 9 checks failing: orders_not_null, orders_status_values, orders_customer_fk (errored)' },
      },
    });
    expect((await rowsOf(day)).get(orders)).toMatchObject({ checks: '65.0', failing_checks: 2 });
  });
});

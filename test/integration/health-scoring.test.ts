import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTime } from '../../common/time.js';
import type { HealthScoringProgress, HealthScoringResult } from '../../common/health.js';
import { SearchAttr } from '../../common/search-attributes.js';
import { openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('health scoring on the real stack', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const team = `health-${tag}`;
  const good = `hs_${tag}.good`;
  const late = `hs_${tag}.late`;
  const flaky = `hs_${tag}.flaky`;
  const names = [good, late, flaky];
  // Yesterday (UTC) is scored as of its end: every fact below is placed relative to that instant.
  const end = Math.floor(Date.now() / DAY) * DAY;
  const day = new Date(end - DAY).toISOString().slice(0, 10);
  const longDescription = 'Every order placed in the web shop, one row per order, updated as it ships.';

  let h: Harness;

  const score = (input: unknown) =>
    h.client.workflow.start('healthScoringWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-health-${tag}-${randomUUID().slice(0, 8)}`,
      args: [input],
    });

  async function scoreRows(): Promise<Record<string, unknown>[]> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT dataset, day, team, score, documentation, freshness, reliability, quality, components, as_of FROM health_scores WHERE dataset IN (?) ORDER BY dataset, day',
      [names],
    );
    return rows.map((r) => ({ ...r, components: typeof r.components === 'string' ? JSON.parse(r.components) : r.components }));
  }

  beforeAll(async () => {
    h = await openHarness({ domain: 'quality' });

    const declare = (name: string, extra: Record<string, unknown>) =>
      h.datasets.upsert({
        name,
        source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders', primaryKey: ['id'] },
        target: { table: name.replace('.', '_') },
        owner: 'ana@example.com',
        team,
        description: longDescription,
        tags: ['sales'],
        ...extra,
      });
    await declare(good, { freshnessSlaHours: 24 });
    await declare(late, { description: '', tags: [], freshnessSlaHours: 24 });
    await declare(flaky, {});

    const runs: unknown[][] = [];
    const run = (dataset: string, status: string, finishedMs: number) =>
      runs.push([
        `${tag}-${runs.length}`,
        dataset,
        `test-${tag}`,
        'incremental',
        status,
        sqlTime(finishedMs - MINUTE),
        sqlTime(finishedMs),
      ]);
    // good: a daily run, the last one 3.5 h before the day's end.
    for (let i = 0; i < 10; i++) run(good, 'succeeded', end - 3.5 * HOUR - (i * DAY) / 2);
    // late: one success 30.5 h before the day's end (SLA 24 h); a run still going counts for nothing.
    run(late, 'succeeded', end - 30.5 * HOUR);
    runs.push([`${tag}-running`, late, `test-${tag}`, 'incremental', 'running', sqlTime(end - 10 * MINUTE), null]);
    // flaky: 3 of 10 runs failed in the last 7 days, 2 of 30 more in the 23 days before; one failure long ago.
    for (let i = 0; i < 10; i++) run(flaky, i < 3 ? 'failed' : 'succeeded', end - HOUR - i * 12 * HOUR);
    for (let i = 0; i < 30; i++) run(flaky, i < 2 ? 'failed' : 'succeeded', end - 8 * DAY - i * 12 * HOUR);
    run(flaky, 'failed', end - 40 * DAY);
    await h.clients.catalog.query(
      'INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, finished_at) VALUES ?',
      [runs],
    );
    // flaky: two open anomalies, one confirmed, one dismissed (resolved, so not counted).
    const anomaly = (at: number, status: string) => [
      flaky,
      'volume',
      'incremental',
      sqlTime(at),
      5_000,
      1_000,
      800,
      1_200,
      0.99,
      'up',
      status,
      `test-${tag}`,
    ];
    await h.clients.catalog.query(
      'INSERT INTO anomalies (dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status, scan_id) VALUES ?',
      [
        [
          anomaly(end - 5 * HOUR, 'open'),
          anomaly(end - 6 * HOUR, 'open'),
          anomaly(end - 7 * HOUR, 'confirmed'),
          anomaly(end - 8 * HOUR, 'dismissed'),
        ],
      ],
    );
  });

  afterAll(async () => {
    if (!h) return;
    for (const table of ['health_scores', 'anomalies', 'sync_runs', 'dataset_columns']) {
      await h.clients.catalog.query(`DELETE FROM ${table} WHERE dataset IN (?)`, [names]);
    }
    await h.clients.catalog.query('DELETE FROM team_health WHERE team = ?', [team]);
    await h.clients.catalog.query('DELETE FROM datasets WHERE name IN (?)', [names]);
    await h.close();
  });

  it('scores each dataset from explained components, aggregates the team, and a re-run of the day leaves the same rows', async () => {
    const handle = await score({ day, team });
    const result: HealthScoringResult = await handle.result();
    expect(result).toEqual({
      day,
      asOf: new Date(end).toISOString(),
      datasets: 3,
      averageScore: 86.9,
      teams: 1,
      worstTeams: [{ team, score: 86.9, datasets: 3, worstDataset: late, worstScore: 74.4 }],
      points: 4,
    });

    const rows = await scoreRows();
    const byName = new Map(rows.map((r) => [r.dataset, r]));
    expect(byName.get(good)).toMatchObject({
      day,
      team,
      score: '100.0',
      components: {
        documentation: { score: 100, reason: 'description, owner and tags present' },
        freshness: { score: 100, reason: 'last successful sync 3 h ago, within SLA 24 h' },
        reliability: { score: 100, reason: 'no failed runs in 30 days (10 runs)' },
        quality: { score: 100, reason: 'no open anomalies' },
      },
    });
    expect(byName.get(late)).toMatchObject({
      score: '74.4',
      components: {
        documentation: { score: 30, reason: 'no description; no tags' },
        freshness: { score: 72.9, reason: 'last successful sync 30 h ago, SLA 24 h' },
        reliability: { score: 100, reason: 'no failed runs in 30 days (1 run)' },
        quality: { score: 100, reason: 'no open anomalies' },
      },
    });
    expect(byName.get(flaky)).toMatchObject({
      score: '86.3',
      components: {
        documentation: { score: 100, reason: 'description, owner and tags present' },
        freshness: { score: 100, reason: 'no freshness SLA declared' },
        reliability: { score: 77, reason: '3 failed runs in 7 days (of 10), 5 in 30 days (of 40)' },
        quality: { score: 60, reason: '3 open anomalies (1 confirmed)' },
      },
    });

    const [teamRows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT day, score, datasets, worst_dataset, worst_score FROM team_health WHERE team = ?',
      [team],
    );
    expect(teamRows).toEqual([{ day, score: '86.9', datasets: 3, worst_dataset: late, worst_score: '74.4' }]);

    const progress = await handle.query<HealthScoringProgress>('progress');
    expect(progress).toEqual({ day, phase: 'done', datasets: 3, scored: 3, teams: 1, points: 4 });
    expect((await handle.describe()).typedSearchAttributes.get(SearchAttr.kind)).toBe('health-scoring');

    const again: HealthScoringResult = await (await score({ day, team })).result();
    expect(again).toEqual(result);
    expect(await scoreRows()).toEqual(rows);
    const [teamAgain] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT day, score, datasets, worst_dataset, worst_score FROM team_health WHERE team = ?',
      [team],
    );
    expect(teamAgain).toEqual(teamRows);

    // One point per dataset and day, at the day's midnight UTC, however often the day is scored.
    const start = new Date(end - DAY).toISOString();
    const points = await h.clients.influx
      .getQueryApi(h.config.influx.org)
      .collectRows<{ _field: string; _value: number; _time: string; team: string }>(
        `from(bucket: "${h.config.influx.bucket}") |> range(start: ${start}, stop: ${new Date(end).toISOString()})
         |> filter(fn: (r) => r._measurement == "health_score" and r.dataset == "${flaky}")`,
      );
    expect(Object.fromEntries(points.map((p) => [p._field, p._value]))).toEqual({
      score: 86.3,
      documentation: 100,
      freshness: 100,
      reliability: 77,
      quality: 60,
    });
    expect(new Set(points.map((p) => Date.parse(p._time)))).toEqual(new Set([end - DAY]));
    expect(new Set(points.map((p) => p.team))).toEqual(new Set([team]));
  });

  it('scores today by default, as of when the run starts', async () => {
    const before = new Date().toISOString().slice(0, 10);
    const result: HealthScoringResult = await (
      await score({ team, weights: { documentation: 1, freshness: 0, reliability: 0, quality: 0 } })
    ).result();
    const after = new Date().toISOString().slice(0, 10);
    expect([before, after]).toContain(result.day);
    expect(result).toMatchObject({ datasets: 3, teams: 1, worstTeams: [{ team, worstDataset: late, worstScore: 30 }] });
  });

  it('rejects bad input at once, naming the field', async () => {
    const err = await (await score({ team, day: '2025-02-30', weights: { quality: -1 } })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { message: string; type?: string; nonRetryable?: boolean };
    expect(cause.type).toBe('InvalidInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('day:');
    expect(cause.message).toContain('weights.quality:');
  });
});

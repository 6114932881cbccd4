import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { QualityActivities } from '../../activities/quality/index.js';
import type { AnomalyScanProgress, AnomalyScanResult, ScanGroupInput, ScanTotals } from '../../common/anomaly-scan.js';
import { eventually, failureOf, searchAttributesOf, suggestContinueAsNewAt, untilCancelled, useStubWorker } from './support/environment.js';

type Stubs = Pick<QualityActivities, 'planScan' | 'scanGroup' | 'finishScan' | 'failScan'>;

const datasets = (n: number) => Array.from({ length: n }, (_, i) => `shop.table_${String(i).padStart(2, '0')}`);
/** What scanning one group finds: per dataset 2 series, 48 points, and one anomaly in the first group. */
const found = (group: ScanGroupInput): ScanTotals => ({
  datasets: group.datasets.length,
  series: 2 * group.datasets.length,
  points: 48 * group.datasets.length,
  anomalies: group.group === 0 ? 1 : 0,
  confirmed: 0,
  suppressed: 0,
  excludedPoints: 0,
});

function stubs(count: number, over: Partial<Stubs> = {}): Stubs {
  return {
    planScan: async ({ scanId, input, window }) => ({
      spec: { scanId, window, metrics: input.metrics, detector: input.detector },
      datasets: datasets(count),
    }),
    scanGroup: async (group) => found(group),
    finishScan: async () => undefined,
    failScan: async () => undefined,
    ...over,
  };
}

describe('anomalyScanWorkflow with stub activities', () => {
  const t = useStubWorker(['planScan', 'scanGroup', 'finishScan', 'failScan'] satisfies (keyof Stubs)[]);
  const start = (input: object, more: object = {}) =>
    t.client.workflow.start('anomalyScanWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('anomaly-scan:test'),
      args: [input],
      ...more,
    });
  const groupsOf = (rec: ReturnType<typeof t.use>) => rec.argsOf('scanGroup').map(([g]) => g as ScanGroupInput);

  it('plans, scans the datasets in groups of datasetsPerActivity, then records the summed counts', async () => {
    const rec = t.use(stubs(5));
    const handle = await start({ team: 'commerce', window: { lastHours: 6 }, trainingDays: 2, datasetsPerActivity: 2 });
    const result = (await handle.result()) as AnomalyScanResult;

    const [plan] = rec.argsOf('planScan')[0] as Parameters<Stubs['planScan']>;
    const { startTime } = await handle.describe();
    const startMs = startTime.getTime();
    expect(plan).toMatchObject({
      scanId: handle.firstExecutionRunId,
      input: { team: 'commerce', metrics: ['volume', 'freshness', 'null_rate', 'duration'] },
    });
    // lastHours counts back from the workflow's start; the training history lies before the window.
    expect(plan.window.toMs).toBeGreaterThanOrEqual(startMs - 1_000);
    expect(plan.window.toMs).toBeLessThanOrEqual(startMs + 1_000);
    expect(plan.window.toMs - plan.window.fromMs).toBe(6 * 3_600_000);
    expect(plan.window.fromMs - plan.window.trainingFromMs).toBe(2 * 86_400_000);
    const groups = groupsOf(rec).sort((a, b) => a.group - b.group);
    expect(groups.map((g) => [g.group, g.datasets])).toEqual([
      [0, ['shop.table_00', 'shop.table_01']],
      [1, ['shop.table_02', 'shop.table_03']],
      [2, ['shop.table_04']],
    ]);
    const totals = { datasets: 5, series: 10, points: 240, anomalies: 1, confirmed: 0, suppressed: 0, excludedPoints: 0 };
    expect(rec.argsOf('finishScan')).toEqual([[{ scanId: handle.firstExecutionRunId, totals }]]);
    expect(result).toEqual({
      scanId: handle.firstExecutionRunId,
      from: new Date(plan.window.fromMs).toISOString(),
      to: new Date(plan.window.toMs).toISOString(),
      groups: 3,
      ...totals,
    });
    expect(await handle.query<AnomalyScanProgress>('progress')).toMatchObject({ phase: 'done', groups: 3, groupsDone: 3, anomalies: 1 });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'anomaly-scan', team: 'commerce', outcome: 'succeeded' });
  });

  it('tags a scan of one dataset with that dataset', async () => {
    t.use(stubs(1));
    const handle = await start({ datasets: ['shop.orders'] });
    await handle.result();
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'anomaly-scan', dataset: 'shop.orders', outcome: 'succeeded' });
  });

  it('continues as new when the server suggests it, carrying the plan, the groups done and the counts', async () => {
    const rec = t.use(stubs(6));
    const handle = await start(
      { window: { from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' }, datasetsPerActivity: 1, parallelism: 1 },
      suggestContinueAsNewAt(12),
    );
    const result = (await handle.result()) as AnomalyScanResult;

    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planScan')).toHaveLength(1);
    expect(groupsOf(rec).map((g) => g.group)).toEqual([0, 1, 2, 3, 4, 5]); // each group once
    expect(new Set(groupsOf(rec).map((g) => JSON.stringify(g.spec))).size).toBe(1); // one scan id and window throughout
    expect(groupsOf(rec)[5]!.spec.scanId).toBe(handle.firstExecutionRunId);
    expect(rec.argsOf('finishScan')[0]![0]).toMatchObject({ totals: { datasets: 6, points: 288, anomalies: 1 } });
    expect(result).toMatchObject({
      scanId: handle.firstExecutionRunId,
      groups: 6,
      datasets: 6,
      from: '2025-01-01T00:00:00.000Z',
      to: '2025-01-02T00:00:00.000Z',
    });
  });

  it("fails with the group's own error and records the scan as failed with that message", async () => {
    const rec = t.use(
      stubs(3, {
        scanGroup: async (group) => {
          if (group.group === 1) throw ApplicationFailure.nonRetryable('series volume of shop.table_01 is malformed', 'BadSeries');
          return found(group);
        },
      }),
    );
    const handle = await start({ datasetsPerActivity: 1, parallelism: 1 });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['BadSeries', 'BadSeries: series volume of shop.table_01 is malformed']);
    expect(rec.names()).toEqual(['planScan', 'scanGroup', 'scanGroup', 'failScan']);
    expect(rec.argsOf('failScan')[0]![0]).toMatchObject({
      scanId: handle.firstExecutionRunId,
      outcome: 'failed',
      error: 'BadSeries: series volume of shop.table_01 is malformed',
      totals: { datasets: 1, anomalies: 1 },
    });
    expect(await handle.query<AnomalyScanProgress>('progress')).toMatchObject({ phase: 'failed', groupsDone: 1 });
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'anomaly-scan', outcome: 'failed' });
  });

  it('records a cancelled scan as cancelled', async () => {
    const rec = t.use(stubs(2, { scanGroup: untilCancelled }));
    const handle = await start({});
    await eventually(
      async () => rec.names(),
      (names) => names.includes('scanGroup'),
      'scanning started',
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(CancelledFailure);
    expect(rec.argsOf('failScan').map(([a]) => (a as { outcome: string }).outcome)).toEqual(['cancelled']);
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'cancelled' });
  });

  it('fails at once on bad input, naming the field', async () => {
    const rec = t.use(stubs(1));
    const handle = await start({ datasets: ['shop.orders'], team: 'commerce', window: { lastHours: 0 } });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/^invalid anomaly scan input: /);
    expect(failure.message).toContain('window.lastHours: ');
    expect(rec.calls).toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnomalyStore } from '../../activities/catalog/anomaly-store.js';
import { fromSqlTime } from '../../common/time.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import type { AnomalyScanProgress, AnomalyScanResult } from '../../common/anomaly-scan.js';
import { openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';
import { mulberry32 as random } from '../../common/seeded-random.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('anomaly scan on the real stack', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const team = `quality-${tag}`;
  const orders = `qa_${tag}.orders`;
  const events = `qa_${tag}.events`;
  // A 4-day window ending on the hour, after 30 days of hourly history.
  const to = Math.floor(Date.now() / HOUR) * HOUR - DAY;
  const from = to - 4 * DAY;
  const start = from - 30 * DAY;
  // Known anomalies, more than the detector's 48-point incident memory apart; the larger last.
  const ordersDrop = from + 10 * HOUR;
  const ordersSpike = from + 60 * HOUR;
  const eventsSpike = from + 30 * HOUR;
  const quietFrom = from + 62 * HOUR; // nothing odd from here to the end of the window
  const window = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const scanInput = { team, metrics: ['volume', 'null_rate'], window };

  let h: Harness;

  const scan = (input: unknown): Promise<AnomalyScanResult> =>
    h.client.workflow.execute('anomalyScanWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-anomaly-scan-${tag}-${randomUUID().slice(0, 8)}`,
      args: [input],
    });

  async function anomalies(
    dataset: string,
  ): Promise<{ metric: string; series_key: string; at: number; status: string; direction: string; scan_id: string }[]> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT metric, series_key, at, status, direction, scan_id FROM anomalies WHERE dataset = ? ORDER BY metric, series_key, at',
      [dataset],
    );
    return rows.map((r) => ({
      ...(r as { metric: string; series_key: string; status: string; direction: string; scan_id: string }),
      at: fromSqlTime(r.at),
    }));
  }

  beforeAll(async () => {
    h = await openHarness({ domain: 'quality', prometheus: true });

    // 34 days of hourly runs: rows with a daily wave and noise, and a steady null rate per column.
    const rnd = random(11);
    const lines: string[] = [];
    for (let t = start; t < to; t += HOUR) {
      const hour = (t / HOUR) % 24;
      for (const dataset of [orders, events]) {
        let rows = Math.round(1_000 + 300 * Math.sin((2 * Math.PI * hour) / 24) + (rnd() - 0.5) * 40);
        if (dataset === orders && t === ordersDrop) rows = 40;
        if (dataset === orders && t === ordersSpike) rows = 5_000;
        if (dataset === events && t === eventsSpike) rows = 5_000;
        lines.push(
          `sync_run,dataset=${dataset},mode=incremental,status=succeeded,team=${team} rows=${rows}i,duration_seconds=${(4 + rnd()).toFixed(3)} ${t}`,
        );
        lines.push(
          `sync_column,column=email,dataset=${dataset},team=${team} nulls=${Math.round(rows * 0.05)}i,null_rate=${(0.05 + (rnd() - 0.5) * 0.002).toFixed(5)} ${t}`,
        );
      }
    }
    // A failed run's partial count is not volume: the scan reads succeeded runs only.
    lines.push(`sync_run,dataset=${orders},mode=incremental,status=failed,team=${team} rows=1i ${ordersSpike + 1_000}`);
    const write = h.clients.influx.getWriteApi(h.config.influx.org, h.config.influx.bucket, 'ms', { batchSize: 20_000 });
    write.writeRecords(lines);
    await write.close();
  });

  afterAll(async () => {
    if (!h) return;
    for (const table of ['anomalies', 'anomaly_feedback', 'anomaly_exclusions']) {
      await h.clients.catalog.query(`DELETE FROM ${table} WHERE dataset IN (?)`, [[orders, events]]);
    }
    await h.clients.catalog.query('DELETE FROM anomaly_scans WHERE team = ?', [team]);
    await h.close();
  });

  it('records the known anomalies once, none in the quiet period, and a re-run leaves the same rows', async () => {
    const first = await scan(scanInput);
    expect(first).toMatchObject({
      datasets: 2,
      series: 4,
      points: 4 * 4 * 24,
      anomalies: 3,
      confirmed: 0,
      suppressed: 0,
      excludedPoints: 0,
    });

    const found = await anomalies(orders);
    expect(found.map((a) => [a.metric, a.series_key, a.at, a.direction, a.status])).toEqual([
      ['volume', 'incremental', ordersDrop, 'down', 'open'],
      ['volume', 'incremental', ordersSpike, 'up', 'open'],
    ]);
    expect(found.filter((a) => a.at >= quietFrom)).toEqual([]);
    expect((await anomalies(events)).map((a) => a.at)).toEqual([eventsSpike]);

    const again = await scan(scanInput);
    expect({ ...again, scanId: '' }).toEqual({ ...first, scanId: '' });
    const refound = await anomalies(orders);
    expect(refound.map((a) => [a.at, a.status])).toEqual(found.map((a) => [a.at, a.status]));
    expect(new Set(refound.map((a) => a.scan_id))).toEqual(new Set([again.scanId]));

    const [scans] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT status, datasets, series, points, anomalies FROM anomaly_scans WHERE scan_id = ?',
      [again.scanId],
    );
    expect(scans[0]).toMatchObject({ status: 'succeeded', datasets: 2, series: 4, anomalies: 3 });
    expect(Number(scans[0]!.points)).toBe(again.points);

    // A chart can draw the score with its expected band for every point of the window.
    const rows = await h.clients.influx.getQueryApi(h.config.influx.org).collectRows<{ _field: string; _value: number; _time: string }>(
      `from(bucket: "${h.config.influx.bucket}") |> range(start: ${window.from}, stop: ${window.to})
         |> filter(fn: (r) => r._measurement == "anomaly_score" and r.dataset == "${orders}" and r.metric == "volume" and r.series == "incremental")`,
    );
    const scores = rows.filter((r) => r._field === 'score');
    expect(scores).toHaveLength(4 * 24);
    expect(new Set(rows.map((r) => r._field))).toEqual(new Set(['score', 'expected', 'lower', 'upper']));
    const spikeScore = scores.find((r) => Date.parse(r._time) === ordersSpike)!._value;
    expect(spikeScore).toBeGreaterThan(Math.max(...scores.filter((r) => Date.parse(r._time) >= quietFrom).map((r) => r._value)));
  });

  it("counts each scan's anomalies on the worker's /metrics, by dataset and metric", async () => {
    const found = async () => {
      const counted = (await h.metrics()).filter(
        (s) => s.name === SPOKEFLOW_METRICS.anomaliesFound.name && [orders, events].includes(s.labels.dataset!),
      );
      return Object.fromEntries(counted.map((s) => [`${s.labels.dataset} ${s.labels.metric}`, s.value]));
    };
    const before = await found();
    await scan(scanInput);
    const after = await found();
    const added = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    // The drop and the spike of orders' volume, the spike of events'; the null rates found nothing.
    expect(added).toEqual({ [`${orders} volume`]: 2, [`${events} volume`]: 1 });
  });

  it('an exclusion window hides the anomaly inside it, in this scan and the rows of earlier ones', async () => {
    const store = createAnomalyStore(h.clients.catalog);
    await store.addExclusion({
      dataset: events,
      metric: 'volume',
      fromMs: eventsSpike - HOUR,
      toMs: eventsSpike + HOUR,
      reason: 'replayed a day of events',
      createdBy: 'test',
    });
    const result = await scan(scanInput);
    expect(result).toMatchObject({ anomalies: 2, excludedPoints: 2 });
    expect((await anomalies(events)).map((a) => [a.at, a.status])).toEqual([[eventsSpike, 'excluded']]);
  });

  it("feedback 'normal' keeps later scans from reporting an anomaly; feedback 'anomaly' confirms one", async () => {
    const store = createAnomalyStore(h.clients.catalog);
    await store.recordFeedback({
      dataset: orders,
      metric: 'volume',
      seriesKey: 'incremental',
      atMs: ordersSpike,
      verdict: 'normal',
      note: 'campaign day',
      createdBy: 'test',
    });
    await store.recordFeedback({
      dataset: orders,
      metric: 'volume',
      seriesKey: 'incremental',
      atMs: ordersDrop,
      verdict: 'anomaly',
      createdBy: 'test',
    });
    const handle = await h.client.workflow.start('anomalyScanWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-anomaly-scan-${tag}-fb`,
      args: [scanInput],
    });
    const result: AnomalyScanResult = await handle.result();
    expect(result).toMatchObject({ anomalies: 1, confirmed: 1, suppressed: 1 });
    expect((await anomalies(orders)).map((a) => [a.at, a.status])).toEqual([
      [ordersDrop, 'confirmed'],
      [ordersSpike, 'dismissed'],
    ]);
    const progress = await handle.query<AnomalyScanProgress>('progress');
    expect(progress).toMatchObject({ phase: 'done', groups: 1, groupsDone: 1, anomalies: 1 });
  });

  it('rejects bad input at once, naming the field', async () => {
    const err = await scan({ team, window: { lastHours: 0 }, metrics: ['latency'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { message: string; type?: string; nonRetryable?: boolean };
    expect(cause.type).toBe('InvalidInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('window.lastHours:');
    expect(cause.message).toContain('metrics.0:');
  });
});

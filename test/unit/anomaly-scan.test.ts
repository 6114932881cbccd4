import type { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createSeriesReader, parseFluxTime, scoreLine, seriesQueries, type MetricSeries } from '../../activities/metrics/metric-series.js';
import { scanSeries, SCORE_STRIDE, type Exclusion } from '../../activities/quality/scan-series.js';
import { createThreadScorer, inlineScorer } from '../../activities/quality/series-scorer.js';
import {
  AnomalyScanInput,
  addTotals,
  emptyTotals,
  resolveWindow,
  type AnomalyScanProgress,
  type ScanWindow,
} from '../../common/anomaly-scan.js';
import { chunk } from '../../common/lanes.js';
import { parseInput } from '../../common/errors.js';
import { mulberry32 as random } from '../../common/seeded-random.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function rejection(raw: unknown): ApplicationFailure {
  try {
    parseInput(AnomalyScanInput, raw, 'anomaly scan input');
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected the input to be rejected');
}

/** 33 days of hourly volume (1,000 ± a daily wave of 200, noise ±20); the last 3 days are the window. */
function volumeSeries(odd: Map<number, number>): { series: MetricSeries; window: ScanWindow } {
  const rnd = random(7);
  const start = Date.UTC(2025, 0, 1);
  const series: MetricSeries = { dataset: 'shop.orders', metric: 'volume', seriesKey: 'incremental', t: [], v: [] };
  for (let i = 0; i < 33 * 24; i++) {
    const t = start + i * HOUR;
    series.t.push(t);
    series.v.push(odd.get(t) ?? 1_000 + 200 * Math.sin((2 * Math.PI * i) / 24) + (rnd() - 0.5) * 40);
  }
  const fromMs = start + 30 * DAY;
  return { series, window: { trainingFromMs: start, fromMs, toMs: fromMs + 3 * DAY } };
}

describe('anomaly scan input', () => {
  it('fills defaults for an empty input: every dataset and metric, the last 24 hours, the detector defaults', () => {
    expect(parseInput(AnomalyScanInput, {})).toEqual({
      metrics: ['volume', 'freshness', 'null_rate', 'duration'],
      window: { lastHours: 24 },
      trainingDays: 30,
      detector: {},
      datasetsPerActivity: 250,
      parallelism: 2,
    });
  });

  it('rejects bad input without retries, naming each field', () => {
    const err = rejection({
      datasets: ['Shop Orders'],
      metrics: ['latency'],
      window: { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' },
      detector: { sensitivity: 2 },
    });
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('InvalidInput');
    expect(err.message).toContain('datasets.0:');
    expect(err.message).toContain('metrics.0:');
    expect(err.message).toContain('window.to: must be after from');
    expect(err.message).toContain('detector.sensitivity:');
  });

  it('wants one kind of window and one way to pick datasets', () => {
    expect(rejection({ window: { from: '2025-01-01T00:00:00Z', lastHours: 3 } }).message).toContain(
      'window.lastHours: give either from and to',
    );
    expect(rejection({ window: { from: '2025-01-01T00:00:00Z' } }).message).toContain('window.to: from and to go together');
    expect(rejection({ window: { from: 'yesterday', to: '2025-01-01T00:00:00Z' } }).message).toContain('window.from:');
    expect(rejection({ datasets: ['shop.orders'], team: 'commerce' }).message).toContain('team: give datasets or team, not both');
    expect(rejection({ detector: { warmupPoints: 3 } }).message).toContain('warmupPoints');
  });

  it('fixes the window: lastHours counts back from the start, training days before it', () => {
    const now = Date.UTC(2025, 5, 1, 12);
    const w = resolveWindow(parseInput(AnomalyScanInput, { window: { lastHours: 6 }, trainingDays: 2 }), now);
    expect(w).toEqual({ fromMs: now - 6 * HOUR, toMs: now, trainingFromMs: now - 6 * HOUR - 2 * DAY });
    const abs = resolveWindow(
      parseInput(AnomalyScanInput, { window: { from: '2025-01-01T00:00:00+02:00', to: '2025-01-02T00:00:00Z' } }),
      now,
    );
    expect(abs.fromMs).toBe(Date.UTC(2024, 11, 31, 22));
    expect(abs.toMs).toBe(Date.UTC(2025, 0, 2));
  });

  it("adds a group's counts to the progress and leaves the rest of it alone", () => {
    const progress: AnomalyScanProgress = {
      scanId: 's',
      phase: 'scanning',
      from: 'f',
      to: 't',
      groups: 3,
      groupsDone: 1,
      ...emptyTotals(),
    };
    addTotals(progress, { ...emptyTotals(), series: 4, anomalies: 2 });
    expect(progress).toEqual({
      scanId: 's',
      phase: 'scanning',
      from: 'f',
      to: 't',
      groups: 3,
      groupsDone: 1,
      ...emptyTotals(),
      series: 4,
      anomalies: 2,
    });
  });

  it('cuts datasets into groups for the activities', () => {
    expect(chunk(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(chunk([], 2)).toEqual([]);
  });
});

describe('reading series from Flux annotated CSV', () => {
  it('reads every requested series in one query per measurement, filtering datasets by an anchored, escaped regex', () => {
    const qs = seriesQueries('spokeflow/autogen', {
      datasets: ['shop.orders', 'a_b'],
      metrics: ['volume', 'duration', 'null_rate'],
      startMs: 0,
      stopMs: DAY,
    });
    expect(qs.map((q) => q.measurement)).toEqual(['sync_run', 'sync_column']);
    expect(qs[0]!.flux).toContain('r.dataset =~ /^(shop\\.orders|a_b)$/');
    expect(qs[0]!.flux).toContain('r._field == "rows" or r._field == "duration_seconds"');
    expect(qs[0]!.flux).toContain('r.status == "succeeded"');
    expect(qs[0]!.flux).toContain('range(start: 1970-01-01T00:00:00.000Z, stop: 1970-01-02T00:00:00.000Z)');
    expect(seriesQueries('b', { datasets: ['x'], metrics: ['freshness'], startMs: 0, stopMs: 1 })).toHaveLength(1);
  });

  it('parses Flux times, with and without a fraction', () => {
    for (const s of ['2025-03-04T05:06:07Z', '2025-03-04T05:06:07.123Z', '2025-03-04T05:06:07.123456789Z', '2024-02-29T23:59:59.5Z']) {
      expect(parseFluxTime(s)).toBe(Date.parse(s.replace(/(\.\d{3})\d+Z$/, '$1Z')));
    }
  });

  it('folds CSV bytes into series by dataset, metric and key, however the response is cut into chunks', () => {
    const csv = [
      ',result,table,_time,_value,_field,dataset,mode',
      ',,0,2025-01-01T00:00:00Z,10,rows,"a,b",incremental',
      ',,0,2025-01-01T01:00:00.25Z,11,rows,"a,b",incremental',
      ',,1,2025-01-01T00:00:00Z,-5.125,rows,c,full',
      ',,1,2025-01-01T01:00:00Z,,rows,c,full',
      ',,2,2025-01-01T02:00:00Z,1.5e3,rows,"a,b",incremental',
      '',
      '#datatype,string,long,dateTime:RFC3339,double,string,string,string',
      ',result,table,_time,_value,_field,dataset,mode',
      ',,3,2025-01-01T00:30:00Z,0.1234567890123456789,duration_seconds,c,full',
      '',
    ].join('\r\n');
    const bytes = new TextEncoder().encode(csv);
    for (const size of [bytes.length, 1, 7, 64]) {
      const series = new Map<string, MetricSeries>();
      const handed: string[] = [];
      const reader = createSeriesReader('sync_run', series, (s) => handed.push(`${s.metric}/${s.dataset}/${s.t.length}`));
      for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
      reader.end();
      const byKey = Object.fromEntries([...series.values()].map((s) => [`${s.metric}/${s.dataset}/${s.seriesKey}`, [s.t, s.v]]));
      const jan1 = Date.UTC(2025, 0, 1);
      expect(byKey).toEqual({
        'volume/a,b/incremental': [
          [jan1, jan1 + HOUR + 250, jan1 + 2 * HOUR],
          [10, 11, 1_500],
        ],
        'volume/c/full': [[jan1], [-5.125]],
        'duration/c/full': [[jan1 + HOUR / 2], [0.1234567890123456789]],
      });
      // A series that comes back in a later table is handed over again, whole.
      expect(handed).toEqual(['volume/a,b/2', 'volume/c/1', 'volume/a,b/3', 'duration/c/1']);
      expect(reader.rows).toBe(5);
    }
  });

  it('throws the error a query reports in its result', () => {
    const reader = createSeriesReader('sync_run', new Map(), () => undefined);
    expect(() => reader.push(new TextEncoder().encode(',error,reference\r\n,bad regex,\r\n'))).toThrow('bad regex');
  });

  it('writes scores as line protocol with tag values escaped', () => {
    expect(scoreLine({ dataset: 'a b', metric: 'null_rate', seriesKey: 'x,y', t: 5, score: 0.5, expected: 1, lower: 0, upper: 2 })).toBe(
      'anomaly_score,dataset=a\\ b,metric=null_rate,series=x\\,y score=0.5,expected=1,lower=0,upper=2 5',
    );
    expect(scoreLine({ dataset: 'a', metric: 'volume', seriesKey: 'i', t: 5, score: 0, expected: NaN, lower: 0, upper: 0 })).toBeNull();
  });
});

describe('scanning one series', () => {
  // Each surprise beats the ones before it (the detector calibrates against the series' own past
  // surprises) and B comes more than episodePoints (48) after A: two incidents, both alerting.
  const trainingSpike = Date.UTC(2025, 0, 20, 10);
  const dropA = Date.UTC(2025, 0, 31, 10);
  const spikeB = Date.UTC(2025, 1, 2, 16);
  const odd = new Map([
    [trainingSpike, 1_800],
    [dropA, 50],
    [spikeB, 5_000],
  ]);

  it('reports the spikes inside the window and nothing from the training history', () => {
    const { series, window } = volumeSeries(odd);
    const scores: number[] = [];
    const scan = scanSeries(series, window, {}, [], undefined, (p) => scores.push(p.t));
    expect(scan.anomalies.map((a) => a.atMs)).toEqual([dropA, spikeB]);
    expect(scan.anomalies[0]).toMatchObject({ direction: 'down', value: 50, confirmed: false });
    expect(scan.anomalies[1]).toMatchObject({ direction: 'up', value: 5_000 });
    expect(scan.points).toBe(72);
    expect(scores).toHaveLength(72);
    expect(Math.min(...scores)).toBe(window.fromMs);
  });

  it('neither scores nor reports points in an exclusion, and counts them', () => {
    const { series, window } = volumeSeries(odd);
    const exclusion: Exclusion = { dataset: null, metric: null, fromMs: dropA - HOUR, toMs: dropA + HOUR };
    const scan = scanSeries(series, window, {}, [exclusion], undefined);
    expect(scan.anomalies.map((a) => a.atMs)).toEqual([spikeB]);
    expect(scan.excluded).toBe(2);
    expect(scan.points).toBe(70);
  });

  it('suppresses an alert feedback called normal, and records a point feedback called an anomaly as confirmed', () => {
    const { series, window } = volumeSeries(odd);
    const quietPoint = window.toMs - 5 * HOUR;
    const feedback = new Map([
      [dropA, 'normal' as const],
      [quietPoint, 'anomaly' as const],
    ]);
    const scan = scanSeries(series, window, {}, [], feedback);
    expect(scan.suppressed).toBe(1);
    expect(scan.anomalies.map((a) => [a.atMs, a.confirmed])).toEqual([
      [spikeB, false],
      [quietPoint, true],
    ]);
  });

  it('passes the detector options through: with drops only, a spike is no anomaly', () => {
    const { series, window } = volumeSeries(new Map([[spikeB, 5_000]]));
    expect(scanSeries(series, window, { direction: 'drop' }, [], undefined).anomalies).toEqual([]);
  });
});

describe('the scoring thread', () => {
  it('scores a batch exactly as the calling thread does, scores of the window included', async () => {
    const spike = Date.UTC(2025, 1, 2, 16);
    const { series, window } = volumeSeries(new Map([[spike, 5_000]]));
    const job = () => ({
      window,
      options: {},
      series: [0, 1].map((k) => ({
        ...series,
        seriesKey: `k${k}`,
        t: Float64Array.from(series.t),
        v: Float64Array.from(series.v),
        exclusions: [],
        feedback: [] as [number, 'normal' | 'anomaly'][],
      })),
    });
    const thread = createThreadScorer();
    try {
      const [onThread, inline] = await Promise.all([thread.score(job()), inlineScorer().score(job())]);
      expect(onThread).toEqual(inline);
      expect(onThread[1]!.anomalies.map((a) => [a.seriesKey, a.atMs])).toEqual([['k1', spike]]);
      expect(onThread[0]!.scores.length).toBe(72 * SCORE_STRIDE);
    } finally {
      await thread.close();
    }
  });
});

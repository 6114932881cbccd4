import type { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  createSeriesMerger,
  createSeriesReader,
  metricSeriesId,
  parseFluxTime,
  scoreLine,
  seriesQueries,
  type MetricSeries,
} from '../../activities/metrics/metric-series.js';
import { scanSeries, SCORE_STRIDE, type Exclusion, type ScoringJob, type SeriesScan } from '../../activities/quality/scan-series.js';
import { createScoringQueue, SCORING_BATCH } from '../../activities/quality/scoring-queue.js';
import { createThreadScorer, inlineScorer, type SeriesScorer } from '../../activities/quality/series-scorer.js';
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
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < 33 * 24; i++) {
    t.push(start + i * HOUR);
    v.push(odd.get(start + i * HOUR) ?? 1_000 + 200 * Math.sin((2 * Math.PI * i) / 24) + (rnd() - 0.5) * 40);
  }
  const series: MetricSeries = {
    dataset: 'shop.orders',
    metric: 'volume',
    seriesKey: 'incremental',
    t: Float64Array.from(t),
    v: Float64Array.from(v),
  };
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

  it('streams CSV bytes as one series per table, by dataset, metric and key, however the response is cut into chunks', () => {
    const csv = [
      ',result,table,_time,_value,_field,dataset,mode',
      ',,0,2025-01-01T00:00:00Z,10,rows,"a,b",incremental',
      ',,0,2025-01-01T01:00:00.25Z,11,rows,"a,b",incremental',
      ',,1,2025-01-01T00:00:00Z,-5.125,rows,c,full',
      ',,1,2025-01-01T01:00:00Z,,rows,c,full',
      ',,2,2025-01-01T02:00:00Z,1.5e3,rows,"a,b",incremental',
      ',,4,2025-01-01T02:00:00Z,7,rows,d,full',
      ',,4,2025-01-01T01:00:00Z,6,rows,d,full',
      ',,4,2025-01-01T02:00:00Z,8,rows,d,full',
      '',
      '#datatype,string,long,dateTime:RFC3339,double,string,string,string',
      ',result,table,_time,_value,_field,dataset,mode',
      ',,3,2025-01-01T00:30:00Z,0.1234567890123456789,duration_seconds,c,full',
      '',
    ].join('\r\n');
    const bytes = new TextEncoder().encode(csv);
    const jan1 = Date.UTC(2025, 0, 1);
    for (const size of [bytes.length, 1, 7, 64]) {
      const tables: [string, number[], number[]][] = [];
      // The arrays are the reader's own, valid during the call: copied here.
      const reader = createSeriesReader('sync_run', (s) => tables.push([`${s.metric}/${s.dataset}/${s.seriesKey}`, [...s.t], [...s.v]]));
      for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
      reader.end();
      expect(tables).toEqual([
        ['volume/a,b/incremental', [jan1, jan1 + HOUR + 250], [10, 11]],
        ['volume/c/full', [jan1], [-5.125]],
        ['volume/a,b/incremental', [jan1 + 2 * HOUR], [1_500]],
        // Out of order within its table: sorted, and the later value of a time twice written wins.
        ['volume/d/full', [jan1 + HOUR, jan1 + 2 * HOUR], [6, 8]],
        ['duration/c/full', [jan1 + HOUR / 2], [0.1234567890123456789]],
      ]);
      expect(reader.rows).toBe(8);
    }
  });

  it('folds the tables of a series that came back into one whole series, in time order', () => {
    const head = { dataset: 'a', metric: 'volume', seriesKey: 'incremental' } as const;
    const merger = createSeriesMerger(new Set([metricSeriesId(head)]));
    merger.add({ ...head, t: Float64Array.of(1, 3), v: Float64Array.of(10, 30) });
    merger.add({ ...head, seriesKey: 'full', t: Float64Array.of(2), v: Float64Array.of(99) });
    merger.add({ ...head, t: Float64Array.of(2, 3), v: Float64Array.of(20, 31) });
    expect([...merger.series()].map((s) => [s.seriesKey, [...s.t], [...s.v]])).toEqual([['incremental', [1, 2, 3], [10, 20, 31]]]);
  });

  it('throws the error a query reports in its result', () => {
    const reader = createSeriesReader('sync_run', () => undefined);
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

/** Packs series into one scoring job, as the scan's queue does. */
function packJob(window: ScanWindow, series: MetricSeries[]): ScoringJob {
  const points = new Float64Array(series.reduce((n, s) => n + 2 * s.t.length, 0));
  let offset = 0;
  const packed = series.map((s) => {
    points.set(s.t, offset);
    points.set(s.v, offset + s.t.length);
    const entry = {
      dataset: s.dataset,
      metric: s.metric,
      seriesKey: s.seriesKey,
      offset,
      length: s.t.length,
      exclusions: [],
      feedback: [],
    };
    offset += 2 * s.t.length;
    return entry;
  });
  return { window, options: {}, points, series: packed };
}

describe('the scoring thread', () => {
  it('scores a batch exactly as the calling thread does, scores of the window included, and hands the points back', async () => {
    const spike = Date.UTC(2025, 1, 2, 16);
    const { series, window } = volumeSeries(new Map([[spike, 5_000]]));
    const job = () =>
      packJob(
        window,
        [0, 1].map((k) => ({ ...series, seriesKey: `k${k}` })),
      );
    const thread = createThreadScorer();
    try {
      const sent = job();
      const [onThread, inline] = await Promise.all([thread.score(sent), inlineScorer().score(job())]);
      expect(onThread).toEqual(inline);
      expect(onThread.scans[1]!.anomalies.map((a) => [a.seriesKey, a.atMs])).toEqual([['k1', spike]]);
      expect(onThread.scans.map((s) => s.points)).toEqual([72, 72]);
      expect(onThread.scores.length).toBe(2 * 72 * SCORE_STRIDE);
      // The points buffer moved to the thread and came back, unchanged.
      expect(sent.points.length).toBe(0);
      expect([...onThread.points.subarray(0, series.t.length)]).toEqual([...series.t]);
    } finally {
      await thread.close();
    }
  });
});

describe('the scoring queue', () => {
  const spike = Date.UTC(2025, 1, 2, 16);
  const { series, window } = volumeSeries(new Map([[spike, 5_000]]));
  const many = (n: number): MetricSeries[] => Array.from({ length: n }, (_, k) => ({ ...series, seriesKey: `k${k}` }));

  function queueOf(scorer: SeriesScorer) {
    const scored: { key: string; scan: SeriesScan; scores: number[] }[] = [];
    const queue = createScoringQueue({
      scorer,
      window,
      options: {},
      context: () => ({ exclusions: [], feedback: [] }),
      scored: (s, scan, scores) => scored.push({ key: s.seriesKey, scan, scores: [...scores] }),
    });
    return { queue, scored };
  }

  it('scores every series as scanSeries does, in the order added, scores of the window with each', async () => {
    const { queue, scored } = queueOf(inlineScorer());
    const added = many(2 * SCORING_BATCH + 5);
    for (const s of added) queue.add(s);
    await queue.finish();
    const alone = scanSeries(series, window, {}, [], undefined);
    expect(scored.map((r) => r.key)).toEqual(added.map((s) => s.seriesKey));
    for (const r of scored) {
      expect(r.scan).toEqual({ ...alone, anomalies: alone.anomalies.map((a) => ({ ...a, seriesKey: r.key })) });
      expect(r.scores.length).toBe(alone.points * SCORE_STRIDE);
    }
    expect(scored[0]!.scan.anomalies.map((a) => a.atMs)).toEqual([spike]);
  });

  it('holds the read while two batches are at the scorer and a third is full, and lets it go when one returns', async () => {
    const releases: (() => void)[] = [];
    const inline = inlineScorer();
    const slow: SeriesScorer = {
      score: (job) => new Promise((resolve) => releases.push(() => resolve(inline.score(job)))),
      close: () => Promise.resolve(),
    };
    const { queue, scored } = queueOf(slow);
    for (const s of many(2 * SCORING_BATCH)) queue.add(s);
    expect(releases.length).toBe(2);
    expect(queue.drain()).toBeUndefined();
    for (const s of many(SCORING_BATCH)) queue.add({ ...s, seriesKey: `third${s.seriesKey}` });
    const held = queue.drain();
    expect(held).toBeInstanceOf(Promise);
    let released = false;
    void held!.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    releases.shift()!();
    await held;
    expect(releases.length).toBe(2);
    while (releases.length > 0) releases.shift()!();
    await queue.finish();
    expect(scored.length).toBe(3 * SCORING_BATCH);
  });

  it('keeps only the last scan of a series added twice, even when the earlier one comes back later', async () => {
    const releases: (() => void)[] = [];
    const inline = inlineScorer();
    const slow: SeriesScorer = {
      score: (job) => new Promise((resolve) => releases.push(() => resolve(inline.score(job)))),
      close: () => Promise.resolve(),
    };
    const { queue, scored } = queueOf(slow);
    const short = { ...series, t: series.t.subarray(0, 30 * 24 + 10), v: series.v.subarray(0, 30 * 24 + 10) };
    queue.add(short);
    for (const s of many(SCORING_BATCH - 1)) queue.add({ ...s, seriesKey: `other${s.seriesKey}` });
    queue.add(series);
    const finished = queue.finish();
    releases[1]!();
    releases[0]!();
    await finished;
    const mine = scored.filter((r) => r.key === series.seriesKey);
    expect(mine.map((r) => r.scan.points)).toEqual([72]);
  });

  it("fails the read and the finish with the scorer's error", async () => {
    const failing: SeriesScorer = { score: () => Promise.reject(new Error('thread died')), close: () => Promise.resolve() };
    const { queue } = queueOf(failing);
    for (const s of many(SCORING_BATCH)) queue.add(s);
    await expect(queue.finish()).rejects.toThrow('thread died');
    await expect(queue.drain()).rejects.toThrow('thread died');
  });
});

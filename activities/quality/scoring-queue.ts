import type { ScanWindow } from '../../common/anomaly-scan.js';
import type { DetectorOptions } from './detector.js';
import type { MetricSeries } from '../metrics/metric-series.js';
import { SCORE_STRIDE, seriesId, type BatchSeries, type ScoredBatch, type SeriesScan } from './scan-series.js';
import type { SeriesScorer } from './series-scorer.js';

/** Series per batch: large enough to amortise the hop to the scoring thread, small enough to overlap the read. */
export const SCORING_BATCH = 64;
/** Numbers a pooled batch buffer holds (a time and a value per point): 1 MiB, 64 series of 30 days hourly and more. */
const BATCH_NUMBERS = 131_072;
/** Batches at the scorer at once per queue; a further full batch holds the read until one comes back. */
const IN_FLIGHT = 2;

type SeriesHead = Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'>;

export interface ScoringQueueOptions {
  scorer: SeriesScorer;
  window: ScanWindow;
  options: Partial<DetectorOptions>;
  /** The exclusions and feedback that apply to a series. */
  context(s: SeriesHead): Pick<BatchSeries, 'exclusions' | 'feedback'>;
  /**
   * A series' scan and its window's scores (rows of SCORE_STRIDE, valid during the call), in the
   * order the series were added. A series added again replaces the earlier one: an earlier
   * scan of it that comes back later is dropped.
   */
  scored(s: SeriesHead, scan: SeriesScan, scores: Float64Array): void;
}

interface Batch {
  points: Float64Array;
  used: number;
  series: BatchSeries[];
  seqs: number[];
}

/**
 * Scores series in bounded batches while they are read: each series is copied into the batch
 * being filled, at most IN_FLIGHT batches are at the scorer, and `drain` tells the reader to
 * wait while a full batch has no slot. Batch buffers come back from the scorer and are reused,
 * so the scan's memory is a few batches, whatever the number of series.
 */
export function createScoringQueue(opts: ScoringQueueOptions) {
  const pool: Float64Array[] = [];
  const waiting: Batch[] = [];
  const latest = new Map<string, number>();
  let filling: Batch | undefined;
  let inFlight = 0;
  let seq = 0;
  let failure: unknown;
  let wakers: (() => void)[] = [];

  const wake = (): void => {
    const woken = wakers;
    wakers = [];
    for (const w of woken) w();
  };

  function buffer(numbers: number): Float64Array {
    if (numbers <= BATCH_NUMBERS) return pool.pop() ?? new Float64Array(BATCH_NUMBERS);
    return new Float64Array(numbers); // a series longer than a batch: a buffer of its own, not pooled
  }

  function received(batch: Batch, scored: ScoredBatch): void {
    let row = 0;
    scored.scans.forEach((scan, i) => {
      const s = batch.series[i]!;
      const rows = scan.points * SCORE_STRIDE;
      if (latest.get(seriesId(s.dataset, s.metric, s.seriesKey)) === batch.seqs[i]) {
        opts.scored(s, scan, scored.scores.subarray(row, row + rows));
      }
      row += rows;
    });
    if (scored.points.length === BATCH_NUMBERS && pool.length < IN_FLIGHT + 1) pool.push(scored.points);
  }

  function send(batch: Batch): void {
    inFlight++;
    // A synchronous throw (a job that cannot be posted) fails the scan like a rejection.
    new Promise<ScoredBatch>((resolve) =>
      resolve(opts.scorer.score({ window: opts.window, options: opts.options, points: batch.points, series: batch.series })),
    )
      .then(
        (scored) => {
          if (failure === undefined) received(batch, scored);
        },
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => {
        inFlight--;
        pump();
        wake();
      });
  }

  function pump(): void {
    while (failure === undefined && inFlight < IN_FLIGHT && waiting.length > 0) send(waiting.shift()!);
  }

  function close(): void {
    if (!filling) return;
    waiting.push(filling);
    filling = undefined;
    pump();
  }

  /** Resolves once `done()` holds, or rejects with the first scoring failure. */
  async function until(done: () => boolean): Promise<void> {
    while (failure === undefined && !done()) await new Promise<void>((resolve) => wakers.push(resolve));
    if (failure !== undefined) throw failure;
  }

  return {
    /** Copies a series into the batch being filled (the reader's arrays are reused after this). */
    add(s: MetricSeries): void {
      const n = s.t.length;
      if (filling && filling.used + 2 * n > filling.points.length) close();
      filling ??= { points: buffer(2 * n), used: 0, series: [], seqs: [] };
      const { points, used } = filling;
      points.set(s.t, used);
      points.set(s.v, used + n);
      const head = { dataset: s.dataset, metric: s.metric, seriesKey: s.seriesKey };
      filling.series.push({ ...head, offset: used, length: n, ...opts.context(head) });
      filling.seqs.push(++seq);
      latest.set(seriesId(s.dataset, s.metric, s.seriesKey), seq);
      filling.used += 2 * n;
      if (filling.series.length >= SCORING_BATCH) close();
    },

    /** Pending while a full batch waits for a slot at the scorer; rejects once scoring failed. */
    drain(): Promise<void> | undefined {
      if (failure === undefined && waiting.length === 0) return undefined;
      return until(() => waiting.length === 0);
    },

    /** Sends the last batch and waits for every batch to come back. */
    async finish(): Promise<void> {
      close();
      await until(() => inFlight === 0 && waiting.length === 0);
    },

    /** After a failure elsewhere: sends nothing more and waits for the batches at the scorer. */
    async abort(): Promise<void> {
      filling = undefined;
      waiting.length = 0;
      while (inFlight > 0) await new Promise<void>((resolve) => wakers.push(resolve));
    },
  };
}

/**
 * The Numenta Anomaly Benchmark score (Lavin & Ahmad 2015), written from NAB's published method
 * (nab/sweeper.py, nab/optimizer.py, nab/runner.py normalize): pure, over row-index windows.
 *
 * - Rows before the probationary length (15% of a series, at most 750 rows) are not scored at all.
 * - A detection is a row whose anomaly score is ≥ the threshold.
 * - Inside a window a detection is worth tpWeight · σ̃(position) / σ̃(−1), position = −(end − i + 1) / width;
 *   only the best (= earliest) detection of each window counts. A window without one costs −fnWeight.
 * - Outside windows each detection costs fpWeight · σ̃(distance past the previous window / (its width − 1)),
 *   or −fpWeight when no window precedes it; σ̃(x) = 2·sigmoid(−5x) − 1, and −1 from x ≥ 3.
 * - One threshold for the whole corpus, the one with the best summed raw score (NAB's sweep);
 *   normalised so that the null detector (never fires) scores 0 and the perfect one 100.
 */

export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

/** NAB's config/profiles.json. */
export const PROFILES = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
} as const satisfies Record<string, CostMatrix>;

export type ProfileName = keyof typeof PROFILES;

/** A labelled anomaly window as inclusive row indices [start, end]. */
export type Window = readonly [start: number, end: number];

export interface ScoredSeries {
  readonly name: string;
  /** Anomaly score per row. */
  readonly scores: ArrayLike<number>;
  /** Sorted, disjoint. */
  readonly windows: readonly Window[];
}

export interface SeriesScore {
  readonly name: string;
  readonly raw: number;
  readonly windows: number;
  readonly detectedWindows: number;
  /** Detections outside every window (after the probationary period). */
  readonly falsePositives: number;
}

export interface CorpusScore {
  /** Rows with score ≥ threshold are detections; Infinity when never firing is best. */
  readonly threshold: number;
  readonly raw: number;
  /** 100 · (raw − null) / (perfect − null); NaN when the corpus has no window. */
  readonly normalised: number;
  readonly nullRaw: number;
  readonly perfectRaw: number;
  readonly series: readonly SeriesScore[];
}

export const DEFAULT_PROBATION_PERCENT = 0.15;

/** Rows at the start of a series that NAB leaves unscored (its detectors may still learn from them). */
export function probationaryLength(rows: number, percent = DEFAULT_PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

const MAX_TP = scaledSigmoid(-1);
const OUTSIDE = -1;
const PROBATION = -2;

/** What each row would be worth if it were a detection, and the window it belongs to. */
export interface RowWeights {
  readonly weight: Float64Array;
  /** Window index in the series, OUTSIDE (−1) or PROBATION (−2). */
  readonly window: Int32Array;
}

export function rowWeights(
  rows: number,
  windows: readonly Window[],
  cost: CostMatrix,
  probationPercent = DEFAULT_PROBATION_PERCENT,
): RowWeights {
  checkWindows(rows, windows);
  const weight = new Float64Array(rows);
  const window = new Int32Array(rows);
  const probation = probationaryLength(rows, probationPercent);
  let next = 0;
  let previous: Window | undefined;
  for (let i = 0; i < rows; i++) {
    const current = next < windows.length && windows[next]![0] <= i ? windows[next]! : undefined;
    if (current) {
      const [start, end] = current;
      const width = end - start + 1;
      weight[i] = (scaledSigmoid(-(end - i + 1) / width) * cost.tpWeight) / MAX_TP;
      window[i] = next;
      if (i === end) {
        previous = current;
        next++;
      }
    } else {
      // NAB divides by (width − 1): a one-row window would divide by zero there; treat it as far away.
      const past = previous && previous[1] > previous[0] ? Math.abs(previous[1] - i) / (previous[1] - previous[0]) : 3;
      weight[i] = scaledSigmoid(past) * cost.fpWeight;
      window[i] = OUTSIDE;
    }
    if (i < probation) window[i] = PROBATION;
  }
  return { weight, window };
}

function checkWindows(rows: number, windows: readonly Window[]): void {
  let last = -1;
  for (const [start, end] of windows) {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start > last && end >= start && end < rows)) {
      throw new Error(`windows must be sorted, disjoint row ranges inside the series: got [${start}, ${end}] after row ${last}`);
    }
    last = end;
  }
}

/** Windows with at least one scored row: the ones a detector can hit or miss. */
function scorableWindows(weights: RowWeights): Set<number> {
  const seen = new Set<number>();
  for (const w of weights.window) if (w >= 0) seen.add(w);
  return seen;
}

/** The raw score of one series at a threshold (detection: score ≥ threshold). */
export function scoreSeries(
  series: ScoredSeries,
  threshold: number,
  cost: CostMatrix,
  probationPercent = DEFAULT_PROBATION_PERCENT,
): SeriesScore {
  const rows = series.scores.length;
  const weights = rowWeights(rows, series.windows, cost, probationPercent);
  const best = new Map<number, number>();
  let fp = 0;
  let fpCount = 0;
  for (let i = 0; i < rows; i++) {
    const w = weights.window[i]!;
    if (w === PROBATION || !(series.scores[i]! >= threshold)) continue;
    if (w === OUTSIDE) {
      fp += weights.weight[i]!;
      fpCount++;
    } else {
      best.set(w, Math.max(best.get(w) ?? -Infinity, weights.weight[i]!));
    }
  }
  const scorable = scorableWindows(weights);
  let raw = fp;
  for (const w of scorable) raw += best.get(w) ?? -cost.fnWeight;
  return { name: series.name, raw, windows: scorable.size, detectedWindows: best.size, falsePositives: fpCount };
}

export interface ThresholdScore {
  readonly threshold: number;
  readonly raw: number;
}

/**
 * NAB's sweep: the corpus raw score at every distinct anomaly score used as threshold, from the
 * highest down, starting with Infinity (nothing detected).
 */
export function sweepThresholds(
  corpus: readonly ScoredSeries[],
  cost: CostMatrix,
  probationPercent = DEFAULT_PROBATION_PERCENT,
): ThresholdScore[] {
  const scores: number[] = [];
  const weights: number[] = [];
  const windowIds: number[] = [];
  let windowOffset = 0;
  let windowCount = 0;
  for (const series of corpus) {
    const rw = rowWeights(series.scores.length, series.windows, cost, probationPercent);
    windowCount += scorableWindows(rw).size;
    for (let i = 0; i < rw.weight.length; i++) {
      const w = rw.window[i]!;
      if (w === PROBATION) continue;
      scores.push(series.scores[i]!);
      weights.push(rw.weight[i]!);
      windowIds.push(w === OUTSIDE ? OUTSIDE : windowOffset + w);
    }
    windowOffset += series.windows.length;
  }
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  const windowBest = new Float64Array(windowOffset).fill(-cost.fnWeight);
  let total = -cost.fnWeight * windowCount;
  const result: ThresholdScore[] = [{ threshold: Infinity, raw: total }];
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const w = windowIds[i]!;
    if (w === OUTSIDE) {
      total += weights[i]!;
    } else if (weights[i]! > windowBest[w]!) {
      total += weights[i]! - windowBest[w]!;
      windowBest[w] = weights[i]!;
    }
    const nextScore = k + 1 < order.length ? scores[order[k + 1]!]! : undefined;
    if (nextScore !== scores[i]) result.push({ threshold: scores[i]!, raw: total });
  }
  return result;
}

/** The best threshold; among equal scores NAB keeps the highest threshold. */
export function optimiseThreshold(
  corpus: readonly ScoredSeries[],
  cost: CostMatrix,
  probationPercent = DEFAULT_PROBATION_PERCENT,
): ThresholdScore {
  let best: ThresholdScore | undefined;
  for (const t of sweepThresholds(corpus, cost, probationPercent)) if (!best || t.raw > best.raw) best = t;
  return best!;
}

/** Score a corpus the NAB way: optimise one threshold for it (unless given), then normalise. */
export function scoreCorpus(
  corpus: readonly ScoredSeries[],
  cost: CostMatrix,
  options: { threshold?: number; probationPercent?: number } = {},
): CorpusScore {
  const probationPercent = options.probationPercent ?? DEFAULT_PROBATION_PERCENT;
  const threshold = options.threshold ?? optimiseThreshold(corpus, cost, probationPercent).threshold;
  const series = corpus.map((s) => scoreSeries(s, threshold, cost, probationPercent));
  const raw = series.reduce((sum, s) => sum + s.raw, 0);
  // NAB's baseline is the null detector's own score (every scorable window missed); its perfect
  // score counts every labelled window. They differ only if a window lies wholly in probation.
  const nullRaw = -cost.fnWeight * series.reduce((sum, s) => sum + s.windows, 0);
  const perfectRaw = cost.tpWeight * corpus.reduce((sum, s) => sum + s.windows.length, 0);
  const normalised = perfectRaw === nullRaw ? NaN : (100 * (raw - nullRaw)) / (perfectRaw - nullRaw);
  return { threshold, raw, normalised, nullRaw, perfectRaw, series };
}

/** Normalise a subset (e.g. a category) of an already scored corpus with its own null and perfect. */
export function normaliseSubset(series: readonly SeriesScore[], cost: CostMatrix): { raw: number; normalised: number } {
  const raw = series.reduce((sum, s) => sum + s.raw, 0);
  const windows = series.reduce((sum, s) => sum + s.windows, 0);
  const normalised = windows === 0 ? NaN : (100 * (raw + cost.fnWeight * windows)) / ((cost.tpWeight + cost.fnWeight) * windows);
  return { raw, normalised };
}

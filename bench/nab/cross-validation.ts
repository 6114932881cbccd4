/**
 * Cross-validation on NAB-shaped data: pure, over series indices.
 *
 * A fold tunes one parameter set (from a detector's declared grid) and one threshold on its tuning
 * series, then scores its held-out series with exactly those. Every fold's tuning and scoring sets
 * include artificialNoAnomaly: it has no windows, so it only ever costs false positives, and a
 * held-out score without it would reward a detector that fires everywhere. Its five series are
 * therefore seen by tuning too (the one overlap); no series with a window is ever in both sets.
 */
import { normaliseSubset, scoreCorpus, type CostMatrix, type ScoredSeries, type SeriesScore } from './scorer.js';

export const NO_ANOMALY_CATEGORY = 'artificialNoAnomaly';
/** The labelled categories left out in turn. */
export const HELD_OUT_CATEGORIES = ['artificialWithAnomaly', 'realAdExchange', 'realKnownCause'] as const;
/** The categories whose series are left out one at a time (or in k groups). */
export const REAL_CATEGORIES = ['realAdExchange', 'realKnownCause'] as const;

export interface Fold {
  readonly name: string;
  /** Indices of the series the parameters and the threshold are chosen on. */
  readonly tune: readonly number[];
  /** Indices of the series scored with them: the held-out ones plus artificialNoAnomaly. */
  readonly test: readonly number[];
  /** The held-out series alone (test without artificialNoAnomaly). */
  readonly heldOut: readonly number[];
}

function indicesWhere(categories: readonly string[], keep: (category: string, i: number) => boolean): number[] {
  const out: number[] = [];
  categories.forEach((c, i) => {
    if (keep(c, i)) out.push(i);
  });
  return out;
}

function fold(name: string, categories: readonly string[], heldOut: readonly number[]): Fold {
  const out = new Set(heldOut);
  const noAnomaly = indicesWhere(categories, (c) => c === NO_ANOMALY_CATEGORY);
  return {
    name,
    tune: indicesWhere(categories, (_, i) => !out.has(i)),
    test: [...heldOut, ...noAnomaly].sort((a, b) => a - b),
    heldOut,
  };
}

/** Leave one category out: one fold per category of HELD_OUT_CATEGORIES present. `categories[i]` is series i's. */
export function categoryFolds(categories: readonly string[]): Fold[] {
  return HELD_OUT_CATEGORIES.filter((held) => categories.includes(held)).map((held) =>
    fold(
      held,
      categories,
      indicesWhere(categories, (c) => c === held),
    ),
  );
}

/**
 * Leave series of the real categories out: one fold per series, or with `groups` that many folds,
 * series dealt round-robin (in corpus order) so each fold mixes categories.
 */
export function seriesFolds(categories: readonly string[], names: readonly string[], groups?: number): Fold[] {
  const real = indicesWhere(categories, (c) => (REAL_CATEGORIES as readonly string[]).includes(c));
  const k = Math.min(groups ?? real.length, real.length);
  const buckets: number[][] = Array.from({ length: k }, () => []);
  real.forEach((index, n) => buckets[n % k]!.push(index));
  return buckets.map((held) => fold(held.map((i) => names[i]).join(' + '), categories, held));
}

export interface FoldResult {
  readonly fold: Fold;
  /** Index into the grid of the chosen parameter set. */
  readonly params: number;
  readonly threshold: number;
  /** Normalised score on the tuning series (in-sample). */
  readonly tuneScore: number;
  /** Normalised score on the test series (held-out ∪ artificialNoAnomaly) with the tuned params and threshold. */
  readonly testScore: number;
  /** Per-series scores of the test series at the tuned threshold. */
  readonly series: readonly SeriesScore[];
}

/**
 * `candidates[p][i]` is series i scored with grid entry p. For each fold: the grid entry and
 * threshold with the best tuning score (ties: the earlier entry, NAB's highest threshold), then the
 * test series scored with both.
 */
export function crossValidate(candidates: readonly (readonly ScoredSeries[])[], folds: readonly Fold[], cost: CostMatrix): FoldResult[] {
  return folds.map((f) => {
    let best: { params: number; threshold: number; tuneScore: number } | undefined;
    candidates.forEach((scored, p) => {
      const tuned = scoreCorpus(
        f.tune.map((i) => scored[i]!),
        cost,
      );
      if (!best || tuned.normalised > best.tuneScore) best = { params: p, threshold: tuned.threshold, tuneScore: tuned.normalised };
    });
    const chosen = best!;
    const test = scoreCorpus(
      f.test.map((i) => candidates[chosen.params]![i]!),
      cost,
      { threshold: chosen.threshold },
    );
    return { fold: f, ...chosen, testScore: test.normalised, series: test.series };
  });
}

/**
 * Every held-out series with a window scored once, by its own fold's choice, normalised together
 * (artificialNoAnomaly left out: it is in every fold).
 */
export function pooledScore(results: readonly FoldResult[], names: readonly string[], cost: CostMatrix): number {
  const heldOut = new Set(results.flatMap((r) => r.fold.heldOut.map((i) => names[i])));
  return normaliseSubset(
    results.flatMap((r) => r.series.filter((s) => heldOut.has(s.name))),
    cost,
  ).normalised;
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

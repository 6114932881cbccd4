import { scoreSeries, surpriseScore, type DetectorOptions } from '../../activities/quality/detector.js';
import type { NabSeries } from './corpus.js';
import { cadOseScores, causalCadOseScores } from './cad-ose.js';
import { KNN_CAD_NAB, knnCadScores } from './knn-cad.js';
import { windowedGaussianScores } from './reference-detectors.js';
import { probationaryLength } from './scorer.js';

/** One parameter set of a detector: numbers only, so a grid is a plain cartesian product. */
export type DetectorParams = Readonly<Record<string, number>>;

/**
 * A detector the NAB bench can score. Every detector is causal: a row's score uses only the rows
 * before it and itself (plus what NAB tells every detector up front, named where it is used).
 */
export interface NabDetector {
  readonly name: string;
  readonly summary: string;
  /**
   * False when a row's score depends on later rows (NAB hands every detector the file's min and
   * max): such a detector is only a check of a published figure and --cv refuses it.
   */
  readonly causal: boolean;
  /** The published (or production) parameters: the full-corpus figure is for these. */
  readonly defaults: DetectorParams;
  /** The small grid --cv chooses one parameter set from, per fold, without the held-out series. */
  readonly grid: readonly DetectorParams[];
  score(series: NabSeries, params: DetectorParams): Float64Array;
}

/** Every combination of the given values, the first value of each key varying slowest. */
export function gridOf(axes: Readonly<Record<string, readonly number[]>>): DetectorParams[] {
  let grid: Record<string, number>[] = [{}];
  for (const [key, values] of Object.entries(axes)) grid = grid.flatMap((params) => values.map((v) => ({ ...params, [key]: v })));
  return grid;
}

export function describeParams(params: DetectorParams): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

const spokeflow: NabDetector = {
  name: 'spokeflow',
  summary: "the anomaly scan's detector (activities/quality/detector.ts) with its production options",
  causal: true,
  defaults: {},
  grid: gridOf({ levelAlpha: [0.02, 0.05, 0.1], seasonGamma: [0.05, 0.15], episodePoints: [24, 48] }),
  score: (series, params) => scoreSeries(series.timestamps, series.values, params as Partial<DetectorOptions>).scores,
};

const windowedGaussian: NabDetector = {
  name: 'windowedGaussian',
  summary: "NAB's windowed Gaussian baseline (published 28.2 standard on these four categories)",
  causal: true,
  defaults: { windowSize: 6400 },
  grid: gridOf({ windowSize: [400, 1600, 6400] }),
  score: (series, params) => windowedGaussianScores(series.values, params.windowSize),
};

const CAD_OSE_NAB = { valueBits: 3, baseThreshold: 0.75, restFraction: 0.2, maxLeftSemiContextLength: 7, maxActiveNeurons: 15 };

/** NAB's rest period: a fraction of the probationary length, which NAB tells every detector. */
function cadOseOptions(series: NabSeries, params: DetectorParams) {
  return {
    valueBits: params.valueBits!,
    baseThreshold: params.baseThreshold!,
    restPeriod: probationaryLength(series.values.length) * params.restFraction!,
    maxLeftSemiContextLength: params.maxLeftSemiContextLength!,
    maxActiveNeurons: params.maxActiveNeurons!,
  };
}

const cadOseNab: NabDetector = {
  name: 'cadOseNab',
  summary: "CAD OSE as NAB runs it, value range = the file's min and max (published 57.5; not causal)",
  causal: false,
  defaults: CAD_OSE_NAB,
  grid: [CAD_OSE_NAB],
  score: (series, params) => cadOseScores(series.values, cadOseOptions(series, params)),
};

const cadOse: NabDetector = {
  name: 'cadOse',
  summary: 'CAD OSE with the value range of the probationary rows (causal), values outside it in the edge levels',
  causal: true,
  defaults: { ...CAD_OSE_NAB, margin: 0 },
  grid: gridOf({ ...Object.fromEntries(Object.entries(CAD_OSE_NAB).map(([k, v]) => [k, [v]])), margin: [0, 0.25] }),
  score: (series, params) =>
    causalCadOseScores(series.values, {
      ...cadOseOptions(series, params),
      warmup: probationaryLength(series.values.length),
      margin: params.margin!,
    }),
};

/**
 * KNN CAD with NAB's parameters reproduces NAB's per-file results exactly. It only uses rows
 * before the scored one and NAB's probationary length (from the file's length, as causal CAD OSE
 * does), so --cv accepts it.
 */
const knnCad: NabDetector = {
  name: 'knnCad',
  summary: "KNN CAD as NAB runs it (bench/nab/knn-cad.ts; published 53.5), probation = NAB's probationary length",
  causal: true,
  defaults: { k: KNN_CAD_NAB.k, dim: KNN_CAD_NAB.dim },
  grid: gridOf({ k: [9, 27], dim: [10, 19] }),
  score: (series, params) =>
    knnCadScores(series.values, { ...KNN_CAD_NAB, k: params.k!, dim: params.dim!, probation: probationaryLength(series.values.length) }),
};

/** Member scores by series and parameters: grid entries of an ensemble share them (CAD OSE is slow). */
const memberCache = new Map<string, Float64Array>();
function memberScores(member: NabDetector, series: NabSeries, params: DetectorParams): Float64Array {
  const key = `${member.name} ${series.key} ${describeParams(params)}`;
  let scores = memberCache.get(key);
  if (!scores) memberCache.set(key, (scores = member.score(series, params)));
  return scores;
}

/**
 * Max of the scan's detector and causal CAD OSE, CAD OSE's score scaled by cadWeight so that both
 * share one threshold (the weight is a grid axis: each fold chooses it without its held-out series).
 */
const ensemble: NabDetector = {
  name: 'ensemble',
  summary: 'max(spokeflow, cadWeight · causal cadOse), members with their defaults',
  causal: true,
  defaults: { cadWeight: 0.3 },
  grid: gridOf({ cadWeight: [0, 0.2, 0.25, 0.3, 0.35, 0.45] }),
  score: (series, params) => {
    const a = memberScores(spokeflow, series, spokeflow.defaults);
    const b = memberScores(cadOse, series, cadOse.defaults);
    return a.map((v, i) => Math.max(v, params.cadWeight! * b[i]!));
  },
};

/**
 * KNN CAD's score is a conformal rank r among m calibration non-conformities, so its tail is the
 * conformal p-value 1 − r·m/(m + 1) (m = NAB's probationary length − dim; at least 1/(m + 1), and
 * 0.5 for the rest rows). With m ≈ 730 that tail alone never reaches the scan's alert level, so
 * it enters the scan's surprise scale shifted by 10^−knnShift (a grid axis: each fold chooses it,
 * 0 meaning the scan's detector alone). Score = max of the two surprises.
 */
const ensembleKnn: NabDetector = {
  name: 'ensembleKnn',
  summary: 'max(spokeflow, surprise(10^−knnShift · KNN CAD conformal tail)), members with their defaults',
  causal: true,
  defaults: { knnShift: 6 },
  grid: gridOf({ knnShift: [0, 4, 5, 6, 7, 8, 10] }),
  score: (series, params) => {
    const a = memberScores(spokeflow, series, spokeflow.defaults);
    if (params.knnShift === 0) return Float64Array.from(a);
    const b = memberScores(knnCad, series, knnCad.defaults);
    const m = probationaryLength(series.values.length) - knnCad.defaults.dim!;
    const scale = 10 ** -params.knnShift!;
    return a.map((v, i) => {
      const r = b[i]!;
      if (r <= 0) return v;
      return Math.max(v, surpriseScore(scale * Math.max(1 - (r * m) / (m + 1), 1 / (m + 1))));
    });
  },
};

export const DETECTORS: readonly NabDetector[] = [spokeflow, windowedGaussian, cadOseNab, cadOse, ensemble, knnCad, ensembleKnn];

export function findDetector(name: string): NabDetector {
  const detector = DETECTORS.find((d) => d.name === name);
  if (!detector) throw new Error(`unknown detector ${name}: one of ${DETECTORS.map((d) => d.name).join(', ')}`);
  return detector;
}

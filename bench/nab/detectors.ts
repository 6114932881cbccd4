import { scoreSeries, type DetectorOptions } from '../../activities/quality/detector.js';
import type { NabSeries } from './corpus.js';
import { windowedGaussianScores } from './reference-detectors.js';

/** One parameter set of a detector: numbers only, so a grid is a plain cartesian product. */
export type DetectorParams = Readonly<Record<string, number>>;

/**
 * A detector the NAB bench can score. Every detector is causal: a row's score uses only the rows
 * before it and itself (plus what NAB tells every detector up front, named where it is used).
 */
export interface NabDetector {
  readonly name: string;
  readonly summary: string;
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
  defaults: {},
  grid: gridOf({ levelAlpha: [0.02, 0.05, 0.1], seasonGamma: [0.05, 0.15], episodePoints: [24, 48] }),
  score: (series, params) => scoreSeries(series.timestamps, series.values, params as Partial<DetectorOptions>).scores,
};

const windowedGaussian: NabDetector = {
  name: 'windowedGaussian',
  summary: "NAB's windowed Gaussian baseline (published 28.2 standard on these four categories)",
  defaults: { windowSize: 6400 },
  grid: gridOf({ windowSize: [400, 1600, 6400] }),
  score: (series, params) => windowedGaussianScores(series.values, params.windowSize),
};

export const DETECTORS: readonly NabDetector[] = [spokeflow, windowedGaussian];

export function findDetector(name: string): NabDetector {
  const detector = DETECTORS.find((d) => d.name === name);
  if (!detector) throw new Error(`unknown detector ${name}: one of ${DETECTORS.map((d) => d.name).join(', ')}`);
  return detector;
}

import { describe, expect, it } from 'vitest';
import { categoryFolds, crossValidate, seriesFolds } from '../../bench/nab/cross-validation.js';
import { PROFILES, type ScoredSeries, type Window } from '../../bench/nab/scorer.js';

const categories = [
  'artificialNoAnomaly',
  'artificialNoAnomaly',
  'artificialWithAnomaly',
  'artificialWithAnomaly',
  'realAdExchange',
  'realAdExchange',
  'realKnownCause',
  'realKnownCause',
  'realKnownCause',
];
const names = categories.map((c, i) => `${c}/${i}.csv`);
const noAnomaly = [0, 1];

describe('NAB cross-validation folds', () => {
  it('never tunes on a series of the held-out category, and scores it with artificialNoAnomaly', () => {
    const folds = categoryFolds(categories);
    expect(folds.map((f) => f.name)).toEqual(['artificialWithAnomaly', 'realAdExchange', 'realKnownCause']);
    for (const fold of folds) {
      for (const i of fold.tune) expect(categories[i]).not.toBe(fold.name);
      expect(fold.heldOut.every((i) => categories[i] === fold.name)).toBe(true);
      expect(fold.heldOut).toHaveLength(categories.filter((c) => c === fold.name).length);
      expect(fold.test).toEqual([...noAnomaly, ...fold.heldOut]);
      expect(fold.tune).toEqual(expect.arrayContaining(noAnomaly));
    }
  });

  it('leaves each real series out exactly once and never tunes on it', () => {
    const folds = seriesFolds(categories, names);
    expect(folds.flatMap((f) => f.heldOut).sort()).toEqual([4, 5, 6, 7, 8]);
    for (const fold of folds) {
      for (const i of fold.heldOut) expect(fold.tune).not.toContain(i);
      expect(fold.tune.length + fold.heldOut.length).toBe(categories.length);
    }
  });

  it('deals real series into k groups when asked', () => {
    const folds = seriesFolds(categories, names, 2);
    expect(folds.map((f) => f.heldOut)).toEqual([
      [4, 6, 8],
      [5, 7],
    ]);
  });
});

/** 100 rows, one window at rows 40..49; `spike` is the score at row 40 (and 0.5 at row 70, outside). */
function scored(name: string, spike: number, windows: Window[] = [[40, 49]]): ScoredSeries {
  const scores = new Float64Array(100);
  scores[40] = spike;
  scores[70] = 0.5;
  return { name, scores, windows };
}

describe('NAB cross-validation scoring', () => {
  it('scores the held-out series with the threshold chosen on the others, not its own best', () => {
    // Tuning series spike at 0.9 and carry a false alarm at 0.5: the tuned threshold is 0.9.
    // The held-out series spikes at only 0.6: with its own best threshold it would score 100, with 0.9 it misses.
    const corpus = [scored('a', 0.9), scored('b', 0.9), scored('held', 0.6)];
    const [result] = crossValidate([corpus], [{ name: 'held', tune: [0, 1], test: [2], heldOut: [2] }], PROFILES.standard);
    expect(result!.threshold).toBe(0.9);
    expect(result!.tuneScore).toBeCloseTo(100, 6);
    expect(result!.testScore).toBe(0);
  });

  it('chooses the grid entry that is best on the tuning series', () => {
    const weak = [scored('a', 0), scored('b', 0), scored('held', 0)];
    const strong = [scored('a', 0.9), scored('b', 0.9), scored('held', 0.95)];
    const [result] = crossValidate([weak, strong], [{ name: 'held', tune: [0, 1], test: [2], heldOut: [2] }], PROFILES.standard);
    expect(result!.params).toBe(1);
    expect(result!.testScore).toBeCloseTo(100, 6);
  });
});

import { describe, expect, it } from 'vitest';
import {
  PROFILES,
  optimiseThreshold,
  probationaryLength,
  scoreCorpus,
  scoreSeries,
  type ScoredSeries,
  type Window,
} from '../../bench/nab/scorer.js';

const standard = PROFILES.standard;

/** 100 rows (probation: the first 15), scores 1 at the given rows, 0 elsewhere. */
function series(detections: number[], windows: Window[] = [[40, 49]], name = 'a.csv'): ScoredSeries {
  const scores = new Float64Array(100);
  for (const row of detections) scores[row] = 1;
  return { name, scores, windows };
}

// The scaled sigmoid 2/(1 + e^(5x)) − 1 equals tanh(−5x/2): the expectations below use that form.
const TP_AT_WINDOW_START = Math.tanh(2.5);

describe('NAB scorer', () => {
  it('leaves the first 15% of a series unscored, at most 750 rows', () => {
    expect(probationaryLength(100)).toBe(15);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(10_000)).toBe(750);
  });

  it('scores a detection on the first row of a window +1 and a missed window −1', () => {
    expect(scoreSeries(series([40]), 0.5, standard).raw).toBeCloseTo(1, 12);
    expect(scoreSeries(series([]), 0.5, standard).raw).toBe(-1);
  });

  it('scores a detection on the last row of a window by the sigmoid of −1/width', () => {
    // position −(49 − 49 + 1)/10 = −0.1 → tanh(0.25) / tanh(2.5)
    expect(scoreSeries(series([49]), 0.5, standard).raw).toBeCloseTo(Math.tanh(0.25) / TP_AT_WINDOW_START, 12);
  });

  it('counts only the earliest detection of a window', () => {
    // row 45: position −(49 − 45 + 1)/10 = −0.5 → tanh(1.25) / tanh(2.5); row 47 adds nothing
    const score = scoreSeries(series([45, 47]), 0.5, standard);
    expect(score.raw).toBeCloseTo(Math.tanh(1.25) / TP_AT_WINDOW_START, 12);
    expect(score.detectedWindows).toBe(1);
  });

  it('charges a false positive before any window the full FP weight', () => {
    expect(scoreSeries(series([20, 40]), 0.5, standard).raw).toBeCloseTo(1 - 0.11, 12);
  });

  it('charges a false positive after a window by its distance over (width − 1)', () => {
    // row 54: |49 − 54| / 9 = 5/9 → 0.11 · (−tanh(25/18))
    expect(scoreSeries(series([40, 54]), 0.5, standard).raw).toBeCloseTo(1 - 0.11 * Math.tanh(25 / 18), 12);
    // three widths past the window (row 49 + 27 = 76) the sigmoid is clamped to −1
    expect(scoreSeries(series([40, 76]), 0.5, standard).raw).toBeCloseTo(1 - 0.11, 12);
  });

  it('ignores detections in the probationary period', () => {
    const score = scoreSeries(series([10]), 0.5, standard);
    expect(score.raw).toBe(-1);
    expect(score.falsePositives).toBe(0);
  });

  it('treats a score equal to the threshold as a detection', () => {
    expect(scoreSeries(series([40]), 1, standard).raw).toBeCloseTo(1, 12);
  });

  it('normalises so that never firing scores 0 and firing on every window start scores 100', () => {
    const corpus = [
      series([], [[40, 49]], 'a.csv'),
      series(
        [],
        [
          [20, 29],
          [60, 69],
        ],
        'b.csv',
      ),
    ];
    expect(scoreCorpus(corpus, standard).normalised).toBe(0);
    const perfect = [
      series([40], [[40, 49]], 'a.csv'),
      series(
        [20, 60],
        [
          [20, 29],
          [60, 69],
        ],
        'b.csv',
      ),
    ];
    expect(scoreCorpus(perfect, standard).normalised).toBeCloseTo(100, 10);
    expect(scoreCorpus(perfect, PROFILES.reward_low_FN_rate).normalised).toBeCloseTo(100, 10);
  });

  it('picks one threshold for the whole corpus, the one with the best summed score', () => {
    const a = { name: 'a.csv', scores: new Float64Array(100), windows: [[40, 49]] as Window[] };
    a.scores[40] = 0.9;
    const b = { name: 'b.csv', scores: new Float64Array(100), windows: [] };
    b.scores[60] = 0.8;
    b.scores[70] = 0.95;
    // ∞ → −1; 0.95 → −1.11; 0.9 → +1 − 0.11 = 0.89; 0.8 → 0.78; 0 → every row fires.
    const best = optimiseThreshold([a, b], standard);
    expect(best.threshold).toBe(0.9);
    expect(best.raw).toBeCloseTo(0.89, 12);
    const result = scoreCorpus([a, b], standard);
    expect(result.normalised).toBeCloseTo((100 * (0.89 + 1)) / 2, 10);
    expect(result.series.map((s) => s.falsePositives)).toEqual([0, 1]);
  });

  it('rejects windows that overlap or leave the series', () => {
    expect(() =>
      scoreSeries(
        series(
          [],
          [
            [40, 49],
            [45, 60],
          ],
        ),
        0.5,
        standard,
      ),
    ).toThrow(/sorted, disjoint/);
    expect(() => scoreSeries(series([], [[90, 120]]), 0.5, standard)).toThrow(/inside the series/);
  });
});

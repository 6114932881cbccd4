import { describe, expect, it } from 'vitest';
import { createDetector, scoreSeries, type DetectorOptions } from '../../activities/quality/detector.js';
import { mulberry32 as random } from '../../common/seeded-random.js';

const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 6);

/** Hourly points: 100 + a daily wave of ±10 + noise of σ ≈ 1, for the given number of days. */
function dailySeries(days: number, seed = 1): { t: Float64Array; v: Float64Array } {
  const rnd = random(seed);
  const n = days * 24;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = START + i * HOUR;
    const noise = (rnd() + rnd() + rnd() + rnd() - 2) * 1.7;
    v[i] = 100 + 10 * Math.sin((2 * Math.PI * (i % 24)) / 24) + noise;
  }
  return { t, v };
}

function alerts(t: Float64Array, v: Float64Array, options: Partial<DetectorOptions> = {}): number[] {
  const detector = createDetector(options);
  const rows: number[] = [];
  for (let i = 0; i < v.length; i++) if (detector.next(t[i]!, v[i]!).alert) rows.push(i);
  return rows;
}

describe('anomaly detector', () => {
  it('flags a spike on a daily-seasonal series, and only the spike', () => {
    const { t, v } = dailySeries(28);
    const spike = 20 * 24 + 5;
    v[spike] = v[spike]! + 15;
    expect(alerts(t, v)).toEqual([spike]);
    const point = scoreSeries(t, v);
    expect(point.direction[spike]).toBe(1);
    expect(v[spike]).toBeGreaterThan(point.upper[spike]!);
  });

  it('stays quiet on a daily-seasonal series without anomalies after warm-up', () => {
    for (const seed of [1, 2, 3]) {
      const { t, v } = dailySeries(28, seed);
      expect(alerts(t, v)).toEqual([]);
    }
  });

  it('expects the seasonal value: the expected range follows the daily wave', () => {
    const { t, v } = dailySeries(28);
    const { expected, lower, upper } = scoreSeries(t, v);
    for (let i = 21 * 24; i < 28 * 24; i++) {
      const truth = 100 + 10 * Math.sin((2 * Math.PI * (i % 24)) / 24);
      expect(Math.abs(expected[i]! - truth)).toBeLessThan(2);
      expect(lower[i]!).toBeLessThan(truth);
      expect(upper[i]!).toBeGreaterThan(truth);
    }
  });

  it('flags a level shift at its start, as one episode that ends', () => {
    const { t, v } = dailySeries(35);
    const shift = 20 * 24 + 3;
    for (let i = shift; i < v.length; i++) v[i] = v[i]! + 12;
    const rows = alerts(t, v);
    expect(rows[0]).toBeGreaterThanOrEqual(shift);
    expect(rows[0]).toBeLessThanOrEqual(shift + 2);
    // One contiguous-ish episode right after the shift, and silence once the new level is learned.
    expect(rows.every((r) => r < shift + 3 * 24)).toBe(true);
  });

  it("ignores drops when the direction is 'spike'", () => {
    const { t, v } = dailySeries(28);
    const drop = 20 * 24 + 5;
    v[drop] = v[drop]! - 15;
    expect(alerts(t, v, { direction: 'both' })).toEqual([drop]);
    expect(alerts(t, v, { direction: 'drop' })).toEqual([drop]);
    expect(alerts(t, v, { direction: 'spike' })).toEqual([]);
  });

  it('ignores deviations smaller than the absolute or relative minimum change', () => {
    const { t, v } = dailySeries(28);
    const spike = 20 * 24 + 5;
    v[spike] = v[spike]! + 15;
    expect(alerts(t, v, { minAbsoluteChange: 20 })).toEqual([]);
    expect(alerts(t, v, { minRelativeChange: 0.2 })).toEqual([]);
    expect(alerts(t, v, { minAbsoluteChange: 5, minRelativeChange: 0.05 })).toEqual([spike]);
  });

  it('is causal: the score of a point does not change when later points change', () => {
    const { t, v } = dailySeries(28);
    const before = scoreSeries(t, v);
    const cut = 15 * 24;
    const altered = Float64Array.from(v);
    const rnd = random(99);
    for (let i = cut + 1; i < altered.length; i++) altered[i] = rnd() * 1000 - 500;
    const after = scoreSeries(t, altered);
    expect(Array.from(after.scores.subarray(0, cut + 1))).toEqual(Array.from(before.scores.subarray(0, cut + 1)));
    expect(Array.from(after.expected.subarray(0, cut + 1))).toEqual(Array.from(before.expected.subarray(0, cut + 1)));
  });

  it('scores in [0, 1] and never alerts during warm-up', () => {
    const { t, v } = dailySeries(10);
    v[30] = 1000;
    const { scores } = scoreSeries(t, v, { warmupPoints: 48 });
    expect(Array.from(scores.subarray(0, 48)).every((s) => s === 0)).toBe(true);
    expect(Array.from(scores).every((s) => s >= 0 && s <= 1)).toBe(true);
  });

  it('depends on the time of day and week, not the epoch: whole weeks earlier or later score the same', () => {
    const { t, v } = dailySeries(28);
    v[20 * 24 + 5] = v[20 * 24 + 5]! + 15;
    const base = scoreSeries(t, v);
    const WEEK = 7 * 24 * HOUR;
    // Before 1970 (negative timestamps), and beyond 2^52 ms (where slots take the floating-point remainder path).
    for (const weeks of [-3000, 520, 8_000_000]) {
      const shifted = scoreSeries(
        t.map((x) => x + weeks * WEEK),
        v,
      );
      expect(Array.from(shifted.scores)).toEqual(Array.from(base.scores));
      expect(Array.from(shifted.expected)).toEqual(Array.from(base.expected));
      expect(Array.from(shifted.upper)).toEqual(Array.from(base.upper));
      expect(Array.from(shifted.direction)).toEqual(Array.from(base.direction));
    }
  });

  it('keeps calibrating over long series with a short memory (the decaying histogram rescales)', () => {
    const { t, v } = dailySeries(500);
    const spike = v.length - 30;
    v[spike] = v[spike]! + 20;
    const { scores } = scoreSeries(t, v, { memory: 20 });
    expect(Array.from(scores).every((s) => Number.isFinite(s) && s >= 0 && s < 1)).toBe(true);
    expect(scores[spike]!).toBe(Math.max(...scores.subarray(v.length - 24 * 7)));
  });
});

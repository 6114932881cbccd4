import { describe, expect, it } from 'vitest';
import { createDetector, type DetectorOptions } from '../../activities/quality/detector.js';
import { mulberry32 as random } from '../../common/seeded-random.js';

// Planted incidents in the shapes the scan's real metrics take (volume, freshness lag, null rate,
// duration of hourly syncs): each series is clean but for the incident, and the test asserts
// both that the incident alerts and that nothing else does.

const HOUR = 3_600_000;
// A Monday, so day d of a series is weekday d % 7 (0 = Monday).
const START = Date.UTC(2025, 0, 6);

interface Series {
  t: Float64Array;
  v: Float64Array;
}

function hourly(days: number, value: (i: number, noise: number) => number, seed = 7): Series {
  const rnd = random(seed);
  const n = days * 24;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = START + i * HOUR;
    v[i] = value(i, rnd() + rnd() + rnd() + rnd() - 2);
  }
  return { t, v };
}

function alerts({ t, v }: Series, options: Partial<DetectorOptions> = {}): number[] {
  const detector = createDetector(options);
  const rows: number[] = [];
  for (let i = 0; i < v.length; i++) if (detector.next(t[i]!, v[i]!).alert) rows.push(i);
  return rows;
}

/** Orders per hour: a daily wave, and weekends at half the weekday volume. */
function weeklyVolume(days: number, seed?: number): Series {
  return hourly(
    days,
    (i, noise) => {
      const weekend = Math.floor(i / 24) % 7 >= 5;
      const day = 200 + 80 * Math.sin((2 * Math.PI * ((i % 24) - 6)) / 24);
      return (weekend ? 0.5 : 1) * day + 4 * noise;
    },
    seed,
  );
}

describe('planted incidents on sync metrics', () => {
  it('weekly pattern: weekends at half volume are normal; a Tuesday at weekend volume alerts', () => {
    for (const seed of [1, 2, 3]) expect(alerts(weeklyVolume(42, seed)), `seed ${seed}`).toEqual([]);
    const s = weeklyVolume(42);
    // Tuesday of week 5, 09:00–11:00, at the volume of a Saturday.
    const from = (4 * 7 + 1) * 24 + 9;
    for (let i = from; i < from + 3; i++) s.v[i] = s.v[i]! * 0.5;
    const rows = alerts(s);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r >= from && r < from + 3 + 6)).toBe(true);
  });

  it('slow drift: a freshness lag creeping up over two days alerts before it has doubled, and not before it starts', () => {
    // Lag in minutes: about 10, noise about 1; from day 21 it grows by 0.2 minutes an hour.
    const driftFrom = 21 * 24;
    const s = hourly(28, (i, noise) => 10 + noise + (i >= driftFrom ? 0.2 * (i - driftFrom) : 0));
    const rows = alerts(s);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toBeGreaterThanOrEqual(driftFrom);
    // Doubled (+10 minutes) after 50 hours.
    expect(rows[0]).toBeLessThan(driftFrom + 50);
  });

  it('level shift that becomes the new normal: one alert episode, then it adapts', () => {
    const shiftAt = 21 * 24 + 4;
    const s = hourly(42, (i, noise) => (i >= shiftAt ? 160 : 100) + 20 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 2 * noise);
    const rows = alerts(s);
    expect(rows[0]).toBeGreaterThanOrEqual(shiftAt);
    expect(rows[0]).toBeLessThanOrEqual(shiftAt + 2);
    // The episode ends within a day, and the new level raises nothing afterwards.
    expect(rows.every((r) => r < shiftAt + 24)).toBe(true);
    // Adapted: from a week on, the expected value is the new level's.
    const detector = createDetector();
    for (let i = 0; i < s.v.length; i++) {
      const { expected } = detector.next(s.t[i]!, s.v[i]!);
      if (i >= shiftAt + 7 * 24) expect(Math.abs(expected - s.v[i]!) / 160).toBeLessThan(0.05);
    }
  });

  it('a mostly zero series (quarantined rows per sync) stays quiet on its odd ones and twos, and alerts on a burst', () => {
    const rnd = random(11);
    const quiet = hourly(35, () => {
      const u = rnd();
      return u < 0.93 ? 0 : u < 0.98 ? 1 : 2;
    });
    expect(alerts(quiet)).toEqual([]);
    const burstAt = 28 * 24 + 13;
    quiet.v[burstAt] = 40;
    expect(alerts(quiet)).toEqual([burstAt]);
  });

  it("operator feedback 'normal' feeds the point back at full weight: the model takes the new level sooner", () => {
    const shiftAt = 21 * 24 + 4;
    const s = hourly(28, (i, noise) => (i >= shiftAt ? 160 : 100) + 20 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 2 * noise);
    const expectedAfter = (calledNormal: number) => {
      const detector = createDetector();
      let expected = NaN;
      for (let i = 0; i <= shiftAt + 24; i++) {
        const known = i >= shiftAt && i < shiftAt + calledNormal ? 'normal' : undefined;
        expected = detector.next(s.t[i]!, s.v[i]!, known).expected;
      }
      return Math.abs(expected - s.v[shiftAt + 24]!);
    };
    // Without feedback the alerting points are learnt down-weighted and the model lags a day on.
    expect(expectedAfter(0)).toBeGreaterThan(20);
    expect(expectedAfter(12)).toBeLessThan(expectedAfter(0) / 2);
  });
});

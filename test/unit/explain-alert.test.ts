import { describe, expect, it } from 'vitest';
import { createDetector, FIRED, firedMembers } from '../../activities/quality/detector.js';
import { explainAlert } from '../../activities/quality/explain.js';
import { mulberry32 as random } from '../../common/seeded-random.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Tuesday 2025-01-07 09:00 UTC.
const TUESDAY_9 = Date.UTC(2025, 0, 7, 9);

describe('an alert in plain words', () => {
  it('says how many times the usual amount, naming the weekday and hour of a weekly profile', () => {
    const e = explainAlert({
      metric: 'volume',
      atMs: TUESDAY_9,
      value: 340,
      expected: 100,
      lower: 90,
      upper: 110,
      fired: FIRED.point,
      profile: 7 * DAY,
    });
    expect(e).toEqual({ members: ['point'], text: '3.4× the usual Tuesday 09:00 UTC volume' });
  });

  it('says what share of the usual amount a drop is, with the hour of a daily profile', () => {
    const e = explainAlert({
      metric: 'volume',
      atMs: TUESDAY_9,
      value: 5,
      expected: 100,
      lower: 90,
      upper: 110,
      fired: FIRED.shift,
      profile: DAY,
    });
    expect(e.text).toBe('a sustained change: 5% of the usual 09:00 UTC volume');
  });

  it('gives the value against the expected range when a ratio says little (rates, values near zero)', () => {
    const e = explainAlert({
      metric: 'null_rate',
      atMs: TUESDAY_9,
      value: 0.33,
      expected: -0.001,
      lower: -0.01,
      upper: 0.02,
      fired: FIRED.drift | FIRED.shift,
      profile: 0,
    });
    expect(e).toEqual({ members: ['shift', 'drift'], text: 'a sustained change: 0.33, above the usual null rate (-0.01 … 0.02)' });
  });

  it("names the detector's members that fired on a real alert, and none on a quiet point", () => {
    const rnd = random(3);
    const detector = createDetector();
    let quiet = -1;
    for (let i = 0; i < 21 * 24; i++) {
      const p = detector.next(i * HOUR, 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + rnd() - 0.5);
      if (!p.alert) quiet = p.fired;
    }
    expect(quiet).toBe(0);
    const spike = detector.next(21 * 24 * HOUR, 180);
    expect(spike.alert).toBe(true);
    expect(firedMembers(spike.fired)).toContain('point');
    // A daily wave: the daily profile, or the weekly one that holds it too (day 21 is a Thursday).
    expect([DAY, 7 * DAY]).toContain(spike.profile);
    expect(explainAlert({ metric: 'volume', atMs: 21 * 24 * HOUR, value: 180, ...spike }).text).toMatch(
      /^1\.\d+× the usual (Thursday )?00:00 UTC volume$/,
    );
  });
});

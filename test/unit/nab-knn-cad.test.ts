import { describe, expect, it } from 'vitest';
import { KNN_CAD_NAB, knnCadScores } from '../../bench/nab/knn-cad.js';

const OPTIONS = { ...KNN_CAD_NAB, probation: 300 };

/** A noisy daily-like sine (period 50) from a fixed LCG, with one spike to +8 at `spikeAt`. */
function sineWithSpike(rows: number, spikeAt: number): Float64Array {
  let state = 12345;
  const noise = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const values = Float64Array.from({ length: rows }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 50) + 0.1 * noise());
  values[spikeAt]! += 8;
  return values;
}

describe('KNN CAD', () => {
  it('scores nothing during the probationary rows', () => {
    const scores = knnCadScores(sineWithSpike(900, 700), OPTIONS);
    expect(Math.max(...scores.slice(0, OPTIONS.probation - 1))).toBe(0);
  });

  it('ranks a spike above every calibration window and then rests for a fifth of the probation', () => {
    const scores = knnCadScores(sineWithSpike(900, 700), OPTIONS);
    expect(scores[700]).toBe(1);
    const rest = OPTIONS.probation / 5;
    expect([...scores.slice(701, 701 + rest)].every((s) => s === OPTIONS.restScore)).toBe(true);
    expect(scores[701 + rest]).not.toBe(OPTIONS.restScore);
  });

  it('keeps the ordinary rows below the alarm level', () => {
    const scores = knnCadScores(sineWithSpike(900, 700), OPTIONS);
    const ordinary = [...scores.slice(OPTIONS.probation, 700)];
    expect(ordinary.filter((s) => s >= OPTIONS.alarmLevel).length).toBeLessThan(5);
  });

  it('is deterministic', () => {
    expect(knnCadScores(sineWithSpike(900, 700), OPTIONS)).toEqual(knnCadScores(sineWithSpike(900, 700), OPTIONS));
  });

  it('keeps the identity metric on a flat series (singular Gram matrix) and scores 0', () => {
    const scores = knnCadScores(new Float64Array(600).fill(3), OPTIONS);
    expect(Math.max(...scores)).toBe(0);
  });
});

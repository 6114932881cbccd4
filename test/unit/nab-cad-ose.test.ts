import { describe, expect, it } from 'vitest';
import { cadOseScores, causalCadOseScores } from '../../bench/nab/cad-ose.js';

const NAB_OPTIONS = { valueBits: 3, baseThreshold: 0.75, restPeriod: 30, maxLeftSemiContextLength: 7, maxActiveNeurons: 15 };

/** A repeating ramp 0,1,2,3,2,1,… with one spike to 10 at `spikeAt`. */
function rampWithSpike(rows: number, spikeAt: number): Float64Array {
  const pattern = [0, 1, 2, 3, 2, 1];
  const values = Float64Array.from({ length: rows }, (_, i) => pattern[i % pattern.length]!);
  values[spikeAt] = 10;
  return values;
}

function argmax(scores: Float64Array, from: number): number {
  let best = from;
  for (let i = from; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
  return best;
}

describe('CAD OSE', () => {
  it('learns a repeating pattern and scores an injected spike highest', () => {
    const scores = cadOseScores(rampWithSpike(600, 450), NAB_OPTIONS);
    expect(argmax(scores, 200)).toBe(450);
    expect(scores[450]).toBeGreaterThan(0.5);
    // Once learnt, the pattern itself is mostly predicted: only small scores between warm-up and the spike.
    expect(Math.max(...scores.slice(200, 450))).toBeLessThan(0.25);
  });

  it('rests after a high score', () => {
    const scores = cadOseScores(rampWithSpike(600, 450), NAB_OPTIONS);
    expect(scores[450]).toBeGreaterThanOrEqual(0.75);
    expect(Math.max(...scores.slice(451, 481))).toBe(0);
  });

  it('causally: fixes the range from the warm-up rows and still flags the spike beyond it', () => {
    const scores = causalCadOseScores(rampWithSpike(600, 450), { ...NAB_OPTIONS, warmup: 90, margin: 0 });
    expect(Math.max(...scores.slice(0, 89))).toBe(0);
    expect(argmax(scores, 200)).toBe(450);
  });
});

/**
 * Simple detectors whose published NAB results let us check the scorer: same input, same output,
 * so the per-file scores in numenta/NAB's results/<detector>/<detector>_standard_scores.csv must match.
 */

/** Complementary error function: Chebyshev fit (~1e-7 relative) below 4, a continued fraction above. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  const t = 1 / (1 + 0.5 * x);
  if (x < 4) {
    return (
      t *
      Math.exp(
        -x * x -
          1.26551223 +
          t *
            (1.00002368 +
              t *
                (0.37409196 +
                  t *
                    (0.09678418 +
                      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
      )
    );
  }
  // Lentz continued fraction: erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Q-function of the normal distribution, two-sided as NAB's windowed Gaussian uses it. */
function tailProbability(x: number, mean: number, std: number): number {
  const z = Math.abs(x - mean) / std;
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * NAB's "windowedGaussian": the score of a value is 1 − its tail probability under a normal fitted
 * to the previous ≤ windowSize values (NAB: 6400); the window slides in steps of 100.
 */
export function windowedGaussianScores(values: ArrayLike<number>, windowSize = 6400): Float64Array {
  const stepSize = 100;
  const scores = new Float64Array(values.length);
  let window: number[] = [];
  let buffer: number[] = [];
  let mean = 0;
  let std = 1;
  const refit = (): void => {
    let sum = 0;
    for (const v of window) sum += v;
    mean = sum / window.length;
    let sq = 0;
    for (const v of window) sq += (v - mean) ** 2;
    std = Math.sqrt(sq / window.length);
    if (std === 0) std = 0.000001;
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    scores[i] = window.length > 0 ? 1 - tailProbability(v, mean, std) : 0;
    if (window.length < windowSize) {
      window.push(v);
      refit();
    } else {
      buffer.push(v);
      if (buffer.length === stepSize) {
        window = window.slice(stepSize).concat(buffer);
        buffer = [];
        refit();
      }
    }
  }
  return scores;
}

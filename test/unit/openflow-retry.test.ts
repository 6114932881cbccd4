import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../../common/openflow/retry.js';
import { Retry } from '../../common/openflow/schema.js';

const retry = Retry.parse({
  constant: { attempts: 2, seconds: 3 },
  exponential: { attempts: 3, multiplier: 2, seconds: 2, random_factor: 10 },
});

describe("Windmill's retry schedule", () => {
  it('retries constant attempts first, then multiplier * seconds ^ attempt, then stops', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => retryDelaySeconds(retry, n));
    expect(delays).toEqual([3, 3, 4, 8, 16, undefined]);
  });

  it('spreads an exponential delay by at most random_factor percent', () => {
    expect(retryDelaySeconds(retry, 4, 0)).toBeCloseTo(7.2);
    expect(retryDelaySeconds(retry, 4, 1)).toBeCloseTo(8.8);
    expect(retryDelaySeconds(retry, 1, 0)).toBe(3); // constant retries have no spread
  });

  it('does not retry a step without retry', () => {
    expect(retryDelaySeconds(undefined, 1)).toBeUndefined();
  });
});

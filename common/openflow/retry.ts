import type { z } from 'zod';
import type { Retry } from './schema.js';

/**
 * Windmill's retry schedule (issue 15's reading of it): the constant retries first, `seconds` apart,
 * then the exponential ones, the k-th after `multiplier * seconds ^ k` seconds, spread by
 * ±`random_factor` percent. No `retry` means no retries, as in Windmill. `random` (0..1) is passed
 * in so a workflow can use its deterministic random.
 */
export function retryDelaySeconds(retry: z.output<typeof Retry> | undefined, failures: number, random = 0.5): number | undefined {
  if (!retry || failures < 1) return undefined;
  const constant = retry.constant?.attempts ?? 0;
  if (failures <= constant) return retry.constant?.seconds ?? 0;
  const k = failures - constant;
  const exp = retry.exponential;
  if (!exp || k > exp.attempts) return undefined;
  const delay = exp.multiplier * exp.seconds ** k;
  const spread = (exp.random_factor ?? 0) / 100;
  return delay * (1 + spread * (2 * random - 1));
}

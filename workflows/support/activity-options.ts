import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/**
 * Named activity options. A workflow proxies each activity under the preset it is for
 * (`proxyActivities<Pick<Acts, 'planSync' | 'finishSync'>>(short)`), so a two-hour copy cannot
 * type-check under the two-minute options.
 */

/** Catalog reads and writes: quick steps, retried for about five minutes. */
export const short: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
};

/** Slower backoff for steps that move or score a lot of data: a store under load gets room to recover. */
function slowRetry(maximumAttempts: number): RetryPolicy {
  return { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts };
}

/** A chunk of pages copied between stores: heartbeats after each page, and a retry resumes from the last one. */
export const copy: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: slowRetry(20),
};

/**
 * A bulk step over many datasets (a scan group, a day's scores, a page of embeddings): it heartbeats
 * as it goes and a retry redoes it, which its upserts make safe.
 */
export function bulk(options: {
  timeout: ActivityOptions['startToCloseTimeout'];
  heartbeat: ActivityOptions['heartbeatTimeout'];
  attempts: number;
}): ActivityOptions {
  return { startToCloseTimeout: options.timeout, heartbeatTimeout: options.heartbeat, retry: slowRetry(options.attempts) };
}

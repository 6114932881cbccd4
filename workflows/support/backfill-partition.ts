import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { BackfillActivities } from '../../activities/ingestion/backfill.js';
import { copy, short } from './activity-options.js';
import { proxySyncSteps, type SyncSteps } from './sync-steps.js';

/** A partition tries each step three times, then is recorded as failed and the backfill moves on. */
const partitionAttempts = (preset: ActivityOptions): ActivityOptions => ({ ...preset, retry: { ...preset.retry, maximumAttempts: 3 } });

/** A partition's sync runs the sync's own steps, each named by its partition in the Web UI. */
export function partitionSteps(key: string): SyncSteps {
  const each: ActivityOptions = {
    // On cancel, wait for the step to stop (a copy after its current page) or finish, so that the
    // backfill's counts are what happened.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `partition ${key}`,
  };
  return proxySyncSteps({ short: { ...partitionAttempts(short), ...each }, copy: { ...partitionAttempts(copy), ...each } });
}

/** Records a partition that failed or was cancelled, named by its partition in the Web UI. */
export function recordPartitionFailure(key: string) {
  return proxyActivities<Pick<BackfillActivities, 'recordPartitionFailure'>>({ ...short, summary: `partition ${key}` })
    .recordPartitionFailure;
}

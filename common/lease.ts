import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ErrorType } from './errors.js';

/**
 * One writer per dataset: the lease a sync or a backfill holds in the catalog while it writes.
 * Pure and workflow-safe: the holder, the timings and the busy error.
 */

/** Who holds a lease: a workflow, and the first run of its chain (kept over a continue-as-new). */
export interface LeaseHolder {
  workflowId: string;
  runId: string;
}

export type LeaseTake = { taken: true } | { taken: false; holder: LeaseHolder; expiresAt: string };

export const WhenBusy = z
  .enum(['fail', 'wait'])
  .default('fail')
  .describe('another run holds the dataset: fail at once ("dataset busy"), or wait for it to end (polled with backoff)');
export type WhenBusy = z.output<typeof WhenBusy>;

/** A lease lives this long without a renewal: after a crash, a new run may take it once it has passed. */
export const LEASE_TTL_SECONDS = 120;
/** The holder renews well within the time to live, so a slow renewal never lets it lapse. */
export const LEASE_RENEW_EVERY = '30 seconds';
/** A waiting run polls from every second, doubling up to every minute. */
export const BUSY_POLL_FIRST_MS = 1_000;
export const BUSY_POLL_MAX_MS = 60_000;

/** Details of a busy failure: structured, so a caller reads the holder without parsing the message. */
export interface DatasetBusyDetails {
  dataset: string;
  holder: LeaseHolder;
}

export function datasetBusy(dataset: string, holder: LeaseHolder): ApplicationFailure {
  return ApplicationFailure.create({
    message: `dataset busy: ${dataset} is held by ${holder.workflowId}`,
    type: ErrorType.datasetBusy,
    nonRetryable: true,
    details: [{ dataset, holder } satisfies DatasetBusyDetails],
  });
}

/** The lease was taken over (it expired while its holder could not renew it): this run must stop writing. */
export function leaseLost(dataset: string, holder: LeaseHolder | null): ApplicationFailure {
  return ApplicationFailure.create({
    message: `lease lost: ${dataset} is ${holder ? `now held by ${holder.workflowId}` : 'no longer held by this run'}`,
    type: ErrorType.leaseLost,
    nonRetryable: true,
  });
}

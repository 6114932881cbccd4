import { CancellationScope, ContinueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import {
  BUSY_POLL_FIRST_MS,
  BUSY_POLL_MAX_MS,
  LEASE_RENEW_EVERY,
  LEASE_TTL_SECONDS,
  datasetBusy,
  leaseLost,
  type LeaseHolder,
  type WhenBusy,
} from '../../common/lease.js';
import { short } from './activity-options.js';

const { takeDatasetLease, renewDatasetLease, releaseDatasetLease } =
  proxyActivities<Pick<IngestionActivities, 'takeDatasetLease' | 'renewDatasetLease' | 'releaseDatasetLease'>>(short);

/** The patch that brought the lease: runs recorded before it replay without taking one. */
export const DATASET_LEASE_PATCH = 'dataset-lease';

export interface LeaseRequest {
  dataset: string;
  holder: LeaseHolder;
  whenBusy: WhenBusy;
  /** Told each time the run finds the dataset held and waits for it. */
  waiting?(holder: LeaseHolder): void;
}

/**
 * Runs `work` as the dataset's one writer: takes the lease (failing "dataset busy", or waiting on
 * durable timers), renews it while the work runs, and releases it however the work ends, even on
 * cancel, except on a continue-as-new, whose next run carries the same holder and keeps it.
 */
export async function withDatasetLease<T>(request: LeaseRequest, work: () => Promise<T>): Promise<T> {
  const { dataset, holder } = request;
  for (let waitMs = BUSY_POLL_FIRST_MS; ; waitMs = Math.min(2 * waitMs, BUSY_POLL_MAX_MS)) {
    const took = await takeDatasetLease({ dataset, holder, ttlSeconds: LEASE_TTL_SECONDS });
    if (took.taken) break;
    if (request.whenBusy === 'fail') throw datasetBusy(dataset, took.holder);
    request.waiting?.(took.holder);
    await sleep(waitMs);
  }

  // The keeper is cancelled by us alone: a cancelled run still holds the lease until its cleanup is done.
  let keeper!: CancellationScope;
  const lost = CancellationScope.nonCancellable(() => {
    keeper = new CancellationScope();
    return keeper.run(async (): Promise<never> => {
      for (;;) {
        await sleep(LEASE_RENEW_EVERY);
        if (!(await renewDatasetLease({ dataset, holder, ttlSeconds: LEASE_TTL_SECONDS }))) throw leaseLost(dataset, null);
      }
    });
  });
  lost.catch(() => undefined); // raced below; once the work ends, its cancellation is expected
  let continuing = false;
  try {
    return await Promise.race([work(), lost]);
  } catch (err) {
    continuing = err instanceof ContinueAsNew;
    throw err;
  } finally {
    keeper.cancel();
    if (!continuing) await CancellationScope.nonCancellable(() => releaseDatasetLease({ dataset, holder }));
  }
}

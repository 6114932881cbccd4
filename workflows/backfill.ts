import {
  ActivityCancellationType,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/ingestion/backfill.js';
import { BackfillInput, partitionSyncRunId, type BackfillCarry, type BackfillProgress, type PartitionRef } from '../common/backfill.js';
import { parseInput } from '../common/errors.js';
import type { Partition } from '../common/partitions.js';
import { SyncInput } from '../common/sync.js';
import { isoInterval } from '../common/time.js';
import { copy, short } from './support/activity-options.js';
import { DATASET_LEASE_PATCH, withDatasetLease } from './support/dataset-lease.js';
import { reasonText } from './support/failure-reason.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';
import { proxySyncSteps, runSync, syncState, type SyncSteps } from './support/sync-steps.js';

// Counting a long range's partitions takes longer than a quick catalog step.
const backfill = proxyActivities<Pick<BackfillActivities, 'planBackfill' | 'nextPartitions' | 'finishBackfill' | 'failBackfill'>>({
  ...short,
  startToCloseTimeout: '5 minutes',
});

/** A partition tries each step three times, then is recorded as failed and the backfill moves on. */
const partitionAttempts = (preset: ActivityOptions): ActivityOptions => ({ ...preset, retry: { ...preset.retry, maximumAttempts: 3 } });

/** A partition's sync runs the sync's own steps, each named by its partition in the Web UI. */
function partitionSteps(key: string): SyncSteps {
  const each: ActivityOptions = {
    // On cancel, wait for the step to stop (a copy after its current page) or finish, so that the
    // backfill's counts are what happened.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `partition ${key}`,
  };
  return proxySyncSteps({ short: { ...partitionAttempts(short), ...each }, copy: { ...partitionAttempts(copy), ...each } });
}

function recordPartitionFailure(key: string) {
  return proxyActivities<Pick<BackfillActivities, 'recordPartitionFailure'>>({ ...short, summary: `partition ${key}` })
    .recordPartitionFailure;
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');
export const pauseBackfill = defineUpdate<BackfillProgress>('pause');
export const resumeBackfill = defineUpdate<BackfillProgress>('resume');
export const cancelBackfill = defineUpdate<BackfillProgress>('cancel');
export const setBackfillConcurrency = defineUpdate<BackfillProgress, [number]>('setConcurrency');

export interface BackfillResult extends BackfillProgress {
  status: 'completed' | 'cancelled';
}

/**
 * Backfill a range of partitions of one dataset: each partition is a sync bounded to its
 * window, at most `concurrency` at once; one failing partition never stops the others. The
 * partitions' state lives in MySQL, so a later backfill with mode `missing` or `failed` picks
 * up exactly what is left. Pause, resume, cancel and concurrency are updates.
 */
export async function backfillWorkflow(raw: unknown, carry?: BackfillCarry): Promise<BackfillResult> {
  const input = parseInput(BackfillInput, raw, 'backfill input');
  const info = workflowInfo();
  const progress: BackfillProgress = carry?.progress ?? {
    backfillId: info.runId,
    dataset: input.dataset,
    mode: input.mode,
    partitions: 0,
    toRun: 0,
    succeeded: 0,
    failed: 0,
    running: 0,
    paused: false,
    cancelled: false,
    concurrency: input.concurrency,
    rows: 0,
    etaSeconds: null,
  };
  const startedAtMs = carry?.startedAtMs ?? Date.now();
  const running = new Map<string, Promise<void>>();
  const partitions = new CancellationScope();

  setHandler(backfillProgressQuery, () => progress);
  setHandler(pauseBackfill, () => {
    progress.paused = true;
    return report();
  });
  setHandler(resumeBackfill, () => {
    progress.paused = false;
    return report();
  });
  setHandler(cancelBackfill, () => {
    progress.cancelled = true;
    partitions.cancel();
    return report();
  });
  setHandler(
    setBackfillConcurrency,
    (concurrency) => {
      progress.concurrency = concurrency;
      return report();
    },
    {
      validator: (concurrency) => {
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 200) {
          throw new Error(`concurrency must be a whole number from 1 to 200, not ${concurrency}`);
        }
      },
    },
  );

  let planned = carry !== undefined;
  // The backfill holds the dataset's lease as a whole: its partitions write under it, and take none.
  const lease = { dataset: input.dataset, holder: { workflowId: info.workflowId, runId: progress.backfillId }, whenBusy: input.whenBusy };
  try {
    // Runs started before the lease existed replay without it.
    return patched(DATASET_LEASE_PATCH) ? await withDatasetLease(lease, run) : await run();
  } catch (err) {
    return failRun(err, {
      what: 'backfill',
      context: { dataset: input.dataset, backfillId: progress.backfillId },
      tag: () => {
        if (!planned) tagRun({ kind: 'backfill', dataset: input.dataset, partition: isoInterval(input.from, input.to) });
      },
      record: (outcome, error) => backfill.failBackfill({ backfillId: progress.backfillId, input, progress, outcome, error }),
    });
  }

  async function run(): Promise<BackfillResult> {
    if (!carry) {
      const plan = await backfill.planBackfill(input, { backfillId: progress.backfillId });
      planned = true;
      progress.partitions = plan.partitions;
      progress.toRun = plan.toRun;
      tagRun({ kind: 'backfill', dataset: input.dataset, team: plan.team, partition: isoInterval(input.from, input.to) });
    }
    report();

    // Run the partitions the mode selects, in order, never more than `concurrency` at once.
    let queued: Partition[] = [];
    let fetchedUpTo = carry?.afterKey ?? null;
    let lastStarted = carry?.afterKey ?? null;
    let exhausted = false;
    let startedThisRun = 0;
    for (;;) {
      await condition(() => progress.cancelled || (!progress.paused && running.size < progress.concurrency));
      if (progress.cancelled || startedThisRun >= input.partitionsPerRun || workflowInfo().continueAsNewSuggested) break;
      if (queued.length === 0 && !exhausted) {
        const next = await backfill.nextPartitions({ input, afterKey: fetchedUpTo, limit: 200 });
        queued = next.partitions;
        fetchedUpTo = next.afterKey;
        exhausted = next.exhausted;
      }
      const partition = queued.shift();
      if (!partition) break;
      start(partition);
      lastStarted = partition.key;
      startedThisRun++;
    }
    await condition(() => running.size === 0);
    await condition(allHandlersFinished);

    const more = !progress.cancelled && (queued.length > 0 || !exhausted);
    if (more) {
      // Keep the history bounded: the next run picks up after the last partition started here.
      await continueAsNew<typeof backfillWorkflow>(raw, { backfillId: progress.backfillId, afterKey: lastStarted, progress, startedAtMs });
    }
    const status = progress.cancelled ? 'cancelled' : 'completed';
    await backfill.finishBackfill({ progress, status });
    report();
    markOutcome(progress.cancelled ? 'cancelled' : progress.failed > 0 ? 'partial' : 'succeeded', progress.rows);
    return { ...progress, status };
  }

  /** One partition: the sync of its window, under a run id fixed by backfill and partition. */
  function start(partition: Partition): void {
    const ref: PartitionRef = {
      backfillId: progress.backfillId,
      dataset: input.dataset,
      granularity: input.granularity,
      key: partition.key,
    };
    const state = syncState();
    const syncRunId = partitionSyncRunId(ref);
    const startedAtMs = Date.now();
    progress.running++;
    const done = partitions
      .run(() =>
        runSync(partitionSteps(partition.key), {
          input: parseInput(
            SyncInput,
            { dataset: input.dataset, window: { from: partition.from, to: partition.to }, pageRows: input.pageRows },
            'partition sync input',
          ),
          syncRunId,
          startedAtMs,
          partition: ref,
          state,
        }),
      )
      .then((result) => {
        progress.succeeded++;
        progress.rows += result.rows;
      })
      .catch(async (err: unknown) => {
        const cancelled = isCancellation(err);
        if (!cancelled) progress.failed++;
        // Recorded even while the backfill is being cancelled.
        await CancellationScope.nonCancellable(() =>
          recordPartitionFailure(partition.key)({
            task: ref,
            status: cancelled ? 'cancelled' : 'failed',
            error: reasonText(err),
            syncRunId,
            startedAtMs,
            window: { from: partition.from, to: partition.to },
            ...(state.plan ? { plan: state.plan, totals: state.totals } : {}),
          }),
        );
      })
      .finally(() => {
        progress.running--;
        running.delete(partition.key);
        report();
      });
    running.set(partition.key, done);
  }

  /** Progress, its ETA and the Web UI's current details, brought up to date. */
  function report(): BackfillProgress {
    const finished = progress.succeeded + progress.failed;
    const elapsedSeconds = (Date.now() - startedAtMs) / 1000;
    const remaining = progress.toRun - finished;
    progress.etaSeconds = finished > 0 && remaining > 0 ? Math.round((remaining * elapsedSeconds) / finished) : null;
    const state = progress.cancelled ? 'cancelled' : progress.paused ? 'paused' : 'running';
    setCurrentDetails(
      `**backfill ${progress.dataset}** — ${state}\n\n` +
        `${finished} of ${progress.toRun} partitions done (${progress.failed} failed), ${progress.running} running, ` +
        `concurrency ${progress.concurrency}, ${progress.rows} rows` +
        (progress.etaSeconds !== null ? `, about ${progress.etaSeconds} s to go` : ''),
    );
    return { ...progress };
  }
}

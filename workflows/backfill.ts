import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/ingestion/backfill.js';
import {
  BackfillInput,
  type BackfillCarry,
  type BackfillProgress,
  type PartitionOutcome,
  type PartitionTask,
} from '../common/backfill.js';
import { parseInput } from '../common/errors.js';
import type { Partition } from '../common/partitions.js';
import { SearchAttr } from '../common/search-attributes.js';

const backfill = proxyActivities<BackfillActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** A partition's sync: long copies heartbeat; a retry resumes from the pages already committed. */
function partitionSync(key: string) {
  return proxyActivities<BackfillActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
    // On cancel, wait for the partition to stop (after its current page) or finish, so that
    // the backfill's counts are what happened.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `partition ${key}`,
  }).syncPartition;
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

  if (!carry) {
    const plan = await backfill.planBackfill(input, { backfillId: progress.backfillId });
    progress.partitions = plan.partitions;
    progress.toRun = plan.toRun;
    upsertSearchAttributes([
      { key: SearchAttr.dataset, value: input.dataset },
      { key: SearchAttr.team, value: plan.team },
      { key: SearchAttr.kind, value: 'backfill' },
      { key: SearchAttr.partition, value: `${input.from}/${input.to}` }, // the range, as an ISO 8601 interval
    ]);
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
    if (progress.cancelled || startedThisRun >= input.partitionsPerRun) break;
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
  return { ...progress, status };

  function start(partition: Partition): void {
    const task: PartitionTask = {
      backfillId: progress.backfillId,
      dataset: input.dataset,
      granularity: input.granularity,
      key: partition.key,
      from: partition.from,
      to: partition.to,
      pageRows: input.pageRows,
      startedAtMs: Date.now(),
    };
    progress.running++;
    const done = partitions
      .run(() => partitionSync(partition.key)(task))
      .then((outcome: PartitionOutcome) => {
        progress.succeeded++;
        progress.rows += outcome.rows;
      })
      .catch(async (err: unknown) => {
        const cancelled = isCancellation(err);
        if (!cancelled) progress.failed++;
        const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
        const error = cause instanceof Error ? cause.message : String(cause);
        // Recorded even while the backfill is being cancelled.
        await CancellationScope.nonCancellable(() =>
          backfill.recordPartitionFailure({ task, status: cancelled ? 'cancelled' : 'failed', error }),
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

import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/ingestion/backfill.js';
import { BackfillInput, partitionSyncRunId, type BackfillCarry, type BackfillProgress, type PartitionRef } from '../common/backfill.js';
import { parseInput } from '../common/errors.js';
import type { Partition } from '../common/partitions.js';
import { SyncInput } from '../common/sync.js';
import { isoInterval } from '../common/time.js';
import { short } from './support/activity-options.js';
import { reportBackfill, serveBackfillControls } from './support/backfill-controls.js';
import { partitionSteps, recordPartitionFailure } from './support/backfill-partition.js';
import { DATASET_LEASE_PATCH, withDatasetLease } from './support/dataset-lease.js';
import { reasonText } from './support/failure-reason.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';
import { runSync, syncState } from './support/sync-steps.js';

// Counting a long range's partitions takes longer than a quick catalog step.
const backfill = proxyActivities<Pick<BackfillActivities, 'planBackfill' | 'nextPartitions' | 'finishBackfill' | 'failBackfill'>>({
  ...short,
  startToCloseTimeout: '5 minutes',
});

// The controls' definitions, for clients that import them from here.
export {
  backfillProgressQuery,
  pauseBackfill,
  resumeBackfill,
  cancelBackfill,
  setBackfillConcurrency,
} from './support/backfill-controls.js';

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

  serveBackfillControls(progress, report, () => partitions.cancel());

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

  function report(): BackfillProgress {
    return reportBackfill(progress, startedAtMs);
  }
}

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import type { BackfillInput, BackfillProgress, PartitionRef } from '../../common/backfill.js';
import { ErrorType } from '../../common/errors.js';
import { countPartitions, partitionsBetween, type Partition } from '../../common/partitions.js';
import { emptySyncTotals, type SyncPlan, type SyncTotals } from '../../common/sync.js';
import { createBackfillLedger } from '../catalog/backfill-ledger.js';
import { createDatasetCatalog } from '../catalog/datasets.js';
import type { IngestionActivities } from './index.js';

function take<T>(items: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  while (out.length < n) {
    const next = items.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

/** Which recorded partitions a mode runs again. */
function wanted(mode: BackfillInput['mode'], status: string | undefined): boolean {
  if (mode === 'all') return true;
  if (mode === 'failed') return status === 'failed';
  return status !== 'succeeded'; // missing: never synced, failed, cancelled or cut short
}

export interface PartitionFailure {
  task: PartitionRef;
  status: 'failed' | 'cancelled';
  error: string;
  /** The partition's sync run, recorded even when it failed before it had a plan. */
  syncRunId: string;
  startedAtMs: number;
  window: { from: string; to: string };
  /** The partition's sync plan and what it copied, once it had one. */
  plan?: SyncPlan;
  totals?: SyncTotals;
}

/**
 * The backfill's own activities: which partitions to run, and the backfill's record. A
 * partition itself runs the sync's activities (workflows/support/sync-steps.ts).
 */
export function createBackfillActivities(deps: { catalog: Pool; sync: IngestionActivities }) {
  const ledger = createBackfillLedger(deps.catalog);
  const datasets = createDatasetCatalog(deps.catalog);

  async function partitionsToRun(input: BackfillInput, afterKey: string | null, limit: number) {
    const picked: Partition[] = [];
    let last = afterKey;
    const scan = partitionsBetween(input.from, input.to, input.granularity, afterKey);
    for (;;) {
      const batch = take(scan, 1_000);
      if (batch.length === 0) return { partitions: picked, afterKey: last, exhausted: true };
      const statuses = await ledger.statuses(
        input.dataset,
        input.granularity,
        batch.map((p) => p.key),
      );
      for (const p of batch) {
        last = p.key;
        if (wanted(input.mode, statuses.get(p.key))) picked.push(p);
        if (picked.length >= limit) return { partitions: picked, afterKey: last, exhausted: false };
      }
    }
  }

  return {
    /** Checks the dataset can be partitioned, counts the work and records the backfill. */
    async planBackfill(input: BackfillInput, run: { backfillId: string }): Promise<{ partitions: number; toRun: number; team: string }> {
      const d = await datasets.get(input.dataset);
      if (!d.source.cursor) {
        throw ApplicationFailure.nonRetryable(
          `dataset ${d.name} declares no cursor column, so it has no partitions to backfill`,
          ErrorType.invalidInput,
        );
      }
      const partitions = countPartitions(input.from, input.to, input.granularity);
      let toRun = 0;
      let after: string | null = null;
      for (;;) {
        const page = await partitionsToRun(input, after, 5_000);
        toRun += page.partitions.length;
        after = page.afterKey;
        if (page.exhausted) break;
      }
      await ledger.start({
        backfillId: run.backfillId,
        workflowId: Context.current().info.workflowExecution?.workflowId ?? '',
        input,
        partitions,
        toRun,
      });
      return { partitions, toRun, team: d.team };
    },

    /** The next partitions the backfill's mode selects, in order, after `afterKey`. */
    async nextPartitions({ input, afterKey, limit }: { input: BackfillInput; afterKey: string | null; limit: number }) {
      return partitionsToRun(input, afterKey, limit);
    },

    /**
     * Records a partition whose sync failed for good (or was cancelled): its sync run ends as a
     * failed sync's does, when it got as far as a plan, and the partition with the error.
     */
    async recordPartitionFailure({ task, status, error, plan, totals, syncRunId, startedAtMs, window }: PartitionFailure): Promise<void> {
      if (plan) await deps.sync.failSync({ plan, totals: totals ?? emptySyncTotals(), outcome: status, error });
      else
        await deps.sync.failUnplannedSync({
          syncRunId,
          dataset: task.dataset,
          mode: 'incremental',
          startedAtMs,
          outcome: status,
          error,
          window,
        });
      await ledger.markDone(task, { status, rows: 0, error });
    },

    /** The backfill failed as a whole (planning included): on record with its error, and no longer running. */
    async failBackfill(args: {
      backfillId: string;
      input: BackfillInput;
      progress: BackfillProgress;
      outcome: 'failed' | 'cancelled';
      error: string;
    }): Promise<void> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      await ledger.fail(
        { backfillId: args.backfillId, workflowId, input: args.input, status: args.outcome, error: args.error },
        args.progress,
      );
    },

    async finishBackfill({ progress, status }: { progress: BackfillProgress; status: 'completed' | 'cancelled' }): Promise<void> {
      await ledger.finish(progress.backfillId, status, progress);
    },
  };
}
export type BackfillActivities = ReturnType<typeof createBackfillActivities>;

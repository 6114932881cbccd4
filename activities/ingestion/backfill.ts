import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import type { BackfillInput, BackfillProgress, PartitionOutcome, PartitionTask } from '../../common/backfill.js';
import { ErrorType } from '../../common/errors.js';
import { countPartitions, partitionsBetween, type Partition } from '../../common/partitions.js';
import type { KeysetPosition, SyncTotals } from '../../common/sync.js';
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

/**
 * The backfill's activities. A partition is one activity that runs the whole windowed sync
 * (plan, copy, finish) under a sync run id fixed by backfill and partition, so a retry resumes
 * from the pages already committed.
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
      const statuses = await ledger.statuses(input.dataset, input.granularity, batch.map((p) => p.key));
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
        throw ApplicationFailure.nonRetryable(`dataset ${d.name} declares no cursor column, so it has no partitions to backfill`, ErrorType.invalidInput);
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
      await ledger.start({ backfillId: run.backfillId, workflowId: Context.current().info.workflowExecution?.workflowId ?? '', input, partitions, toRun });
      return { partitions, toRun, team: d.team };
    },

    /** The next partitions the backfill's mode selects, in order, after `afterKey`. */
    async nextPartitions({ input, afterKey, limit }: { input: BackfillInput; afterKey: string | null; limit: number }) {
      return partitionsToRun(input, afterKey, limit);
    },

    /** Syncs one partition's window into silver and bronze, and records its outcome. */
    async syncPartition(task: PartitionTask): Promise<PartitionOutcome> {
      const syncRunId = `${task.backfillId}:${task.key}`;
      await ledger.markRunning(task, syncRunId);
      const plan = await deps.sync.planSync(
        { dataset: task.dataset, mode: 'incremental', window: { from: task.from, to: task.to }, pageRows: task.pageRows, pagesPerChunk: 1_000 },
        { syncRunId, startedAtMs: task.startedAtMs },
      );
      const totals: SyncTotals = { rows: 0, quarantined: 0, bytes: 0, objects: 0 };
      let after: KeysetPosition | null = plan.startAfter;
      let nextSeq = 1;
      // The plan counted the window's rows exactly: an empty partition has nothing to copy.
      for (let chunkDone = plan.estimatedRows === 0; !chunkDone; ) {
        const chunk = await deps.sync.copyChunk({ plan, after, firstSeq: nextSeq });
        // A chunk reports everything committed from firstSeq on, resumed pages included.
        totals.rows += chunk.rows;
        totals.quarantined += chunk.quarantined;
        totals.bytes += chunk.bytes;
        totals.objects += chunk.objects;
        after = chunk.after;
        nextSeq = chunk.nextSeq;
        chunkDone = chunk.done;
      }
      const result = await deps.sync.finishSync({ plan, totals, after });
      const outcome: PartitionOutcome = { key: task.key, status: 'succeeded', rows: result.rows, syncRunId };
      await ledger.markDone(task, outcome);
      return outcome;
    },

    /** Records a partition whose sync failed for good (or was cancelled). */
    async recordPartitionFailure({ task, status, error }: { task: PartitionTask; status: 'failed' | 'cancelled'; error: string }): Promise<void> {
      await ledger.markDone(task, { status, rows: 0, error });
    },

    async finishBackfill({ progress, status }: { progress: BackfillProgress; status: 'completed' | 'cancelled' }): Promise<void> {
      await ledger.finish(progress.backfillId, status, progress);
    },
  };
}
export type BackfillActivities = ReturnType<typeof createBackfillActivities>;

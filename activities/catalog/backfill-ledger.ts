import { ApplicationFailure } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { BackfillInput, BackfillProgress, PartitionRef } from '../../common/backfill.js';
import { ErrorType } from '../../common/errors.js';

export type PartitionStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Backfills and their partitions' state in the catalog: what a later backfill knows is done. */
export function createBackfillLedger(mysql: Pool) {
  return {
    /** Records a backfill; refuses when another one of the same dataset overlaps its range. */
    async start(b: { backfillId: string; workflowId: string; input: BackfillInput; partitions: number; toRun: number }): Promise<void> {
      const { dataset, granularity, from, to, mode } = b.input;
      const [clash] = await mysql.query<RowDataPacket[]>(
        `SELECT backfill_id, workflow_id, range_from, range_to FROM backfills
         WHERE dataset = ? AND status = 'running' AND workflow_id <> ? AND range_from < ? AND range_to > ? LIMIT 1`,
        [dataset, b.workflowId, to, from],
      );
      const other = clash[0];
      if (other) {
        throw ApplicationFailure.nonRetryable(
          `backfill ${other.workflow_id} of ${dataset} is already running over ${other.range_from} … ${other.range_to}: ` +
            'wait for it, or cancel it (temporal workflow update execute --name cancel --workflow-id …)',
          ErrorType.invalidInput,
        );
      }
      await mysql.query(
        `INSERT INTO backfills (backfill_id, dataset, workflow_id, granularity, range_from, range_to, mode, status, partitions, to_run)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) ON DUPLICATE KEY UPDATE status = 'running'`,
        [b.backfillId, dataset, b.workflowId, granularity, from, to, mode, b.partitions, b.toRun],
      );
    },

    async finish(backfillId: string, status: 'completed' | 'cancelled', progress: BackfillProgress): Promise<void> {
      await mysql.query(
        `UPDATE backfills SET status = ?, succeeded = ?, failed = ?, finished_at = UTC_TIMESTAMP(6) WHERE backfill_id = ?`,
        [status, progress.succeeded, progress.failed, backfillId],
      );
    },

    /**
     * A backfill that failed, planning included: recorded (inserted when it failed before it was
     * started) with its error, so that it no longer counts as running over its range.
     */
    async fail(
      b: { backfillId: string; workflowId: string; input: BackfillInput; status: 'failed' | 'cancelled'; error: string },
      progress: BackfillProgress,
    ): Promise<void> {
      const { dataset, granularity, from, to, mode } = b.input;
      await mysql.query(
        `INSERT INTO backfills (backfill_id, dataset, workflow_id, granularity, range_from, range_to, mode, status, partitions, to_run,
           succeeded, failed, error, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
         ON DUPLICATE KEY UPDATE status = VALUES(status), succeeded = VALUES(succeeded), failed = VALUES(failed),
           error = VALUES(error), finished_at = VALUES(finished_at)`,
        [
          b.backfillId,
          dataset,
          b.workflowId,
          granularity,
          from,
          to,
          mode,
          b.status,
          progress.partitions,
          progress.toRun,
          progress.succeeded,
          progress.failed,
          b.error,
        ],
      );
    },

    /** The recorded status of each given partition (absent: never synced by a backfill). */
    async statuses(dataset: string, granularity: string, keys: string[]): Promise<Map<string, PartitionStatus>> {
      if (keys.length === 0) return new Map();
      const [rows] = await mysql.query<RowDataPacket[]>(
        'SELECT partition_key, status FROM backfill_partitions WHERE dataset = ? AND granularity = ? AND partition_key IN (?)',
        [dataset, granularity, keys],
      );
      return new Map(rows.map((r) => [r.partition_key as string, r.status as PartitionStatus]));
    },

    async markRunning(task: PartitionRef, syncRunId: string): Promise<void> {
      await mysql.query(
        `INSERT INTO backfill_partitions (dataset, granularity, partition_key, status, attempts, backfill_id, sync_run_id)
         VALUES (?, ?, ?, 'running', 1, ?, ?)
         ON DUPLICATE KEY UPDATE status = 'running', attempts = attempts + 1, backfill_id = VALUES(backfill_id),
           sync_run_id = VALUES(sync_run_id), error = NULL, updated_at = CURRENT_TIMESTAMP(6)`,
        [task.dataset, task.granularity, task.key, task.backfillId, syncRunId],
      );
    },

    async markDone(
      task: PartitionRef,
      outcome: { status: Exclude<PartitionStatus, 'running'>; rows: number; error?: string },
    ): Promise<void> {
      await mysql.query(
        `UPDATE backfill_partitions SET status = ?, rows_copied = ?, error = ?, updated_at = CURRENT_TIMESTAMP(6)
         WHERE dataset = ? AND granularity = ? AND partition_key = ?`,
        [outcome.status, outcome.rows, outcome.error ?? null, task.dataset, task.granularity, task.key],
      );
    },
  };
}
export type BackfillLedger = ReturnType<typeof createBackfillLedger>;

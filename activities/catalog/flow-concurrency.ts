import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { FlowSlotAnswer, FlowSlotClaim, FlowSlotHolder } from '../../common/openflow/run.js';

/**
 * OpenFlow concurrency limits in the catalog, as Windmill counts them: a run of a key holds a slot
 * while it runs, and its start counts against the key's time window; past `limit`, a claim is
 * answered with when to ask again. A holder that ended without releasing (terminated, say) is
 * found out by `isRunning` and its slot closed. Times are the database's clock.
 */
export function createFlowConcurrency(mysql: Pool, isRunning: (holder: FlowSlotHolder) => Promise<boolean>) {
  return {
    async claimFlowSlot(claim: FlowSlotClaim): Promise<FlowSlotAnswer> {
      const { key, limit, windowSeconds, workflowId, runId } = claim;
      const conn = await mysql.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query('INSERT IGNORE INTO flow_concurrency_keys (concurrency_key) VALUES (?)', [key]);
        await conn.query('SELECT concurrency_key FROM flow_concurrency_keys WHERE concurrency_key = ? FOR UPDATE', [key]);
        await conn.query(
          `DELETE FROM flow_concurrency_slots WHERE concurrency_key = ? AND finished_at IS NOT NULL
             AND started_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND`,
          [key, windowSeconds],
        );
        const [rows] = await conn.query<RowDataPacket[]>(
          `SELECT workflow_id, run_id, finished_at IS NULL AS open,
             TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), started_at + INTERVAL ? SECOND) AS window_left_us
           FROM flow_concurrency_slots WHERE concurrency_key = ?`,
          [windowSeconds, key],
        );
        if (rows.some((r) => r.workflow_id === workflowId && r.run_id === runId)) {
          await conn.commit(); // a retried claim: the slot is already this run's
          return { granted: true };
        }
        let running = 0;
        const windowLeftMs: number[] = [];
        for (const r of rows) {
          const holder = { workflowId: r.workflow_id as string, runId: r.run_id as string };
          const open = Boolean(r.open) && (await isRunning(holder));
          if (Boolean(r.open) && !open)
            await conn.query(
              `UPDATE flow_concurrency_slots SET finished_at = UTC_TIMESTAMP(6)
               WHERE concurrency_key = ? AND workflow_id = ? AND run_id = ?`,
              [key, holder.workflowId, holder.runId],
            );
          if (open) running++;
          else if (Number(r.window_left_us) > 0) windowLeftMs.push(Number(r.window_left_us) / 1000);
        }
        if (running + windowLeftMs.length < limit) {
          await conn.query(
            `INSERT INTO flow_concurrency_slots (concurrency_key, workflow_id, run_id, started_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))`,
            [key, workflowId, runId],
          );
          await conn.commit();
          return { granted: true };
        }
        await conn.commit();
        // Only starts in the window stand in the way: the first of them to leave it frees a slot.
        const retryInMs = running === 0 ? Math.ceil(Math.min(...windowLeftMs)) : undefined;
        return { granted: false, held: running + windowLeftMs.length, ...(retryInMs !== undefined ? { retryInMs } : {}) };
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },

    /** Ends the run's slot; its start still counts until it leaves the time window. */
    async releaseFlowSlot({ key, workflowId, runId }: Omit<FlowSlotClaim, 'limit' | 'windowSeconds'>): Promise<void> {
      await mysql.query(
        `UPDATE flow_concurrency_slots SET finished_at = UTC_TIMESTAMP(6)
         WHERE concurrency_key = ? AND workflow_id = ? AND run_id = ? AND finished_at IS NULL`,
        [key, workflowId, runId],
      );
    },
  };
}

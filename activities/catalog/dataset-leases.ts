import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { LeaseHolder, LeaseTake } from '../../common/lease.js';

/**
 * Dataset leases in the catalog: one holder per dataset, taken free or expired, renewed by its
 * holder, deleted on release. Times are the database's clock, so workers' clocks do not matter.
 */
export function createDatasetLeases(mysql: Pool) {
  return {
    /** Takes the lease if it is free, expired or already this holder's (a continued run renews it). */
    async take(dataset: string, holder: LeaseHolder, ttlSeconds: number): Promise<LeaseTake> {
      const conn = await mysql.getConnection();
      try {
        await conn.beginTransaction();
        const [rows] = await conn.query<RowDataPacket[]>(
          `SELECT holder_workflow_id, holder_run_id, expires_at < UTC_TIMESTAMP(6) AS expired,
             DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS expires_at
           FROM dataset_leases WHERE dataset = ? FOR UPDATE`,
          [dataset],
        );
        const current = rows[0];
        const mine = current && current.holder_workflow_id === holder.workflowId && current.holder_run_id === holder.runId;
        if (current && !mine && !current.expired) {
          await conn.rollback();
          return {
            taken: false,
            holder: { workflowId: current.holder_workflow_id as string, runId: current.holder_run_id as string },
            expiresAt: current.expires_at as string,
          };
        }
        await conn.query(
          `INSERT INTO dataset_leases (dataset, holder_workflow_id, holder_run_id, taken_at, expires_at)
           VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? SECOND)
           ON DUPLICATE KEY UPDATE holder_workflow_id = VALUES(holder_workflow_id), holder_run_id = VALUES(holder_run_id),
             taken_at = IF(?, taken_at, VALUES(taken_at)), expires_at = VALUES(expires_at)`,
          [dataset, holder.workflowId, holder.runId, ttlSeconds, mine ? 1 : 0],
        );
        await conn.commit();
        return { taken: true };
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },

    /** Extends the holder's lease; false when it is no longer the holder's (expired and taken, or released). */
    async renew(dataset: string, holder: LeaseHolder, ttlSeconds: number): Promise<boolean> {
      const [result] = await mysql.query(
        `UPDATE dataset_leases SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND
         WHERE dataset = ? AND holder_workflow_id = ? AND holder_run_id = ?`,
        [ttlSeconds, dataset, holder.workflowId, holder.runId],
      );
      return (result as { affectedRows: number }).affectedRows > 0;
    },

    /** Releases the holder's lease; a lease someone else took meanwhile stays theirs. */
    async release(dataset: string, holder: LeaseHolder): Promise<void> {
      await mysql.query('DELETE FROM dataset_leases WHERE dataset = ? AND holder_workflow_id = ? AND holder_run_id = ?', [
        dataset,
        holder.workflowId,
        holder.runId,
      ]);
    },

    /** The current holder, expired or not (for tests and operators). */
    async holderOf(dataset: string): Promise<LeaseHolder | null> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT holder_workflow_id, holder_run_id FROM dataset_leases WHERE dataset = ?', [
        dataset,
      ]);
      const r = rows[0];
      return r ? { workflowId: r.holder_workflow_id as string, runId: r.holder_run_id as string } : null;
    },
  };
}
export type DatasetLeases = ReturnType<typeof createDatasetLeases>;

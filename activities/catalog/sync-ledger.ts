import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { KeysetPosition, SyncPlan, SyncTotals } from '../../common/sync.js';
import { jsonValue } from './columns.js';

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | null => (v === null || v === undefined ? null : (jsonValue(v) as T));

export interface ManifestEntry {
  seq: number;
  objectKey: string | null;
  rows: number;
  bytes: number;
  sha256: string | null;
  firstPosition: KeysetPosition | null;
  lastPosition: KeysetPosition | null;
  quarantined: number;
  quarantineKey: string | null;
  nullCounts: Record<string, number>;
}

/** Runs, watermarks and manifests of syncs: the catalog's record of what moved where. */
export function createSyncLedger(mysql: Pool) {
  return {
    async readWatermark(dataset: string): Promise<KeysetPosition | null> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT position FROM watermarks WHERE dataset = ?', [dataset]);
      return parse<KeysetPosition>(rows[0]?.position);
    },

    /** Called inside the page's transaction, so the watermark moves exactly when the rows land. */
    async commitWatermark(conn: PoolConnection, dataset: string, position: KeysetPosition, syncRunId: string): Promise<void> {
      await conn.query(
        `INSERT INTO watermarks (dataset, position, sync_run_id) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE position = VALUES(position), sync_run_id = VALUES(sync_run_id), updated_at = CURRENT_TIMESTAMP(6)`,
        [dataset, json(position), syncRunId],
      );
    },

    async recordManifestEntry(conn: PoolConnection, syncRunId: string, e: ManifestEntry): Promise<void> {
      await conn.query(
        `INSERT INTO sync_manifest (sync_run_id, seq, object_key, rows_copied, bytes, sha256, first_position, last_position,
           rows_quarantined, quarantine_key, null_counts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE object_key = VALUES(object_key), rows_copied = VALUES(rows_copied), bytes = VALUES(bytes),
           sha256 = VALUES(sha256), first_position = VALUES(first_position), last_position = VALUES(last_position),
           rows_quarantined = VALUES(rows_quarantined), quarantine_key = VALUES(quarantine_key), null_counts = VALUES(null_counts)`,
        [
          syncRunId,
          e.seq,
          e.objectKey,
          e.rows,
          e.bytes,
          e.sha256,
          json(e.firstPosition),
          json(e.lastPosition),
          e.quarantined,
          e.quarantineKey,
          JSON.stringify(e.nullCounts),
        ],
      );
    },

    async manifest(syncRunId: string, fromSeq = 0, toSeq?: number): Promise<ManifestEntry[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT * FROM sync_manifest WHERE sync_run_id = ? AND seq >= ?${toSeq === undefined ? '' : ' AND seq <= ?'} ORDER BY seq`,
        [syncRunId, fromSeq, ...(toSeq === undefined ? [] : [toSeq])],
      );
      return rows.map((r) => ({
        seq: r.seq,
        objectKey: r.object_key,
        rows: Number(r.rows_copied),
        bytes: Number(r.bytes),
        sha256: r.sha256,
        firstPosition: parse<KeysetPosition>(r.first_position),
        lastPosition: parse<KeysetPosition>(r.last_position),
        quarantined: Number(r.rows_quarantined),
        quarantineKey: r.quarantine_key,
        nullCounts: parse<Record<string, number>>(r.null_counts) ?? {},
      }));
    },

    async startRun(
      plan: SyncPlan,
      workflowId: string,
      watermarkFrom: KeysetPosition | null,
      window?: { from: string; to: string },
    ): Promise<void> {
      await mysql.query(
        `INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, estimated_rows, rows_without_cursor,
           watermark_from, window_from, window_to)
         VALUES (?, ?, ?, ?, 'running', FROM_UNIXTIME(? / 1000), ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE estimated_rows = VALUES(estimated_rows)`,
        [
          plan.syncRunId,
          plan.dataset,
          workflowId,
          plan.mode,
          plan.startedAtMs,
          plan.estimatedRows,
          plan.rowsWithoutCursor,
          json(watermarkFrom),
          window?.from ?? null,
          window?.to ?? null,
        ],
      );
    },

    /**
     * A run that ended before it had a plan (the dataset unknown, the source refusing, a table
     * without a key): recorded as ended with its error, under the name the input gave.
     */
    async recordUnplannedRun(r: {
      syncRunId: string;
      dataset: string;
      workflowId: string;
      mode: string;
      startedAtMs: number;
      status: 'failed' | 'cancelled';
      error: string;
      window?: { from: string; to: string };
    }): Promise<void> {
      await mysql.query(
        `INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, finished_at, window_from, window_to, error)
         VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(? / 1000), UTC_TIMESTAMP(6), ?, ?, ?)
         ON DUPLICATE KEY UPDATE status = VALUES(status), finished_at = COALESCE(finished_at, VALUES(finished_at)), error = VALUES(error)`,
        [r.syncRunId, r.dataset, r.workflowId, r.mode, r.status, r.startedAtMs, r.window?.from ?? null, r.window?.to ?? null, r.error],
      );
    },

    async finishRun(
      syncRunId: string,
      status: 'succeeded' | 'failed' | 'cancelled',
      totals: SyncTotals,
      extra: { deleted?: number; watermarkTo?: KeysetPosition | null; manifestKey?: string; error?: string },
    ): Promise<void> {
      await mysql.query(
        `UPDATE sync_runs SET status = ?, finished_at = COALESCE(finished_at, UTC_TIMESTAMP(6)), rows_copied = ?, rows_quarantined = ?,
           bytes = ?, objects = ?, rows_deleted = ?, watermark_to = ?, manifest_key = ?, error = ?
         WHERE sync_run_id = ?`,
        [
          status,
          totals.rows,
          totals.quarantined,
          totals.bytes,
          totals.objects,
          extra.deleted ?? 0,
          json(extra.watermarkTo),
          extra.manifestKey ?? null,
          extra.error ?? null,
          syncRunId,
        ],
      );
    },

    async run(syncRunId: string): Promise<RowDataPacket | undefined> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT * FROM sync_runs WHERE sync_run_id = ?', [syncRunId]);
      return rows[0];
    },
  };
}
export type SyncLedger = ReturnType<typeof createSyncLedger>;

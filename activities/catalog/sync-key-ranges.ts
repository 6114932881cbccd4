import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { KeysetPosition, SyncTotals } from '../../common/sync.js';
import { jsonValue } from './columns.js';

const json = (v: KeysetPosition | null) => (v === null ? null : JSON.stringify(v));
const position = (v: unknown): KeysetPosition | null => (v === null || v === undefined ? null : (jsonValue(v) as KeysetPosition));

/** One planned range of a sync's primary key: rows after `after` through `through` (null: open end). */
export interface KeyRange {
  range: number;
  after: KeysetPosition | null;
  through: KeysetPosition | null;
  /** Set once every page of the range is committed: what it copied. */
  done: SyncTotals | null;
}

/** The key ranges of syncs copied in parallel (`sync_key_ranges`), planned once per run. */
export function createKeyRangeLedger(mysql: Pool) {
  return {
    /**
     * Records the ranges cut at `cuts` unless the run has ranges already, and returns how many the
     * run has. The run's row is locked meanwhile, so two attempts never mix their cuts.
     */
    async plan(syncRunId: string, cuts: () => Promise<KeysetPosition[]>): Promise<number> {
      const conn = await mysql.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query('SELECT sync_run_id FROM sync_runs WHERE sync_run_id = ? FOR UPDATE', [syncRunId]);
        const [have] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM sync_key_ranges WHERE sync_run_id = ?', [syncRunId]);
        let count = Number(have[0]?.n ?? 0);
        if (count === 0) {
          const bounds = [null, ...(await cuts()), null];
          const rows = bounds.slice(1).map((through, i) => [syncRunId, i, json(bounds[i]!), json(through)]);
          await conn.query('INSERT INTO sync_key_ranges (sync_run_id, range_no, after_position, through_position) VALUES ?', [rows]);
          count = rows.length;
        }
        await conn.commit();
        return count;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },

    async get(syncRunId: string, range: number): Promise<KeyRange | undefined> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT * FROM sync_key_ranges WHERE sync_run_id = ? AND range_no = ?', [
        syncRunId,
        range,
      ]);
      const r = rows[0];
      if (!r) return undefined;
      return {
        range,
        after: position(r.after_position),
        through: position(r.through_position),
        done: r.done_at
          ? { rows: Number(r.rows_copied), quarantined: Number(r.rows_quarantined), bytes: Number(r.bytes), objects: Number(r.objects) }
          : null,
      };
    },

    async markDone(syncRunId: string, range: number, totals: SyncTotals): Promise<void> {
      await mysql.query(
        `UPDATE sync_key_ranges SET rows_copied = ?, rows_quarantined = ?, bytes = ?, objects = ?, done_at = UTC_TIMESTAMP(6)
         WHERE sync_run_id = ? AND range_no = ? AND done_at IS NULL`,
        [totals.rows, totals.quarantined, totals.bytes, totals.objects, syncRunId, range],
      );
    },
  };
}
export type KeyRangeLedger = ReturnType<typeof createKeyRangeLedger>;

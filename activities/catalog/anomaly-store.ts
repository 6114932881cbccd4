import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { AnomalyMetric, ScanSpec, ScanTotals } from '../../common/anomaly-scan.js';
import { fromSqlTime, sqlTime } from '../../common/time.js';
import type { Exclusion, Feedback, FoundAnomaly, Verdict } from '../quality/scan-series.js';

export type ScanStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The scan's MySQL tables: scans, anomalies, exclusions and feedback. */
export function createAnomalyStore(mysql: Pool) {
  return {
    /** Idempotent: a retried plan finds its row and leaves it as it is. */
    async startScan(spec: ScanSpec, workflowId: string, team: string | undefined): Promise<void> {
      await mysql.query(
        `INSERT INTO anomaly_scans (scan_id, workflow_id, status, window_from, window_to, training_from, team, metrics, detector)
         VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE scan_id = scan_id`,
        [
          spec.scanId,
          workflowId,
          sqlTime(spec.window.fromMs),
          sqlTime(spec.window.toMs),
          sqlTime(spec.window.trainingFromMs),
          team ?? null,
          JSON.stringify(spec.metrics),
          JSON.stringify(spec.detector),
        ],
      );
    },

    async finishScan(scanId: string, status: ScanStatus, totals: ScanTotals, error?: string): Promise<void> {
      await mysql.query(
        `UPDATE anomaly_scans SET status = ?, finished_at = CURRENT_TIMESTAMP(6), datasets = ?, series = ?, points = ?,
           anomalies = ?, confirmed = ?, suppressed = ?, excluded_points = ?, error = ?
         WHERE scan_id = ?`,
        [
          status,
          totals.datasets,
          totals.series,
          totals.points,
          totals.anomalies,
          totals.confirmed,
          totals.suppressed,
          totals.excludedPoints,
          error ?? null,
          scanId,
        ],
      );
    },

    /** Exclusions overlapping [fromMs, toMs) that may touch these datasets. */
    async exclusions(datasets: string[], fromMs: number, toMs: number): Promise<Exclusion[]> {
      if (datasets.length === 0) return [];
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT dataset, metric, from_at, to_at FROM anomaly_exclusions
         WHERE to_at > ? AND from_at < ? AND (dataset IS NULL OR dataset IN (?))`,
        [sqlTime(fromMs), sqlTime(toMs), datasets],
      );
      return rows.map((r) => ({
        dataset: (r.dataset as string | null) ?? null,
        metric: (r.metric as AnomalyMetric | null) ?? null,
        fromMs: fromSqlTime(r.from_at),
        toMs: fromSqlTime(r.to_at),
      }));
    },

    async feedback(datasets: string[], fromMs: number, toMs: number): Promise<Feedback[]> {
      if (datasets.length === 0) return [];
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT dataset, metric, series_key, at, verdict FROM anomaly_feedback WHERE dataset IN (?) AND at >= ? AND at < ?`,
        [datasets, sqlTime(fromMs), sqlTime(toMs)],
      );
      return rows.map((r) => ({
        dataset: r.dataset as string,
        metric: r.metric as AnomalyMetric,
        seriesKey: r.series_key as string,
        atMs: fromSqlTime(r.at),
        verdict: r.verdict as Verdict,
      }));
    },

    /**
     * Records what a scan found, keyed by (dataset, metric, series, time): a re-run over the same
     * window updates the same rows. The status follows the current feedback, except that a row an
     * operator closed stays closed.
     */
    async upsertAnomalies(scanId: string, found: FoundAnomaly[]): Promise<void> {
      for (let i = 0; i < found.length; i += 1_000) {
        const batch = found.slice(i, i + 1_000);
        await mysql.query(
          `INSERT INTO anomalies (dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status, scan_id,
             members, explanation)
           VALUES ?
           ON DUPLICATE KEY UPDATE value = VALUES(value), expected = VALUES(expected), lower_bound = VALUES(lower_bound),
             upper_bound = VALUES(upper_bound), score = VALUES(score), direction = VALUES(direction),
             members = VALUES(members), explanation = VALUES(explanation),
             status = IF(status = 'closed', status, VALUES(status)), scan_id = VALUES(scan_id)`,
          [
            batch.map((a) => [
              a.dataset,
              a.metric,
              a.seriesKey,
              sqlTime(a.atMs),
              a.value,
              a.expected,
              a.lower,
              a.upper,
              a.score,
              a.direction,
              a.confirmed ? 'confirmed' : 'open',
              scanId,
              a.members.join(','),
              a.explanation.slice(0, 255),
            ]),
          ],
        );
      }
    },

    /**
     * Brings rows found by earlier scans in line with today's exclusions and feedback: open rows
     * inside an exclusion become 'excluded'; rows feedback calls normal become 'dismissed'.
     */
    async applyExclusionsAndFeedback(
      scanId: string,
      datasets: string[],
      metrics: AnomalyMetric[],
      fromMs: number,
      toMs: number,
    ): Promise<void> {
      if (datasets.length === 0) return;
      const scope = [datasets, metrics, sqlTime(fromMs), sqlTime(toMs)];
      await mysql.query(
        `UPDATE anomalies a JOIN anomaly_exclusions e
           ON (e.dataset IS NULL OR e.dataset = a.dataset) AND (e.metric IS NULL OR e.metric = a.metric)
          AND a.at >= e.from_at AND a.at < e.to_at
         SET a.status = 'excluded', a.scan_id = ?
         WHERE a.dataset IN (?) AND a.metric IN (?) AND a.at >= ? AND a.at < ? AND a.status = 'open'`,
        [scanId, ...scope],
      );
      await mysql.query(
        `UPDATE anomalies a JOIN anomaly_feedback f
           ON f.dataset = a.dataset AND f.metric = a.metric AND f.series_key = a.series_key AND f.at = a.at
         SET a.status = 'dismissed', a.scan_id = ?
         WHERE f.verdict = 'normal' AND a.dataset IN (?) AND a.metric IN (?) AND a.at >= ? AND a.at < ?
           AND a.status IN ('open', 'confirmed', 'excluded')`,
        [scanId, ...scope],
      );
    },

    /** An operator's exclusion window; returns its id. */
    async addExclusion(e: Exclusion & { reason: string; createdBy: string }): Promise<number> {
      const [result] = await mysql.query(
        'INSERT INTO anomaly_exclusions (dataset, metric, from_at, to_at, reason, created_by) VALUES (?, ?, ?, ?, ?, ?)',
        [e.dataset, e.metric, sqlTime(e.fromMs), sqlTime(e.toMs), e.reason, e.createdBy],
      );
      return (result as { insertId: number }).insertId;
    },

    /** An operator's verdict on one point; replaces an earlier verdict on it. */
    async recordFeedback(f: Feedback & { note?: string; createdBy?: string }): Promise<void> {
      await mysql.query(
        `INSERT INTO anomaly_feedback (dataset, metric, series_key, at, verdict, note, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE verdict = VALUES(verdict), note = VALUES(note), created_by = VALUES(created_by)`,
        [f.dataset, f.metric, f.seriesKey, sqlTime(f.atMs), f.verdict, f.note ?? null, f.createdBy ?? ''],
      );
    },
  };
}
export type AnomalyStore = ReturnType<typeof createAnomalyStore>;

import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { DigestSpec } from '../../common/digest.js';
import { DAY_MS, fromSqlTime, sqlTime, utcDay } from '../../common/time.js';
import type { AnomalyItem, CheckResultRow, FailedSyncItem } from '../notify/digest-content.js';
import { num } from './columns.js';

/** The dataset filter a run's scope adds (`d` is datasets). */
function scopeFilter(spec: DigestSpec): { sql: string; args: unknown[] } {
  if ('team' in spec.scope) return { sql: ' AND d.team = ?', args: [spec.scope.team] };
  if ('owners' in spec.scope) return { sql: ' AND d.owner IN (?)', args: [spec.scope.owners] };
  return { sql: '', args: [] };
}

const recipientColumn = (spec: DigestSpec): string => (spec.audience === 'teams' ? 'd.team' : 'd.owner');

/** What the catalog holds for a set of recipients' digests, row by row; notify/digest-content.ts assembles it. */
export interface DigestRows {
  datasets: { name: string; recipient: string; /** Declared and positive, else null. */ slaHours: number | null }[];
  /** Daily scores of the sparkline's span, by dataset then day. */
  scores: { dataset: string; day: string; score: number }[];
  /** Open and confirmed anomalies of the period, oldest first. */
  anomalies: (Omit<AnomalyItem, 'link'> & {
    scanId: string | null;
    /** The scan's workflow, when the scan is still recorded. */ workflowId: string | null;
  })[];
  failedSyncs: (Omit<FailedSyncItem, 'link'> & { syncRunId: string; workflowId: string })[];
  /** The last successful sync before the period's end, of datasets that declare a freshness SLA. */
  lastSuccessMs: Map<string, number>;
  /** Per dataset and check, its latest result before the period and its latest within it (either may be missing). */
  checkResults: CheckResultRow[];
}

/** The digest's reads of the MySQL catalog: who gets one, and what goes in it. */
export function createDigestReads(mysql: Pool) {
  async function distinctRecipients(spec: DigestSpec, range?: { from: string; to: string | null }): Promise<string[]> {
    const col = recipientColumn(spec);
    const scope = scopeFilter(spec);
    const bounds = range ? ` AND ${col} >= ?${range.to === null ? '' : ` AND ${col} < ?`}` : '';
    const [rows] = await mysql.query<RowDataPacket[]>({
      sql: `SELECT DISTINCT ${col} AS r FROM datasets d WHERE 1 = 1${bounds}${scope.sql} ORDER BY r`,
      values: [...(range ? [range.from, ...(range.to === null ? [] : [range.to])] : []), ...scope.args],
      rowsAsArray: true,
    });
    return (rows as unknown as unknown[][]).map((r) => String(r[0]));
  }

  return {
    /** Every owner (or team) in the run's scope, in the catalog's order. */
    recipients: (spec: DigestSpec): Promise<string[]> => distinctRecipients(spec),

    /** The recipients of a page: from `from` (inclusive) to `to` (exclusive; null for the end). */
    recipientsBetween: (spec: DigestSpec, from: string, to: string | null): Promise<string[]> => distinctRecipients(spec, { from, to }),

    /**
     * The rows of every listed recipient's digest in six grouped queries (datasets, scores,
     * anomalies, failed syncs, last successes, check results), whatever the number of recipients.
     */
    async content(spec: DigestSpec, names: string[]): Promise<DigestRows> {
      const col = recipientColumn(spec);
      const scope = scopeFilter(spec);
      const { fromMs, toMs } = spec.period;
      const sparkDays = spec.period.kind === 'daily' ? 14 : 28;
      const asOfMs = Math.min(toMs, spec.asOfMs);
      const where = `${col} IN (?)${scope.sql}`;
      const args = [names, ...scope.args];

      const [[datasets], [scores], [anomalies], [failed], [lastOk], [checks]] = await Promise.all([
        mysql.query<RowDataPacket[]>(
          `SELECT d.name, ${col} AS recipient, JSON_UNQUOTE(JSON_EXTRACT(d.declaration, '$.freshnessSlaHours')) AS sla_hours
           FROM datasets d WHERE ${where}`,
          args,
        ),
        mysql.query<RowDataPacket[]>(
          `SELECT h.dataset, h.day, h.score FROM health_scores h JOIN datasets d ON d.name = h.dataset
           WHERE ${where} AND h.day >= ? AND h.day < ? ORDER BY h.dataset, h.day`,
          [...args, utcDay(toMs - sparkDays * DAY_MS), utcDay(toMs)],
        ),
        mysql.query<RowDataPacket[]>(
          `SELECT a.dataset, a.metric, a.series_key, a.at, a.value, a.expected, a.lower_bound, a.upper_bound, a.direction, a.status,
             a.explanation, a.scan_id, s.workflow_id
           FROM anomalies a JOIN datasets d ON d.name = a.dataset LEFT JOIN anomaly_scans s ON s.scan_id = a.scan_id
           WHERE ${where} AND a.at >= ? AND a.at < ? AND a.status IN ('open', 'confirmed') ORDER BY a.at`,
          [...args, sqlTime(fromMs), sqlTime(asOfMs)],
        ),
        mysql.query<RowDataPacket[]>(
          `SELECT x.dataset, x.sync_run_id, x.workflow_id, x.started_at, LEFT(x.error, 300) AS error
           FROM sync_runs x JOIN datasets d ON d.name = x.dataset
           WHERE ${where} AND x.status = 'failed' AND x.started_at >= ? AND x.started_at < ? ORDER BY x.started_at`,
          [...args, sqlTime(fromMs), sqlTime(asOfMs)],
        ),
        mysql.query<RowDataPacket[]>(
          `SELECT x.dataset, MAX(x.finished_at) AS last_ok
           FROM sync_runs x JOIN datasets d ON d.name = x.dataset
           WHERE ${where} AND JSON_EXTRACT(d.declaration, '$.freshnessSlaHours') IS NOT NULL
             AND x.status = 'succeeded' AND x.finished_at < ?
           GROUP BY x.dataset`,
          [...args, sqlTime(asOfMs)],
        ),
        // The newest result on each side of the period's start, per check: two rows at most per check.
        mysql.query<RowDataPacket[]>(
          `SELECT t.dataset, t.check_id, t.severity, t.status, t.run_id, t.failing_rows, t.sample_key, t.why, t.checked_at, t.within_period
           FROM (
             SELECT r.dataset, r.check_id, r.severity, r.status, r.run_id, r.failing_rows, r.sample_key,
               LEFT(COALESCE(r.error, r.details), 200) AS why, r.checked_at, r.checked_at >= ? AS within_period,
               ROW_NUMBER() OVER (PARTITION BY r.dataset, r.check_id, r.checked_at >= ? ORDER BY r.checked_at DESC) AS rn
             FROM check_results r JOIN datasets d ON d.name = r.dataset
             WHERE ${where} AND r.checked_at < ?
           ) t
           WHERE t.rn = 1`,
          [sqlTime(fromMs), sqlTime(fromMs), ...args, sqlTime(asOfMs)],
        ),
      ]);

      return {
        datasets: datasets.map((d) => {
          const hours = d.sla_hours === null || d.sla_hours === 'null' ? NaN : Number(d.sla_hours);
          return { name: d.name as string, recipient: d.recipient as string, slaHours: Number.isFinite(hours) && hours > 0 ? hours : null };
        }),
        scores: scores.map((s) => ({ dataset: s.dataset as string, day: String(s.day).slice(0, 10), score: Number(s.score) })),
        anomalies: anomalies.map((a) => ({
          dataset: a.dataset as string,
          metric: a.metric as string,
          series: a.series_key as string,
          atMs: fromSqlTime(a.at),
          value: num(a.value),
          expected: num(a.expected),
          lower: num(a.lower_bound),
          upper: num(a.upper_bound),
          direction: a.direction as string,
          status: a.status as string,
          explanation: (a.explanation as string | null) ?? null,
          scanId: (a.scan_id as string | null) ?? null,
          workflowId: (a.workflow_id as string | null) ?? null,
        })),
        failedSyncs: failed.map((f) => ({
          dataset: f.dataset as string,
          startedAtMs: fromSqlTime(f.started_at),
          error: (f.error as string | null) ?? '',
          syncRunId: f.sync_run_id as string,
          workflowId: f.workflow_id as string,
        })),
        lastSuccessMs: new Map(lastOk.map((r) => [r.dataset as string, fromSqlTime(r.last_ok)])),
        checkResults: checks.map((c) => ({
          dataset: c.dataset as string,
          checkId: c.check_id as string,
          severity: c.severity as CheckResultRow['severity'],
          status: c.status as CheckResultRow['status'],
          runId: c.run_id as string,
          failing: c.failing_rows === null ? null : num(c.failing_rows),
          sampleKey: (c.sample_key as string | null) ?? null,
          details: (c.why as string | null) ?? null,
          atMs: fromSqlTime(c.checked_at),
          withinPeriod: Boolean(num(c.within_period)),
        })),
      };
    },
  };
}
export type DigestReads = ReturnType<typeof createDigestReads>;

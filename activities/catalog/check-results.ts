import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { CheckKind, CheckResult, CheckStatus } from '../../common/checks.js';
import { num } from './columns.js';

/** One check's outcome in one run, as check_results keeps it: the result, with its run and what it ran. */
export interface StoredCheckResult extends CheckResult {
  runId: string;
  team: string;
  /** Rows of a row_count check, age in seconds of a freshness check. */
  observed: number | null;
  /** The problems in words (a schema check's), or why it errored. */
  details: string | null;
  query: string | null;
  durationMs: number;
  sampleKey: string | null;
  error: string | null;
  checkedAt?: string;
}

/**
 * check_results: every check's outcome per run, with its history. A run writes each of its
 * results under (run id, dataset, check id), so a retried run replaces its own rows.
 */
export function createCheckResultStore(mysql: Pool) {
  return {
    async record(results: StoredCheckResult[]): Promise<void> {
      if (results.length === 0) return;
      await mysql.query(
        `INSERT INTO check_results (run_id, dataset, team, check_id, kind, severity, blocking, status, failing_rows, failing_ratio,
           observed, details, query_text, duration_ms, sample_key, error, checked_at)
         VALUES ?
         ON DUPLICATE KEY UPDATE team = VALUES(team), kind = VALUES(kind), severity = VALUES(severity), blocking = VALUES(blocking),
           status = VALUES(status), failing_rows = VALUES(failing_rows), failing_ratio = VALUES(failing_ratio), observed = VALUES(observed),
           details = VALUES(details), query_text = VALUES(query_text), duration_ms = VALUES(duration_ms), sample_key = VALUES(sample_key),
           error = VALUES(error), checked_at = VALUES(checked_at)`,
        [
          results.map((r) => [
            r.runId,
            r.dataset,
            r.team,
            r.checkId,
            r.kind,
            r.severity,
            r.blocking,
            r.status,
            r.failing,
            r.ratio,
            r.observed,
            r.details,
            r.query,
            Math.round(r.durationMs),
            r.sampleKey,
            r.error,
            new Date(),
          ]),
        ],
      );
    },

    /** The results of one run (of one dataset), by dataset and check id. */
    async ofRun(runId: string, dataset?: string): Promise<StoredCheckResult[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT * FROM check_results WHERE run_id = ?${dataset ? ' AND dataset = ?' : ''} ORDER BY dataset, check_id`,
        dataset ? [runId, dataset] : [runId],
      );
      return rows.map(fromRow);
    },

    /** Each check's latest result of a dataset (its history stays in the table). */
    async latest(dataset: string): Promise<StoredCheckResult[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT r.* FROM check_results r
         JOIN (SELECT check_id, MAX(checked_at) AS at FROM check_results WHERE dataset = ? GROUP BY check_id) l
           ON l.check_id = r.check_id AND l.at = r.checked_at
         WHERE r.dataset = ? ORDER BY r.check_id`,
        [dataset, dataset],
      );
      return rows.map(fromRow);
    },

    /** Names of the datasets (of a team, or all) that declare at least one check. */
    async datasetsWithChecks(team?: string): Promise<string[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT name FROM datasets WHERE JSON_LENGTH(JSON_EXTRACT(declaration, '$.checks')) > 0${team ? ' AND team = ?' : ''} ORDER BY name`,
        team ? [team] : [],
      );
      return rows.map((r) => r.name as string);
    },

    /** Silver table and team of datasets, by name (relationship checks point at other datasets' tables). */
    async targets(names: string[]): Promise<Map<string, { table: string; team: string }>> {
      if (names.length === 0) return new Map();
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT name, target_table, team FROM datasets WHERE name IN (?)', [names]);
      return new Map(rows.map((r) => [r.name as string, { table: r.target_table as string, team: r.team as string }]));
    },

    /** The canonical types the catalog recorded for a dataset's columns, in source order. */
    async recordedColumns(dataset: string): Promise<{ name: string; type: string }[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        'SELECT name, canonical_type FROM dataset_columns WHERE dataset = ? ORDER BY ordinal',
        [dataset],
      );
      return rows.map((r) => ({ name: r.name as string, type: r.canonical_type as string }));
    },
  };
}
export type CheckResultStore = ReturnType<typeof createCheckResultStore>;

function fromRow(r: RowDataPacket): StoredCheckResult {
  const orNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    runId: r.run_id as string,
    dataset: r.dataset as string,
    team: (r.team as string | null) ?? '',
    checkId: r.check_id as string,
    kind: r.kind as CheckKind,
    severity: r.severity as 'warn' | 'error',
    blocking: Boolean(num(r.blocking)),
    status: r.status as CheckStatus,
    failing: orNull(r.failing_rows),
    ratio: orNull(r.failing_ratio),
    observed: orNull(r.observed),
    details: (r.details as string | null) ?? null,
    query: (r.query_text as string | null) ?? null,
    durationMs: num(r.duration_ms),
    sampleKey: (r.sample_key as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    checkedAt: r.checked_at as string,
  };
}

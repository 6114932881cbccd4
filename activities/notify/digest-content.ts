import type { Pool, RowDataPacket } from 'mysql2/promise';
import { recipientKey, type DigestSpec } from '../../common/digest.js';
import { syncWorkflowId } from '../../common/keys.js';
import { DAY_MS, fromSqlTime, HOUR_MS, sqlTime, utcDay } from '../../common/time.js';

export interface ScoreChange {
  dataset: string;
  /** Last score before the period; null when the dataset was first scored in it. */
  before: number | null;
  after: number;
  /** Daily scores up to the period's end, oldest first: the sparkline. */
  series: { day: string; score: number }[];
}

export interface AnomalyItem {
  dataset: string;
  metric: string;
  series: string;
  atMs: number;
  value: number;
  expected: number;
  lower: number;
  upper: number;
  direction: string;
  status: string;
  link: string;
}

export interface FailedSyncItem {
  dataset: string;
  startedAtMs: number;
  error: string;
  link: string;
}

export interface StaleItem {
  dataset: string;
  lastSuccessMs: number | null;
  slaHours: number;
  link: string;
}

/** Everything one recipient's digest says, for one period. */
export interface DigestContent {
  /** Ledger key: `owner:…` or `team:…`. */
  recipient: string;
  /** The owner or team as the catalog names it. */
  name: string;
  audience: 'owners' | 'teams';
  periodKind: 'daily' | 'weekly';
  periodLabel: string;
  datasets: number;
  scoreChanges: ScoreChange[];
  anomalies: AnomalyItem[];
  failedSyncs: FailedSyncItem[];
  stale: StaleItem[];
  /** The health scoring runs, for the score section. */
  healthLink: string;
}

export const isEmptyDigest = (c: DigestContent): boolean =>
  c.scoreChanges.length === 0 && c.anomalies.length === 0 && c.failedSyncs.length === 0 && c.stale.length === 0;

/** Web UI address of a run (the CLI's runLink, for activities). */
export function uiRunLink(ui: { uiUrl: string; namespace: string }, workflowId: string, runId?: string | null): string {
  const base = `${ui.uiUrl}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** The dataset filter a run's scope adds (`d` is datasets). */
export function scopeFilter(spec: DigestSpec): { sql: string; args: unknown[] } {
  if ('team' in spec.scope) return { sql: ' AND d.team = ?', args: [spec.scope.team] };
  if ('owners' in spec.scope) return { sql: ' AND d.owner IN (?)', args: [spec.scope.owners] };
  return { sql: '', args: [] };
}

export const recipientColumn = (spec: DigestSpec): string => (spec.audience === 'teams' ? 'd.team' : 'd.owner');

/**
 * The content of every listed recipient's digest in five grouped queries (datasets, scores,
 * anomalies, failed syncs, last successes), whatever the number of recipients.
 */
export async function gatherDigests(
  mysql: Pool,
  spec: DigestSpec,
  names: string[],
  ui: { uiUrl: string; namespace: string },
): Promise<DigestContent[]> {
  if (names.length === 0) return [];
  const col = recipientColumn(spec);
  const scope = scopeFilter(spec);
  const { fromMs, toMs } = spec.period;
  const sparkDays = spec.period.kind === 'daily' ? 14 : 28;
  const asOfMs = Math.min(toMs, spec.asOfMs);
  const where = `${col} IN (?)${scope.sql}`;
  const args = [names, ...scope.args];

  const [[datasets], [scores], [anomalies], [failed], [lastOk]] = await Promise.all([
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
         a.scan_id, s.workflow_id
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
  ]);

  // Scores come from whichever health scoring run (all datasets or a team's): link to the list of them.
  const healthLink = `${ui.uiUrl}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${encodeURIComponent('SpokeflowKind="health-scoring"')}`;
  const byRecipient = new Map<string, DigestContent>();
  const recipientOf = new Map<string, DigestContent>();
  const fromDay = utcDay(fromMs);
  for (const name of names) {
    byRecipient.set(name, {
      recipient: recipientKey(spec.audience, name),
      name,
      audience: spec.audience,
      periodKind: spec.period.kind,
      periodLabel: spec.period.label,
      datasets: 0,
      scoreChanges: [],
      anomalies: [],
      failedSyncs: [],
      stale: [],
      healthLink,
    });
  }
  const sla = new Map<string, number>();
  for (const d of datasets) {
    const c = byRecipient.get(d.recipient as string);
    if (!c) continue;
    c.datasets++;
    recipientOf.set(d.name as string, c);
    const hours = d.sla_hours === null || d.sla_hours === 'null' ? NaN : Number(d.sla_hours);
    if (Number.isFinite(hours) && hours > 0) sla.set(d.name as string, hours);
  }

  const seriesOf = new Map<string, { day: string; score: number }[]>();
  for (const s of scores) {
    const day = String(s.day).slice(0, 10);
    let list = seriesOf.get(s.dataset as string);
    if (!list) seriesOf.set(s.dataset as string, (list = []));
    list.push({ day, score: Number(s.score) });
  }
  for (const [dataset, series] of seriesOf) {
    const c = recipientOf.get(dataset);
    if (!c) continue;
    const before = series.filter((p) => p.day < fromDay).at(-1);
    const after = series.filter((p) => p.day >= fromDay).at(-1);
    if (!after || (before && Math.abs(after.score - before.score) < 0.05)) continue;
    c.scoreChanges.push({ dataset, before: before?.score ?? null, after: after.score, series });
  }
  for (const c of byRecipient.values()) c.scoreChanges.sort((a, b) => a.after - (a.before ?? a.after) - (b.after - (b.before ?? b.after)) || a.dataset.localeCompare(b.dataset));

  for (const a of anomalies) {
    const c = recipientOf.get(a.dataset as string);
    if (!c) continue;
    c.anomalies.push({
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
      link: a.workflow_id ? uiRunLink(ui, a.workflow_id as string, a.scan_id as string) : uiRunLink(ui, 'anomaly-scan:all'),
    });
  }
  for (const f of failed) {
    const c = recipientOf.get(f.dataset as string);
    if (!c) continue;
    c.failedSyncs.push({
      dataset: f.dataset as string,
      startedAtMs: fromSqlTime(f.started_at),
      error: (f.error as string | null) ?? '',
      link: uiRunLink(ui, f.workflow_id as string, f.sync_run_id as string),
    });
  }
  const lastOkOf = new Map(lastOk.map((r) => [r.dataset as string, fromSqlTime(r.last_ok)]));
  for (const [dataset, hours] of sla) {
    const last = lastOkOf.get(dataset) ?? null;
    if (last !== null && asOfMs - last <= hours * HOUR_MS) continue;
    recipientOf.get(dataset)?.stale.push({ dataset, lastSuccessMs: last, slaHours: hours, link: uiRunLink(ui, syncWorkflowId(dataset)) });
  }
  for (const c of byRecipient.values()) c.stale.sort((a, b) => (a.lastSuccessMs ?? 0) - (b.lastSuccessMs ?? 0) || a.dataset.localeCompare(b.dataset));
  return names.map((n) => byRecipient.get(n)!);
}

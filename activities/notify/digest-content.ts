import type { CheckResult, CheckStatus } from '../../common/checks.js';
import { recipientKey, type DigestSpec } from '../../common/digest.js';
import { anomalyScanWorkflowId, syncWorkflowId } from '../../common/workflow-ids.js';
import { HOUR_MS, utcDay } from '../../common/time.js';
import type { DigestReads } from '../catalog/digest-reads.js';

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
  /** The alert in plain words ("3.4× the usual Tuesday 09:00 UTC volume"); null for rows from before it was kept. */
  explanation: string | null;
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

/** One stored check result as the digest reads it: the newest before the period, or the newest within it. */
export interface CheckResultRow {
  dataset: string;
  checkId: string;
  severity: CheckResult['severity'];
  status: CheckStatus;
  runId: string;
  failing: number | null;
  /** The failing-row sample's object key in the samples bucket, when one was stored. */
  sampleKey: string | null;
  /** Why it errored, or what a table-level check saw wrong. */
  details: string | null;
  atMs: number;
  withinPeriod: boolean;
}

/** A check whose state changed over the period: now failing (or errored) after passing, or passing again. */
export interface CheckChangeItem {
  dataset: string;
  checkId: string;
  severity: CheckResult['severity'];
  /** The newest result in the period: failed or errored when newly failing, passed when recovered. */
  status: CheckStatus;
  failing: number | null;
  details: string | null;
  atMs: number;
  /** `s3://bucket/key` of the failing-row sample (newly failing checks only, when one was stored). */
  sample: string | null;
  /** The checks run in the Web UI. */
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
  /** Error-severity checks first, then by dataset and check. */
  newlyFailingChecks: CheckChangeItem[];
  recoveredChecks: CheckChangeItem[];
  /** The health scoring runs, for the score section. */
  healthLink: string;
}

export const isEmptyDigest = (c: DigestContent): boolean =>
  c.scoreChanges.length === 0 &&
  c.anomalies.length === 0 &&
  c.failedSyncs.length === 0 &&
  c.stale.length === 0 &&
  c.newlyFailingChecks.length === 0 &&
  c.recoveredChecks.length === 0;

const failing = (status: CheckStatus): boolean => status !== 'passed';

/**
 * Which checks changed state over a period, from each check's newest result before it and newest
 * within it: newly failing when the newest within failed or errored and the one before passed
 * (or there was none); recovered when the one before failed or errored and the newest within
 * passed. A check that failed and passed again inside the period is neither.
 */
export function classifyCheckChanges(rows: CheckResultRow[]): { newlyFailing: CheckResultRow[]; recovered: CheckResultRow[] } {
  const sides = new Map<string, { before?: CheckResultRow; within?: CheckResultRow }>();
  for (const r of rows) {
    const key = `${r.dataset}\u0000${r.checkId}`;
    const side = sides.get(key) ?? {};
    const slot = r.withinPeriod ? 'within' : 'before';
    if (!side[slot] || side[slot].atMs < r.atMs) side[slot] = r;
    sides.set(key, side);
  }
  const newlyFailing: CheckResultRow[] = [];
  const recovered: CheckResultRow[] = [];
  for (const { before, within } of sides.values()) {
    if (!within) continue;
    if (failing(within.status) && (!before || !failing(before.status))) newlyFailing.push(within);
    else if (!failing(within.status) && before && failing(before.status)) recovered.push(within);
  }
  const byName = (a: CheckResultRow, b: CheckResultRow) => a.dataset.localeCompare(b.dataset) || a.checkId.localeCompare(b.checkId);
  newlyFailing.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) || byName(a, b));
  recovered.sort(byName);
  return { newlyFailing, recovered };
}

/** Web UI address of the workflow list filtered by a visibility query. */
function uiListLink(ui: { uiUrl: string; namespace: string }, query: string): string {
  return `${ui.uiUrl}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** Web UI address of the run with this run id, whatever its workflow id (a sync's, a schedule's or a pipeline's child). */
export function uiRunIdLink(ui: { uiUrl: string; namespace: string }, runId: string): string {
  return uiListLink(ui, `RunId="${runId}"`);
}

/** Web UI address of a run (the CLI's runLink, for activities). */
export function uiRunLink(ui: { uiUrl: string; namespace: string }, workflowId: string, runId?: string | null): string {
  const base = `${ui.uiUrl}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/**
 * The content of every listed recipient's digest: the catalog's rows (six grouped queries,
 * whatever the number of recipients) sorted into one digest per recipient. `samplesBucket` holds
 * the failing-row samples of checks.
 */
export async function gatherDigests(
  reads: DigestReads,
  spec: DigestSpec,
  names: string[],
  ui: { uiUrl: string; namespace: string },
  samplesBucket: string,
): Promise<DigestContent[]> {
  if (names.length === 0) return [];
  const { fromMs, toMs } = spec.period;
  const asOfMs = Math.min(toMs, spec.asOfMs);
  const { datasets, scores, anomalies, failedSyncs, lastSuccessMs, checkResults } = await reads.content(spec, names);

  // Scores come from whichever health scoring run (all datasets or a team's): link to the list of them.
  const healthLink = uiListLink(ui, 'SpokeflowKind="health-scoring"');
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
      newlyFailingChecks: [],
      recoveredChecks: [],
      healthLink,
    });
  }
  const sla = new Map<string, number>();
  for (const d of datasets) {
    const c = byRecipient.get(d.recipient);
    if (!c) continue;
    c.datasets++;
    recipientOf.set(d.name, c);
    if (d.slaHours !== null) sla.set(d.name, d.slaHours);
  }

  const seriesOf = new Map<string, { day: string; score: number }[]>();
  for (const s of scores) {
    let list = seriesOf.get(s.dataset);
    if (!list) seriesOf.set(s.dataset, (list = []));
    list.push({ day: s.day, score: s.score });
  }
  for (const [dataset, series] of seriesOf) {
    const c = recipientOf.get(dataset);
    if (!c) continue;
    const before = series.filter((p) => p.day < fromDay).at(-1);
    const after = series.filter((p) => p.day >= fromDay).at(-1);
    if (!after || (before && Math.abs(after.score - before.score) < 0.05)) continue;
    c.scoreChanges.push({ dataset, before: before?.score ?? null, after: after.score, series });
  }
  for (const c of byRecipient.values())
    c.scoreChanges.sort(
      (a, b) => a.after - (a.before ?? a.after) - (b.after - (b.before ?? b.after)) || a.dataset.localeCompare(b.dataset),
    );

  for (const a of anomalies) {
    const c = recipientOf.get(a.dataset);
    if (!c) continue;
    const { scanId, workflowId, ...item } = a;
    c.anomalies.push({ ...item, link: workflowId ? uiRunLink(ui, workflowId, scanId) : uiRunLink(ui, anomalyScanWorkflowId({})) });
  }
  for (const f of failedSyncs) {
    const c = recipientOf.get(f.dataset);
    if (!c) continue;
    const { syncRunId, workflowId, ...item } = f;
    c.failedSyncs.push({ ...item, link: uiRunLink(ui, workflowId, syncRunId) });
  }
  for (const [dataset, hours] of sla) {
    const last = lastSuccessMs.get(dataset) ?? null;
    if (last !== null && asOfMs - last <= hours * HOUR_MS) continue;
    recipientOf.get(dataset)?.stale.push({ dataset, lastSuccessMs: last, slaHours: hours, link: uiRunLink(ui, syncWorkflowId(dataset)) });
  }
  for (const c of byRecipient.values())
    c.stale.sort((a, b) => (a.lastSuccessMs ?? 0) - (b.lastSuccessMs ?? 0) || a.dataset.localeCompare(b.dataset));

  const { newlyFailing, recovered } = classifyCheckChanges(checkResults);
  const checkItem = (r: CheckResultRow, withSample: boolean): CheckChangeItem => ({
    dataset: r.dataset,
    checkId: r.checkId,
    severity: r.severity,
    status: r.status,
    failing: r.failing,
    details: r.details,
    atMs: r.atMs,
    sample: withSample && r.sampleKey ? `s3://${samplesBucket}/${r.sampleKey}` : null,
    link: uiRunIdLink(ui, r.runId),
  });
  for (const r of newlyFailing) recipientOf.get(r.dataset)?.newlyFailingChecks.push(checkItem(r, true));
  for (const r of recovered) recipientOf.get(r.dataset)?.recoveredChecks.push(checkItem(r, false));
  return names.map((n) => byRecipient.get(n)!);
}

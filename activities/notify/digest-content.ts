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

/**
 * The content of every listed recipient's digest: the catalog's rows (five grouped queries,
 * whatever the number of recipients) sorted into one digest per recipient.
 */
export async function gatherDigests(
  reads: DigestReads,
  spec: DigestSpec,
  names: string[],
  ui: { uiUrl: string; namespace: string },
): Promise<DigestContent[]> {
  if (names.length === 0) return [];
  const { fromMs, toMs } = spec.period;
  const asOfMs = Math.min(toMs, spec.asOfMs);
  const { datasets, scores, anomalies, failedSyncs, lastSuccessMs } = await reads.content(spec, names);

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
  return names.map((n) => byRecipient.get(n)!);
}

import type { CheckResult, CheckStatus } from '../../common/checks.js';
import { HEALTH_COMPONENTS, type HealthComponentName, type HealthWeights } from '../../common/health.js';
import { HOUR_MS } from '../../common/time.js';

/** What the catalog knows about one dataset, aggregated by a few set-based queries. */
export interface DatasetFacts {
  dataset: string;
  team: string;
  owner: string;
  /** The description, trimmed (the first few hundred characters are enough to judge it). */
  description: string;
  tagCount: number;
  /** Declared `freshnessSlaHours`, or null when none is declared. */
  slaHours: number | null;
  /** finished_at of the latest succeeded sync run before the scoring instant, or null. */
  lastSuccessMs: number | null;
  runs7d: number;
  failed7d: number;
  runs30d: number;
  failed30d: number;
  openAnomalies: number;
  confirmedAnomalies: number;
  /** Each declared check's latest result before the scoring instant (declared checks never run are left out). */
  checks: CheckFact[];
}

type CheckSeverity = CheckResult['severity'];

export interface CheckFact {
  checkId: string;
  severity: CheckSeverity;
  status: CheckStatus;
}

export interface HealthComponent {
  score: number;
  reason: string;
}

/** The components a dataset has: `checks` only when it has check results to score. */
export type HealthComponents = Record<Exclude<HealthComponentName, 'checks'>, HealthComponent> & { checks?: HealthComponent };

export interface DatasetHealth {
  dataset: string;
  team: string;
  score: number;
  components: HealthComponents;
  /** Failing (or errored) checks; null without a checks component. */
  failingChecks: number | null;
}

/** A description shorter than this (characters or words) is present but says too little. */
export const SUBSTANTIVE_DESCRIPTION = { chars: 40, words: 6 } as const;
const PLACEHOLDER_OWNERS = new Set(['', '-', 'n/a', 'na', 'none', 'tbd', 'todo', 'unknown', 'nobody']);

const round1 = (x: number): number => Math.round(x * 10) / 10;
const clamp = (x: number): number => Math.min(100, Math.max(0, x));
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * Documentation, from what the catalog records today: description (50), owner (30), tags (20).
 * There is no per-column documentation field yet, so columns are not scored.
 */
export function documentationScore(f: Pick<DatasetFacts, 'description' | 'owner' | 'tagCount'>): HealthComponent {
  const missing: string[] = [];
  let score = 0;
  const words = f.description.split(/\s+/).filter(Boolean).length;
  if (f.description.length === 0) missing.push('no description');
  else if (f.description.length < SUBSTANTIVE_DESCRIPTION.chars || words < SUBSTANTIVE_DESCRIPTION.words) {
    score += 20;
    missing.push(`description too short (${plural(words, 'word')})`);
  } else score += 50;
  if (PLACEHOLDER_OWNERS.has(f.owner.trim().toLowerCase())) missing.push('no owner');
  else score += 30;
  if (f.tagCount === 0) missing.push('no tags');
  else score += 20;
  return { score, reason: missing.length ? missing.join('; ') : 'description, owner and tags present' };
}

/** Full within the SLA, falling linearly to 0 at twice the SLA; neutral (full) without an SLA. */
export function freshnessScore(f: Pick<DatasetFacts, 'slaHours' | 'lastSuccessMs'>, asOfMs: number): HealthComponent {
  if (f.slaHours === null) return { score: 100, reason: 'no freshness SLA declared' };
  const sla = `SLA ${formatHours(f.slaHours)} h`;
  if (f.lastSuccessMs === null) return { score: 0, reason: `no successful sync yet, ${sla}` };
  const ageHours = Math.max(0, asOfMs - f.lastSuccessMs) / HOUR_MS;
  const ago = `last successful sync ${ageHours < 1 ? 'under 1 h' : `${Math.floor(ageHours)} h`} ago`;
  if (ageHours <= f.slaHours) return { score: 100, reason: `${ago}, within ${sla}` };
  return { score: round1(clamp(100 * (1 - (ageHours - f.slaHours) / f.slaHours))), reason: `${ago}, ${sla}` };
}

/**
 * The share of runs that succeeded, the last 7 days counting 60 % and the last 30 days 40 %.
 * No runs at all is neutral: freshness is what notices a dataset that stopped syncing.
 */
export function reliabilityScore(f: Pick<DatasetFacts, 'runs7d' | 'failed7d' | 'runs30d' | 'failed30d'>): HealthComponent {
  if (f.runs30d === 0) return { score: 100, reason: 'no sync runs in 30 days' };
  const rate7 = f.runs7d > 0 ? f.failed7d / f.runs7d : 0;
  const rate30 = f.failed30d / f.runs30d;
  const score = round1(clamp(100 * (1 - (f.runs7d > 0 ? 0.6 * rate7 + 0.4 * rate30 : rate30))));
  if (f.failed30d === 0) return { score, reason: `no failed runs in 30 days (${plural(f.runs30d, 'run')})` };
  return {
    score,
    reason: `${plural(f.failed7d, 'failed run')} in 7 days (of ${f.runs7d}), ${f.failed30d} in 30 days (of ${f.runs30d})`,
  };
}

/** Unresolved anomalies: 10 points off for each open one, 20 for each confirmed one. */
export function qualityScore(f: Pick<DatasetFacts, 'openAnomalies' | 'confirmedAnomalies'>): HealthComponent {
  const total = f.openAnomalies + f.confirmedAnomalies;
  if (total === 0) return { score: 100, reason: 'no open anomalies' };
  return {
    score: clamp(100 - 10 * f.openAnomalies - 20 * f.confirmedAnomalies),
    reason: `${plural(total, 'open anomaly', 'open anomalies')} (${f.confirmedAnomalies} confirmed)`,
  };
}

/** Points off for each failing (or errored) check, by its severity. */
export const CHECK_PENALTY: Record<CheckSeverity, number> = { error: 25, warn: 10 };
const NAMED_CHECKS = 5;

/**
 * Data-quality checks, from each check's latest result: 25 points off per failing error-severity
 * check, 10 per failing warn one; an errored check counts as failing (it proves nothing). Null
 * (no component) without results, so a dataset without checks is neither rewarded nor punished.
 */
export function checksScore(f: Pick<DatasetFacts, 'checks'>): (HealthComponent & { failing: number }) | null {
  if (f.checks.length === 0) return null;
  const failing = f.checks
    .filter((c) => c.status !== 'passed')
    .sort((a, b) => CHECK_PENALTY[b.severity] - CHECK_PENALTY[a.severity] || a.checkId.localeCompare(b.checkId));
  const total = f.checks.length;
  if (failing.length === 0) return { score: 100, failing: 0, reason: total === 1 ? 'the 1 check passing' : `all ${total} checks passing` };
  const named = failing.slice(0, NAMED_CHECKS).map((c) => (c.status === 'errored' ? `${c.checkId} (errored)` : c.checkId));
  const more = failing.length > NAMED_CHECKS ? ` and ${failing.length - NAMED_CHECKS} more` : '';
  return {
    score: clamp(100 - failing.reduce((s, c) => s + CHECK_PENALTY[c.severity], 0)),
    failing: failing.length,
    reason: `${failing.length} of ${plural(total, 'check')} failing: ${named.join(', ')}${more}`,
  };
}

/**
 * The 0–100 score of one dataset: the weighted mean of the components it has, each with its
 * reason; an absent component's weight is shared by the others through the normalisation.
 */
export function scoreDataset(f: DatasetFacts, weights: HealthWeights, asOfMs: number): DatasetHealth {
  const checks = checksScore(f);
  const components: HealthComponents = {
    documentation: documentationScore(f),
    freshness: freshnessScore(f, asOfMs),
    reliability: reliabilityScore(f),
    quality: qualityScore(f),
    ...(checks ? { checks: { score: checks.score, reason: checks.reason } } : {}),
  };
  let total = 0;
  let weighted = 0;
  for (const name of HEALTH_COMPONENTS) {
    const c = components[name];
    if (!c) continue;
    total += weights[name];
    weighted += weights[name] * c.score;
  }
  return { dataset: f.dataset, team: f.team, score: round1(weighted / total), components, failingChecks: checks?.failing ?? null };
}

function formatHours(h: number): string {
  return Number.isInteger(h) ? String(h) : h.toFixed(1);
}

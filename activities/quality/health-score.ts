import type { HealthComponentName, HealthWeights } from '../../common/health.js';
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
}

export interface HealthComponent {
  score: number;
  reason: string;
}

export interface DatasetHealth {
  dataset: string;
  team: string;
  score: number;
  components: Record<HealthComponentName, HealthComponent>;
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

/** The 0–100 score of one dataset: the weighted mean of its components, each with its reason. */
export function scoreDataset(f: DatasetFacts, weights: HealthWeights, asOfMs: number): DatasetHealth {
  const components = {
    documentation: documentationScore(f),
    freshness: freshnessScore(f, asOfMs),
    reliability: reliabilityScore(f),
    quality: qualityScore(f),
  };
  const total = weights.documentation + weights.freshness + weights.reliability + weights.quality;
  const weighted =
    weights.documentation * components.documentation.score +
    weights.freshness * components.freshness.score +
    weights.reliability * components.reliability.score +
    weights.quality * components.quality.score;
  return { dataset: f.dataset, team: f.team, score: round1(weighted / total), components };
}

function formatHours(h: number): string {
  return Number.isInteger(h) ? String(h) : h.toFixed(1);
}

import { z } from 'zod';
import { TeamSlug } from './dataset.js';
import { DAY_MS, dayStartMs, IsoDay, utcDay } from './time.js';
import { addCounts, pickCounts } from './totals.js';

export const DIGEST_CHANNELS = ['email', 'webhook'] as const;
export type DigestChannel = (typeof DIGEST_CHANNELS)[number];

export const DigestInput = z
  .object({
    period: z
      .object({
        kind: z.enum(['daily', 'weekly']).default('daily'),
        date: IsoDay.optional().describe(
          'a day of the period (for weekly: any day of its ISO week, Monday to Sunday); yesterday by default',
        ),
      })
      .strict()
      .default({ kind: 'daily' })
      .describe('the UTC day or ISO week the digest covers'),
    audience: z.enum(['owners', 'teams']).default('owners').describe('one digest per dataset owner, or one per team'),
    scope: z
      .union([
        z.object({ all: z.literal(true) }).strict(),
        z.object({ team: TeamSlug }).strict(),
        z.object({ owners: z.array(z.string().min(1).max(200)).min(1).max(1000) }).strict(),
      ])
      .default({ all: true })
      .describe('{"all":true}, {"team":"<slug>"} (that team\'s datasets) or {"owners":[…]} (those owners\' datasets)'),
    channels: z.array(z.enum(DIGEST_CHANNELS)).min(1).default(['email']).describe('email (SMTP) and/or webhook (Slack-compatible)'),
    sendEmpty: z.boolean().default(false).describe('also send digests with nothing to report (recorded as empty otherwise)'),
    recipientsPerActivity: z.number().int().min(1).max(5_000).default(500).describe('recipients rendered, stored and sent by one activity'),
    parallelism: z.number().int().min(1).max(32).default(4).describe('activities in flight at once'),
    pagesPerRun: z.number().int().min(1).max(10_000).default(200).describe('pages before the run continues as new'),
  })
  .strict();
export type DigestInput = z.output<typeof DigestInput>;

/** One period: its stable key (in the ledger, object keys and Message-IDs) and its [from, to) in UTC. */
export interface DigestPeriod {
  kind: 'daily' | 'weekly';
  /** `daily:2025-01-31` or `weekly:2025-W05`. */
  key: string;
  /** Human label: `2025-01-31` or `2025-W05 (2025-01-27 – 2025-02-02)`. */
  label: string;
  fromMs: number;
  toMs: number;
}

/** ISO 8601 week (Monday first; week 1 holds the year's first Thursday) of the day starting at `ms`. */
export function isoWeek(ms: number): { year: number; week: number; mondayMs: number } {
  const weekday = (new Date(ms).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const mondayMs = ms - weekday * DAY_MS;
  const thursday = new Date(mondayMs + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return { year, week, mondayMs };
}

/** The period a run covers; the default day is the one before `nowMs` (a complete day). */
export function resolvePeriod(input: DigestInput['period'], nowMs: number): DigestPeriod | { error: string } {
  const day = input.date ?? utcDay(nowMs - DAY_MS);
  const dayMs = dayStartMs(day);
  if (dayMs > nowMs) return { error: `period.date: must not be after today (${utcDay(nowMs)})` };
  if (input.kind === 'daily') return { kind: 'daily', key: `daily:${day}`, label: day, fromMs: dayMs, toMs: dayMs + DAY_MS };
  const { year, week, mondayMs } = isoWeek(dayMs);
  const name = `${year}-W${String(week).padStart(2, '0')}`;
  return {
    kind: 'weekly',
    key: `weekly:${name}`,
    label: `${name} (${utcDay(mondayMs)} – ${utcDay(mondayMs + 6 * DAY_MS)})`,
    fromMs: mondayMs,
    toMs: mondayMs + 7 * DAY_MS,
  };
}

/** What every page activity of one run works from (small: no recipient rows, except a listed scope). */
export interface DigestSpec {
  period: DigestPeriod;
  audience: 'owners' | 'teams';
  scope: DigestInput['scope'];
  channels: DigestChannel[];
  sendEmpty: boolean;
  /**
   * Facts after this instant are left out: the period's end, or the run's start for a period not
   * yet over. Fixed per run, so a retry renders the same digest (same Message-ID, same content).
   */
  asOfMs: number;
  workflowId: string;
  /** The first run's id: the digest run's identity across continue-as-new. */
  digestRunId: string;
}

/** Recipients are paged by key: page i holds the recipients r with bounds[i] <= r < bounds[i+1]. */
export interface DigestPlan {
  spec: DigestSpec;
  recipients: number;
  bounds: string[];
}

export interface DigestPage {
  spec: DigestSpec;
  index: number;
  from: string;
  /** Exclusive; null for the last page. */
  to: string | null;
}

export interface DigestTotals {
  recipients: number;
  /** Messages accepted by the SMTP server or the webhook. */
  sent: number;
  /** Sends that repeat one that may have gone out before a crash (same Message-ID / idempotency key). */
  resent: number;
  /** Already completed by an earlier run or attempt: nothing sent. */
  alreadyDone: number;
  /** Nothing to report (and sendEmpty off): recorded, not sent. */
  empty: number;
  /** Refused for good (bad address, 4xx from the webhook): recorded with the reason. */
  failed: number;
  objects: number;
}

export const emptyDigestTotals = (): DigestTotals => ({
  recipients: 0,
  sent: 0,
  resent: 0,
  alreadyDone: 0,
  empty: 0,
  failed: 0,
  objects: 0,
});

const DIGEST_TOTAL_KEYS = Object.keys(emptyDigestTotals()) as (keyof DigestTotals)[];

/** The keys of the totals only: `into` may be a progress record with more in it. */
export const addDigestTotals = (into: DigestTotals, add: DigestTotals): void => addCounts(into, add, DIGEST_TOTAL_KEYS);

export const digestTotalsOf = (from: DigestTotals): DigestTotals => pickCounts(from, DIGEST_TOTAL_KEYS);

export interface DigestResume {
  plan: DigestPlan;
  pagesDone: number[];
  totals: DigestTotals;
}

export interface DigestProgress extends DigestTotals {
  period: string;
  phase: 'planning' | 'delivering' | 'done' | 'failed';
  pages: number;
  pagesDone: number;
  plannedRecipients: number;
}

export interface DigestResult extends DigestTotals {
  period: string;
  pages: number;
}

export function digestScopeLabel(scope: DigestInput['scope']): string {
  if ('team' in scope) return `team ${scope.team}`;
  if ('owners' in scope) return `${scope.owners.length} owner(s)`;
  return 'all';
}

/** The period key a workflow id can be built from before the run starts (the CLI, schedules). */
export function periodKeyOf(input: DigestInput, nowMs: number): string {
  const p = resolvePeriod(input.period, nowMs);
  return 'error' in p ? `${input.period.kind}:${input.period.date ?? 'default'}` : p.key;
}

/** The ledger's recipient key: `owner:ana@example.com` or `team:commerce`. */
export const recipientKey = (audience: 'owners' | 'teams', name: string): string => `${audience === 'teams' ? 'team' : 'owner'}:${name}`;

/**
 * Object key of a digest's HTML, deterministic per recipient and period (a re-render overwrites
 * it): `digests/daily/2025-01-31/owner/ana@example.com.html`.
 */
export function digestObjectKey(periodKey: string, recipient: string): string {
  const [kind, name] = periodKey.split(':') as [string, string];
  const at = recipient.indexOf(':');
  const who = encodeURIComponent(recipient.slice(at + 1)).replaceAll('%40', '@');
  return `digests/${kind}/${name}/${recipient.slice(0, at)}/${who}.html`;
}

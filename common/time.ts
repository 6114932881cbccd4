import { z } from 'zod';

/** Time helpers shared by activities, workflows and the CLI: pure, UTC throughout, workflow-safe. */

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of an instant, in UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Epoch ms of a `YYYY-MM-DD` day's midnight UTC. */
export const dayStartMs = (day: string): number => Date.parse(`${day}T00:00:00Z`);

/** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC: what DATETIME(3) stores, whatever the session's zone. */
export const sqlTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

/** 'YYYY-MM-DD HH:MM:SS' in UTC: whole seconds, as partition bounds on a source cursor are written. */
export const sqlTimeSeconds = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** A DATETIME back to epoch ms, read as a string (dateStrings) or as a Date. */
export function fromSqlTime(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return Date.parse(`${String(value).replace(' ', 'T')}Z`);
}

const UNIT_MS = { d: DAY_MS, h: HOUR_MS, m: MINUTE_MS, s: SECOND_MS } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const DURATION_WITH_MS = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Milliseconds of `15m`, `1h30m`, `45s` or `2d`; undefined for anything else. With `millis`,
 * a trailing `250ms` is accepted too (pipeline timeouts); schedules keep whole seconds.
 */
export function durationMs(text: string, options: { millis?: boolean } = {}): number | undefined {
  const match = (options.millis ? DURATION_WITH_MS : DURATION).exec(text);
  if (!text || !match) return undefined;
  const [, d = '0', h = '0', m = '0', s = '0', ms = '0'] = match;
  return Number(d) * UNIT_MS.d + Number(h) * UNIT_MS.h + Number(m) * UNIT_MS.m + Number(s) * UNIT_MS.s + Number(ms);
}

/** The shortest text of a duration (`5400000` → `1h30m`), so equal durations always read alike. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000) * 1000; // Temporal keeps whole seconds
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text || '0s';
}

/** A real calendar day written `YYYY-MM-DD`. */
export const IsoDay = z
  .string()
  .regex(/^\d{4}-\d\d-\d\d$/, 'must be a day like 2025-01-31')
  .refine((d) => new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'must be a real calendar day');

const INSTANT = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?)?(Z|[+-]\d\d:?\d\d)?$/i;

/**
 * Epoch ms of a date or date-time as people write them ('2024-03-01', '2024-03-01T05',
 * '2024-03-01 05:30:00.250', with 'Z' or an offset like '+02:00'; no zone means UTC), or a
 * reason it is not one. Every field is checked as a value: month 13, day 45 or 25:00 are refused.
 */
export function parseInstant(text: string): { ms: number } | { error: string } {
  const m = INSTANT.exec(text.trim());
  if (!m) return { error: 'must be a date or date-time like 2024-03-01, 2024-03-01T05:00 or 2024-03-01T05:00:00+02:00' };
  const field = (i: number) => Number(m[i] ?? 0);
  const [year, month, day, hour, minute, second] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  const fraction = m[7] ? Number(`0.${m[7]}`) * SECOND_MS : 0;
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (daysInMonth === 0) return { error: `month ${month} does not exist` };
  if (day < 1 || day > daysInMonth) return { error: `day ${day} does not exist in ${year}-${String(month).padStart(2, '0')}` };
  if (hour > 23 || minute > 59 || second > 59) return { error: `time ${m[4]}:${m[5] ?? '00'}:${m[6] ?? '00'} does not exist` };
  let offsetMs = 0;
  const zone = m[8]?.toUpperCase();
  if (zone && zone !== 'Z') {
    const [h, mm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
    if (h > 14 || mm > 59) return { error: `offset ${zone} does not exist` };
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (h * HOUR_MS + mm * MINUTE_MS);
  }
  return { ms: Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(fraction) - offsetMs };
}

/**
 * A date or date-time input (see `parseInstant`), refused at once when it is not a real one, and
 * normalised to UTC `YYYY-MM-DD HH:MM:SS[.mmm]`: the form the cursor bounds and partitions use.
 */
export const UtcInstant = z
  .string()
  .transform((text, ctx) => normaliseInstant(text, ctx))
  .meta({ description: 'a date or date-time, UTC unless it says its zone' });

/** The UTC `YYYY-MM-DD HH:MM:SS[.mmm]` of a date or date-time, or an issue with its reason. */
export function normaliseInstant(text: string, ctx: z.RefinementCtx): string {
  const parsed = parseInstant(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.ms % SECOND_MS === 0 ? sqlTimeSeconds(parsed.ms) : sqlTime(parsed.ms);
}

/** Epoch ms of a normalised `UtcInstant`. */
export const instantMs = (normalised: string): number => fromSqlTime(normalised);

/**
 * The ISO 8601 interval of a range of normalised instants, as short as it stays exact:
 * `2024-03-01/2024-03-11` for midnights, `2024-03-01T05:00:00Z/…` otherwise.
 */
export function isoInterval(from: string, to: string): string {
  const iso = (instant: string) => (instant.endsWith(' 00:00:00') ? instant.slice(0, 10) : `${instant.replace(' ', 'T')}Z`);
  return `${iso(from)}/${iso(to)}`;
}

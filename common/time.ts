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

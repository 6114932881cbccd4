/**
 * Partitions of a backfill: consecutive windows of the dataset's cursor, one day or one hour
 * each, named by their start ('2024-03-01' or '2024-03-01T05'). Pure and workflow-safe.
 */
import { DAY_MS, HOUR_MS, sqlTimeSeconds } from './time.js';

export type Granularity = 'daily' | 'hourly';

export interface Partition {
  key: string;
  /** Inclusive start and exclusive end on the cursor, as `YYYY-MM-DD HH:MM:SS` (UTC). */
  from: string;
  to: string;
}

const STEP_MS: Record<Granularity, number> = { daily: DAY_MS, hourly: HOUR_MS };

/** Epoch ms of a UTC date or date-time: '2024-03-01', '2024-03-01T05', '2024-03-01 05:30[:00][Z]'. */
export function epochMs(value: string): number {
  const v = value.replace(' ', 'T').replace(/Z$/, '');
  const full = v.length === 10 ? `${v}T00:00:00` : v.length === 13 ? `${v}:00:00` : v.length === 16 ? `${v}:00` : v;
  return Date.parse(`${full}Z`);
}

export function partitionAt(startMs: number, granularity: Granularity): Partition {
  const iso = new Date(startMs).toISOString();
  return {
    key: granularity === 'daily' ? iso.slice(0, 10) : iso.slice(0, 13),
    from: sqlTimeSeconds(startMs),
    to: sqlTimeSeconds(startMs + STEP_MS[granularity]),
  };
}

function firstStart(from: string, granularity: Granularity): number {
  const ms = epochMs(from);
  return ms - (ms % STEP_MS[granularity]);
}

/** Partitions covering [from, to), in order; after `afterKey` when given. */
export function* partitionsBetween(from: string, to: string, granularity: Granularity, afterKey?: string | null): Generator<Partition> {
  const step = STEP_MS[granularity];
  const end = epochMs(to);
  let ms = afterKey ? epochMs(afterKey) + step : firstStart(from, granularity);
  for (; ms < end; ms += step) yield partitionAt(ms, granularity);
}

export function countPartitions(from: string, to: string, granularity: Granularity): number {
  const step = STEP_MS[granularity];
  return Math.max(0, Math.ceil((epochMs(to) - firstStart(from, granularity)) / step));
}

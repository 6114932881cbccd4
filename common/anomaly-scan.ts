import { z } from 'zod';
import { DatasetName, TeamSlug } from './dataset.js';
import { DAY_MS, HOUR_MS } from './time.js';
import { addCounts, pickCounts } from './totals.js';

/**
 * What a scan can look at, all from the sync's run metrics in InfluxDB: rows per run (volume),
 * freshness lag, per-column null rate, run duration.
 */
export const ANOMALY_METRICS = ['volume', 'freshness', 'null_rate', 'duration'] as const;
export const AnomalyMetric = z.enum(ANOMALY_METRICS);
export type AnomalyMetric = z.output<typeof AnomalyMetric>;

const IsoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, like 2025-01-31T00:00:00Z' });

export const AnomalyScanInput = z
  .object({
    datasets: z
      .array(DatasetName)
      .min(1)
      .max(10_000)
      .optional()
      .describe('catalog names of the datasets to scan; without it and without team, every dataset with metrics in the window'),
    team: TeamSlug.optional().describe("scan only this team's datasets"),
    metrics: z
      .array(AnomalyMetric)
      .min(1)
      .default([...ANOMALY_METRICS])
      .describe('which series to scan'),
    window: z
      .object({
        from: IsoTime.optional(),
        to: IsoTime.optional(),
        lastHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 366)
          .optional(),
      })
      .strict()
      .superRefine((w, ctx) => {
        const absolute = w.from !== undefined || w.to !== undefined;
        if (absolute && w.lastHours !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['lastHours'], message: 'give either from and to, or lastHours, not both' });
        } else if (absolute && (w.from === undefined || w.to === undefined)) {
          ctx.addIssue({ code: 'custom', path: [w.from === undefined ? 'from' : 'to'], message: 'from and to go together' });
        } else if (!absolute && w.lastHours === undefined) {
          ctx.addIssue({ code: 'custom', path: ['lastHours'], message: 'give from and to, or lastHours' });
        } else if (w.from !== undefined && w.to !== undefined && Date.parse(w.from) >= Date.parse(w.to)) {
          ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
        }
      })
      .default({ lastHours: 24 })
      .describe('the scanned window: {from, to} (to exclusive), or {lastHours} ending when the scan starts'),
    trainingDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('history read before the window to warm the detector up (never reported on)'),
    detector: z
      .object({
        sensitivity: z.number().min(0).max(1).optional(),
        direction: z.enum(['spike', 'drop', 'both']).optional(),
        minAbsoluteChange: z.number().min(0).optional(),
        minRelativeChange: z.number().min(0).optional(),
      })
      .strict()
      .default({})
      .describe("detector options, one set for every series; what is left out takes the detector's defaults"),
    datasetsPerActivity: z.number().int().min(1).max(5_000).default(250).describe('datasets read and scored by one activity'),
    parallelism: z.number().int().min(1).max(16).default(2).describe('activities in flight at once'),
  })
  .strict()
  .refine((i) => i.datasets === undefined || i.team === undefined, { path: ['team'], message: 'give datasets or team, not both' });
export type AnomalyScanInput = z.output<typeof AnomalyScanInput>;
export type DetectorChoice = AnomalyScanInput['detector'];

/** The window a scan reports on, and the history before it that only trains the detector. */
export interface ScanWindow {
  trainingFromMs: number;
  /** Inclusive. */
  fromMs: number;
  /** Exclusive. */
  toMs: number;
}

/** Fixes the window: `lastHours` counts back from `nowMs` (the workflow's start, so a replay agrees). */
export function resolveWindow(input: Pick<AnomalyScanInput, 'window' | 'trainingDays'>, nowMs: number): ScanWindow {
  const { from, to, lastHours } = input.window;
  const toMs = to !== undefined ? Date.parse(to) : nowMs;
  const fromMs = from !== undefined ? Date.parse(from) : toMs - (lastHours ?? 24) * HOUR_MS;
  return { trainingFromMs: fromMs - input.trainingDays * DAY_MS, fromMs, toMs };
}

/** Everything a scan activity needs besides its datasets: small, so it can ride in every payload. */
export interface ScanSpec {
  scanId: string;
  window: ScanWindow;
  metrics: AnomalyMetric[];
  detector: DetectorChoice;
}

export interface ScanPlan {
  spec: ScanSpec;
  /** Sorted; the workflow cuts it into groups of `datasetsPerActivity`. */
  datasets: string[];
}

export interface ScanGroupInput {
  spec: ScanSpec;
  group: number;
  datasets: string[];
}

export interface ScanTotals {
  /** Datasets that had at least one series to scan. */
  datasets: number;
  series: number;
  /** Points scored inside the window. */
  points: number;
  /** Anomalies recorded (open or confirmed) inside the window. */
  anomalies: number;
  /** Of those, confirmed by feedback. */
  confirmed: number;
  /** Alerts not reported because feedback called the point normal. */
  suppressed: number;
  /** Points inside exclusion windows: neither scored nor used for training. */
  excludedPoints: number;
}

export const emptyTotals = (): ScanTotals => ({
  datasets: 0,
  series: 0,
  points: 0,
  anomalies: 0,
  confirmed: 0,
  suppressed: 0,
  excludedPoints: 0,
});

const TOTAL_KEYS = Object.keys(emptyTotals()) as (keyof ScanTotals)[];

/** Adds the counts only: `into` may be a progress record with more in it. */
export const addTotals = (into: ScanTotals, more: ScanTotals): void => addCounts(into, more, TOTAL_KEYS);

export const totalsOf = (from: ScanTotals): ScanTotals => pickCounts(from, TOTAL_KEYS);

export interface AnomalyScanProgress extends ScanTotals {
  scanId: string;
  phase: 'planning' | 'scanning' | 'finishing' | 'done' | 'failed';
  from: string;
  to: string;
  groups: number;
  groupsDone: number;
}

export interface AnomalyScanResult extends ScanTotals {
  scanId: string;
  from: string;
  to: string;
  groups: number;
}

/** What a scan carries into its next run when it continues as new. */
export interface AnomalyScanResume {
  plan: ScanPlan;
  groupsDone: number[];
  totals: ScanTotals;
}

import type { z } from 'zod';
import type { SyncInput } from '../common/sync.js';
import { durationMs, formatDuration } from '../common/time.js';
import type { ScheduleDeclarationInput } from './schema.js';
import { PIPELINE_SCHEDULES } from './pipelines.js';

export { SCHEDULABLE_WORKFLOW_TYPES } from '../common/workflows.js';

export interface SyncSchedulesOptions {
  team: string;
  datasets: readonly string[];
  /** Interval between syncs of each dataset, like `15m`. */
  every: string;
  /** When in each interval the first dataset syncs, like `1m`. */
  offset?: string;
  /** How much later each next dataset syncs than the one before, so they do not all fire at once. */
  stagger?: string;
  /** Input every sync gets besides its dataset, like `{ mode: 'full' }`. */
  input?: Omit<z.input<typeof SyncInput>, 'dataset'>;
  /** Anything else of a declaration (overlap, catchupWindow, jitter, paused, note, …). */
  declare?: Partial<Omit<ScheduleDeclarationInput, 'id' | 'workflowType' | 'team' | 'input' | 'spec' | 'summary'>> & {
    spec?: { timezone?: string; jitter?: string };
  };
}

/**
 * One sync schedule per dataset of a team, id `sync:<dataset>`, staggered within the interval in
 * list order (append new datasets at the end to keep the others' times).
 */
export function syncSchedules(options: SyncSchedulesOptions): ScheduleDeclarationInput[] {
  const every = durationMs(options.every);
  const first = durationMs(options.offset ?? '0s');
  const stagger = durationMs(options.stagger ?? '2m');
  if (every === undefined || every === 0 || first === undefined || stagger === undefined) {
    throw new Error(`syncSchedules for ${options.team}: every, offset and stagger must be durations like 15m`);
  }
  return options.datasets.map((dataset, index) => ({
    ...options.declare,
    id: `sync:${dataset}`,
    workflowType: 'syncWorkflow',
    team: options.team,
    input: { ...options.input, dataset },
    spec: { ...options.declare?.spec, every: options.every, offset: formatDuration((first + index * stagger) % every) },
  }));
}

/**
 * Every schedule of the platform. The demo shop syncs each table every 15 minutes in UTC, its
 * four syncs three minutes apart (xx:01, xx:04, xx:07, xx:10, …).
 */
export const PLATFORM_SCHEDULES: readonly ScheduleDeclarationInput[] = [
  ...syncSchedules({ team: 'growth', datasets: ['shop.customers'], every: '15m', offset: '1m' }),
  ...syncSchedules({ team: 'merchandising', datasets: ['shop.products'], every: '15m', offset: '4m' }),
  ...syncSchedules({ team: 'commerce', datasets: ['shop.orders', 'shop.order_lines'], every: '15m', offset: '7m', stagger: '3m' }),
  // Declared beside their specs, in pipelines/schedules.yaml: the nightly pipeline.
  ...PIPELINE_SCHEDULES,
];

import { loadConfig, type SpokeflowConfig } from '../runtime/config.js';
import { DEFAULT_SCHEDULE_PREFIX, applySchedules, listManagedSchedules, type ManagedSchedule, type ScheduleDiff } from './apply.js';
import { PLATFORM_SCHEDULES } from './registry.js';
import { connectClient } from '../runtime/temporal.js';

export type ScheduleCommand = 'apply' | 'diff' | 'list';

export interface ScheduleCommandOptions {
  /** apply only: delete managed schedules no longer declared (diff reports them either way when set). */
  prune?: boolean;
  /** apply only: report without changing anything (`diff` always does). */
  dryRun?: boolean;
  prefix?: string;
  /** Defaults to the platform's registry. */
  declarations?: readonly unknown[];
  config?: SpokeflowConfig;
  print?: (text: string) => void;
}

export type ScheduleCommandResult = { command: 'apply' | 'diff'; diff: ScheduleDiff } | { command: 'list'; schedules: ManagedSchedule[] };

/**
 * `spokeflow schedules apply|diff|list`: connects to Temporal from the configuration, runs the
 * command against the registry and prints the outcome. Returns it too, for callers and tests.
 */
export async function runScheduleCommand(command: ScheduleCommand, options: ScheduleCommandOptions = {}): Promise<ScheduleCommandResult> {
  const config = options.config ?? loadConfig();
  const print = options.print ?? ((text: string) => console.log(text));
  const prefix = options.prefix ?? DEFAULT_SCHEDULE_PREFIX;
  const { client, close } = await connectClient(config);
  try {
    if (command === 'list') {
      const schedules = await listManagedSchedules(client, prefix);
      print(formatSchedules(schedules));
      return { command, schedules };
    }
    const dryRun = command === 'diff' || Boolean(options.dryRun);
    const diff = await applySchedules(client, options.declarations ?? PLATFORM_SCHEDULES, { dryRun, prune: options.prune, prefix });
    print(formatDiff(diff, { dryRun, prune: Boolean(options.prune) }));
    return { command, diff };
  } finally {
    await close();
  }
}

/** One line per schedule, then a count; the verbs say "would" in a dry run. */
export function formatDiff(diff: ScheduleDiff, context: { dryRun: boolean; prune: boolean }): string {
  const lines = [
    ...diff.create.map((id) => `+ create     ${id}`),
    ...diff.update.map(({ id, changes }) => `~ update     ${id}  (${changes.join(', ')})`),
    ...diff.delete.map((id) => `- delete     ${id}`),
    ...diff.conflicts.map(({ id, reason }) => `! conflict   ${id}: ${reason}`),
    ...diff.unchanged.map((id) => `  unchanged  ${id}`),
  ];
  const [create, update, remove, unchanged] = [diff.create, diff.update, diff.delete, diff.unchanged].map((list) => list.length);
  const footer = context.dryRun
    ? `dry run, nothing changed: would create ${create}, update ${update}, delete ${remove}; ${unchanged} unchanged`
    : `created ${create}, updated ${update}, deleted ${remove}; ${unchanged} unchanged`;
  const pruneHint = context.prune ? '' : ' (without --prune, schedules no longer declared are kept)';
  return [...lines, footer + pruneHint].join('\n');
}

export function formatSchedules(schedules: readonly ManagedSchedule[]): string {
  if (!schedules.length) return 'no managed schedules';
  const width = Math.max(...schedules.map((s) => s.id.length));
  return schedules
    .map((s) => {
      const state = s.paused ? `paused${s.note ? ` (${s.note})` : ''}` : `next ${s.nextRuns[0]?.toISOString() ?? '-'}`;
      return `${s.id.padEnd(width)}  ${s.workflowType ?? '?'}  ${state}  last ${s.lastRun?.toISOString() ?? 'never'}`;
    })
    .join('\n');
}

import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import {
  MANAGED_MEMO_KEY,
  appliedRecordOf,
  changedFields,
  createOptionsOf,
  liveRecordOf,
  recordOf,
  scheduleIdOf,
  updateOptionsOf,
  type ScheduleField,
} from './compile.js';
import { parseScheduleDeclarations } from './schema.js';

/** Prepended to each declaration's id to make the Temporal schedule id; also what prune is limited to. */
export const DEFAULT_SCHEDULE_PREFIX = 'spokeflow:';

export interface ApplyOptions {
  /** Report what would change and change nothing. */
  dryRun?: boolean;
  /** Delete managed schedules under the prefix that are no longer declared. */
  prune?: boolean;
  prefix?: string;
}

/** What an apply did (or, in a dry run, would do), by Temporal schedule id. */
export interface ScheduleDiff {
  create: string[];
  update: { id: string; changes: ScheduleField[] }[];
  delete: string[];
  unchanged: string[];
  /** Declared ids already taken by a schedule spokeflow does not manage: left alone. */
  conflicts: { id: string; reason: string }[];
}

/**
 * Makes Temporal's schedules match the declarations: creates the missing, updates the changed,
 * and with `prune` deletes managed schedules no longer declared. Idempotent: an unchanged
 * declaration causes no update. Every declaration is validated before anything is touched.
 */
export async function applySchedules(client: Client, declarations: readonly unknown[], options: ApplyOptions = {}): Promise<ScheduleDiff> {
  const prefix = options.prefix ?? DEFAULT_SCHEDULE_PREFIX;
  const write = !options.dryRun;
  const declared = parseScheduleDeclarations(declarations);
  const diff: ScheduleDiff = { create: [], update: [], delete: [], unchanged: [], conflicts: [] };

  for (const declaration of declared) {
    const scheduleId = scheduleIdOf(prefix, declaration);
    const handle = client.schedule.getHandle(scheduleId);
    const live = await describeIfExists(handle);
    if (!live) {
      diff.create.push(scheduleId);
      if (write) await client.schedule.create(createOptionsOf(declaration, scheduleId));
    } else if (!isManaged(live)) {
      diff.conflicts.push({ id: scheduleId, reason: `not created by spokeflow (no ${MANAGED_MEMO_KEY} memo): left alone` });
    } else {
      const changes = changedFields(recordOf(declaration), appliedRecordOf(live), liveRecordOf(live));
      if (!changes.length) {
        diff.unchanged.push(scheduleId);
        continue;
      }
      diff.update.push({ id: scheduleId, changes });
      if (write) await handle.update((previous) => updateOptionsOf(declaration, scheduleId, previous, changes));
    }
  }

  if (options.prune) {
    const keep = new Set(declared.map((d) => scheduleIdOf(prefix, d)));
    for (const summary of await listManagedSchedules(client, prefix)) {
      if (keep.has(summary.id)) continue;
      // The list is eventually consistent: confirm the schedule still exists and is ours.
      const handle = client.schedule.getHandle(summary.id);
      const live = await describeIfExists(handle);
      if (!live || !isManaged(live)) continue;
      diff.delete.push(summary.id);
      if (write) await handle.delete();
    }
  }
  return diff;
}

export interface ManagedSchedule {
  id: string;
  workflowType: string | undefined;
  paused: boolean;
  note: string | undefined;
  nextRuns: Date[];
  lastRun: Date | undefined;
}

/** The managed schedules under a prefix, from Temporal's (eventually consistent) schedule list. */
export async function listManagedSchedules(client: Client, prefix = DEFAULT_SCHEDULE_PREFIX): Promise<ManagedSchedule[]> {
  const found: ManagedSchedule[] = [];
  for await (const summary of client.schedule.list()) {
    if (!summary.scheduleId.startsWith(prefix) || summary.memo?.[MANAGED_MEMO_KEY] !== true) continue;
    found.push({
      id: summary.scheduleId,
      workflowType: summary.action?.workflowType,
      paused: summary.state.paused,
      note: summary.state.note || undefined,
      nextRuns: summary.info.nextActionTimes,
      lastRun: summary.info.recentActions.at(-1)?.takenAt,
    });
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

function isManaged(live: ScheduleDescription): boolean {
  return live.memo?.[MANAGED_MEMO_KEY] === true;
}

async function describeIfExists(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

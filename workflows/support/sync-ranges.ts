import { ActivityCancellationType, CancellationScope, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import { addSyncTotals, type KeyRangeCursor, type SyncPlan, type SyncResumeState } from '../../common/sync.js';
import type { SyncState } from './sync-steps.js';

/** Runs started before key ranges copy a large full or windowed sync one chunk after another. */
export const SYNC_KEY_RANGES_PATCH = 'sync-key-ranges';

export type KeyRangeSteps = Pick<IngestionActivities, 'planKeyRanges' | 'copyKeyRange'>;

/**
 * Planning under `short`, each range's copy under `copy`; the copies are not eagerly dispatched
 * (the server would hand them to this workflow's worker instead of any ingestion worker on the
 * queue), and a cancelled copy is waited for, so no range still writes once the run has ended.
 */
export function proxyKeyRangeSteps(options: { short: ActivityOptions; copy: ActivityOptions }): KeyRangeSteps {
  const { planKeyRanges } = proxyActivities<Pick<IngestionActivities, 'planKeyRanges'>>(options.short);
  const { copyKeyRange } = proxyActivities<Pick<IngestionActivities, 'copyKeyRange'>>({
    ...options.copy,
    allowEagerDispatch: false,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return { planKeyRanges, copyKeyRange };
}

export interface KeyRangeRun {
  plan: SyncPlan & { parallelRanges: number };
  state: SyncState;
  /** Told when the ranges are planned and after each range is in. */
  progressed?(ranges: { planned: number; done: number; running: number }): void;
  continueAsNew?(resume: SyncResumeState): Promise<never>;
}

/**
 * The key space cut into ranges once, then up to `parallelRanges` of them copied at once, a new
 * one as soon as one is in. When Temporal suggests continuing as new, the ranges in flight finish
 * first, so the next run starts at the first range not started. A failing range cancels the
 * others and waits for them before the run fails.
 */
export async function copyKeyRanges(steps: KeyRangeSteps, run: KeyRangeRun): Promise<void> {
  const { plan, state } = run;
  state.ranges ??= { count: (await steps.planKeyRanges({ plan })).ranges, next: 0 };
  const ranges: KeyRangeCursor = state.ranges;
  let done = ranges.next;
  const running = new Map<number, Promise<void>>();
  const copies = new CancellationScope();
  const tell = () => run.progressed?.({ planned: ranges.count, done, running: running.size });
  let continuing = false;
  for (;;) {
    while (!continuing && running.size < plan.parallelRanges && ranges.next < ranges.count) {
      const range = ranges.next++;
      const copy = copies
        .run(() => steps.copyKeyRange({ plan, range }))
        .then((totals) => {
          running.delete(range);
          addSyncTotals(state.totals, totals);
          done += 1;
        });
      copy.catch(() => undefined); // raised by the race below
      running.set(range, copy);
    }
    tell();
    if (running.size === 0) break;
    try {
      await Promise.race(running.values());
    } catch (err) {
      copies.cancel();
      await Promise.allSettled(running.values());
      throw err;
    }
    continuing ||= run.continueAsNew !== undefined && workflowInfo().continueAsNewSuggested;
  }
  if (ranges.next < ranges.count) {
    await run.continueAsNew!({ plan, after: state.after, nextSeq: state.nextSeq, totals: { ...state.totals }, ranges: { ...ranges } });
  }
}

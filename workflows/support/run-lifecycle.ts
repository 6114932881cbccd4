import { CancellationScope, ContinueAsNew, isCancellation, log, upsertSearchAttributes } from '@temporalio/workflow';
import { SearchAttr, type RunOutcome } from '../../common/search-attributes.js';
import { failureOnTop, reasonText } from './failure-reason.js';

/**
 * What a run is and how it ended, as the search attributes an operator filters by in the Web UI,
 * and the one way every workflow ends in failure.
 */

/** Names the run for the Web UI's filters: its kind, and the dataset, team or range it covers. */
export function tagRun(tags: { kind: string; dataset?: string; team?: string; partition?: string }): void {
  upsertSearchAttributes([
    { key: SearchAttr.kind, value: tags.kind },
    ...(tags.dataset !== undefined ? [{ key: SearchAttr.dataset, value: tags.dataset }] : []),
    ...(tags.team !== undefined ? [{ key: SearchAttr.team, value: tags.team }] : []),
    ...(tags.partition !== undefined ? [{ key: SearchAttr.partition, value: tags.partition }] : []),
  ]);
}

/** How the run ended (and, for runs that move rows, how many). */
export function markOutcome(outcome: RunOutcome, rows?: number): void {
  upsertSearchAttributes([
    { key: SearchAttr.outcome, value: outcome },
    ...(rows !== undefined ? [{ key: SearchAttr.rows, value: rows }] : []),
  ]);
}

export interface FailedRun {
  /** For the log line: `<what> failed`. */
  what: string;
  /** Log context: the keys that identify the run. */
  context?: Record<string, unknown>;
  /**
   * Names the run for the Web UI's filters when it failed before it could (a sync tags itself once
   * planned, with its team).
   */
  tag?(): void;
  /** Shows the end to the operator (progress phase, current details). */
  show?(outcome: 'failed' | 'cancelled', reason: string): void;
  /**
   * Records the run's end in its store, whatever step failed, planning included, so that the
   * catalog, health scoring and digests count it; runs even while the workflow is being cancelled.
   */
  record?(outcome: 'failed' | 'cancelled', reason: string): Promise<void>;
}

/**
 * The failure epilogue of every workflow: a continue-as-new passes through; otherwise the run is
 * marked failed (or cancelled), logged and recorded, and it fails with the underlying error's
 * type and message on top ("AuthenticationFailed: …", not "Activity task failed").
 */
export async function failRun(err: unknown, run: FailedRun): Promise<never> {
  if (err instanceof ContinueAsNew) throw err;
  const outcome = isCancellation(err) ? 'cancelled' : 'failed';
  const reason = reasonText(err);
  run.tag?.();
  run.show?.(outcome, reason);
  markOutcome(outcome);
  log.error(`${run.what} failed`, { ...run.context, outcome, reason });
  if (run.record) await CancellationScope.nonCancellable(() => run.record!(outcome, reason));
  throw failureOnTop(err);
}

import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ContinueAsNew,
  isCancellation,
  log,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SearchAttr, type RunOutcome } from '../../common/search-attributes.js';

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

/**
 * The failure an operator should read: an activity's or child's own ApplicationFailure rather
 * than "Activity task failed". Anything else is returned as it is (a timeout or cancellation stays
 * wrapped, and a non-Temporal error must stay one, so that it fails the workflow task and is
 * retried after a fix rather than failing the run).
 */
export function causeOf(err: unknown): unknown {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e instanceof ApplicationFailure ? e : err;
}

/** What went wrong, in the innermost failure's words ("Activity task timed out", not "Activity task failed"). */
export function messageOf(err: unknown): string {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

export interface FailedRun {
  /** For the log line: `<what> failed`. */
  what: string;
  /** Whether the run got far enough to have a run to record (after bad input, nothing was started). */
  started: boolean;
  /** Log context: the keys that identify the run. */
  context?: Record<string, unknown>;
  /** Shows the end to the operator (progress phase, current details). */
  show?(outcome: 'failed' | 'cancelled', message: string): void;
  /** Records the run's end in its store; runs even while the workflow itself is being cancelled. */
  record?(outcome: 'failed' | 'cancelled', message: string): Promise<void>;
}

/**
 * The failure epilogue of every workflow: a continue-as-new passes through; otherwise the run is
 * marked failed (or cancelled), logged and recorded, and its cause rethrown.
 */
export async function failRun(err: unknown, run: FailedRun): Promise<never> {
  if (err instanceof ContinueAsNew) throw err;
  const failure = causeOf(err);
  if (!run.started) throw failure;
  const outcome = isCancellation(err) ? 'cancelled' : 'failed';
  const message = messageOf(failure);
  run.show?.(outcome, message);
  markOutcome(outcome);
  log.error(`${run.what} failed`, { ...run.context, outcome, message });
  if (run.record) await CancellationScope.nonCancellable(() => run.record!(outcome, message));
  throw failure;
}

import { patched, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import type { PartitionRef } from '../../common/backfill.js';
import {
  addSyncTotals,
  emptySyncTotals,
  type ChunkResult,
  type KeyRangeCursor,
  type KeysetPosition,
  type SyncInput,
  type SyncPlan,
  type SyncResult,
  type SyncResumeState,
  type SyncTotals,
} from '../../common/sync.js';
import { SYNC_KEY_RANGES_PATCH, copyKeyRanges, type KeyRangeRun, type KeyRangeSteps } from './sync-ranges.js';

/**
 * The steps of one sync — plan, copy chunk after chunk, finish — as both a sync and each
 * partition of a backfill run them, so that the two cannot drift apart.
 */

export type SyncSteps = Pick<IngestionActivities, 'planSync' | 'copyChunk' | 'finishSync'>;

/** The sync's activities, planning and finishing under `short` and the copy under `copy`. */
export function proxySyncSteps(options: { short: ActivityOptions; copy: ActivityOptions }): SyncSteps {
  const { planSync, finishSync } = proxyActivities<Pick<IngestionActivities, 'planSync' | 'finishSync'>>(options.short);
  const { copyChunk } = proxyActivities<Pick<IngestionActivities, 'copyChunk'>>(options.copy);
  return { planSync, copyChunk, finishSync };
}

/** How far a sync got: after a failure, the caller records the run from it. */
export interface SyncState {
  plan?: SyncPlan;
  after: KeysetPosition | null;
  nextSeq: number;
  totals: SyncTotals;
  /** A run copied as key ranges: how many, and the first not started. */
  ranges?: KeyRangeCursor;
}

export function syncState(resume?: SyncResumeState): SyncState {
  if (!resume) return { after: null, nextSeq: 1, totals: emptySyncTotals() };
  const state: SyncState = { plan: resume.plan, after: resume.after, nextSeq: resume.nextSeq, totals: { ...resume.totals } };
  if (resume.ranges) state.ranges = { ...resume.ranges };
  return state;
}

export interface SyncRun {
  input: SyncInput;
  syncRunId: string;
  startedAtMs: number;
  /** A backfill partition: its plan and finish also record it in the backfill ledger. */
  partition?: PartitionRef;
  /** Filled in as the sync goes (and carried over a continue-as-new). */
  state: SyncState;
  planned?(plan: SyncPlan): void;
  copied?(chunk: ChunkResult): void;
  finishing?(): void;
  /** Given, the sync continues as new between chunks when Temporal suggests it, carrying its state. */
  continueAsNew?(resume: SyncResumeState): Promise<never>;
  /** Given, a plan that asks for key ranges is copied as ranges in parallel (a backfill's partitions never are). */
  keyRanges?: { steps: KeyRangeSteps; progressed?: KeyRangeRun['progressed'] };
}

export async function runSync(steps: SyncSteps, run: SyncRun): Promise<SyncResult> {
  const { state } = run;
  const partition = run.partition ? { partition: run.partition } : {};
  if (!state.plan) {
    state.plan = await steps.planSync(run.input, { syncRunId: run.syncRunId, startedAtMs: run.startedAtMs, ...partition });
    state.after = state.plan.startAfter;
  }
  const plan = state.plan;
  run.planned?.(plan);
  // An empty window has nothing to copy: its plan already finished the run.
  if (plan.finished) return plan.finished;

  const parallelRanges = plan.parallelRanges;
  // Only a plan that asks for ranges asks for the patch, so the histories of every other sync stay as they were.
  if (run.keyRanges && parallelRanges && patched(SYNC_KEY_RANGES_PATCH)) {
    const { steps: rangeSteps, progressed } = run.keyRanges;
    await copyKeyRanges(rangeSteps, { plan: { ...plan, parallelRanges }, state, progressed, continueAsNew: run.continueAsNew });
  } else {
    await copyChunks(steps, plan, run);
  }

  run.finishing?.();
  return steps.finishSync({ plan, totals: { ...state.totals }, after: state.after, ...partition });
}

/** One chunk after another, each starting after the last position the one before committed. */
async function copyChunks(steps: SyncSteps, plan: SyncPlan, run: SyncRun): Promise<void> {
  const { state } = run;
  for (;;) {
    const chunk = await steps.copyChunk({ plan, after: state.after, firstSeq: state.nextSeq });
    // A chunk reports everything committed from firstSeq on, pages a retry resumed included.
    addSyncTotals(state.totals, chunk);
    state.after = chunk.after;
    state.nextSeq = chunk.nextSeq;
    run.copied?.(chunk);
    if (chunk.done) break;
    if (run.continueAsNew && workflowInfo().continueAsNewSuggested) {
      await run.continueAsNew({ plan, after: state.after, nextSeq: state.nextSeq, totals: { ...state.totals } });
    }
  }
}

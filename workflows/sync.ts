import {
  ParentClosePolicy,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { IngestionActivities } from '../activities/ingestion/index.js';
import { parseInput } from '../common/errors.js';
import { TaskQueue } from '../common/task-queues.js';
import { qualityChecksWorkflowId } from '../common/workflow-ids.js';
import { SyncInput, emptySyncTotals, type SyncProgress, type SyncResult, type SyncResumeState } from '../common/sync.js';
import { copy, short } from './support/activity-options.js';
import { DATASET_LEASE_PATCH, withDatasetLease } from './support/dataset-lease.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';
import { proxyKeyRangeSteps } from './support/sync-ranges.js';
import { proxySyncSteps, runSync, syncState } from './support/sync-steps.js';

const steps = proxySyncSteps({ short, copy });
const keyRangeSteps = proxyKeyRangeSteps({ short, copy });
const { failSync, failUnplannedSync } = proxyActivities<Pick<IngestionActivities, 'failSync' | 'failUnplannedSync'>>(short);

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

/** Syncs from before it replay without starting the checks. */
export const QUALITY_CHECKS_AFTER_SYNC_PATCH = 'quality-checks-after-sync';

/**
 * Sync one dataset: source rows → bronze Parquet objects in MinIO → upserts into the MySQL
 * silver table, with the watermark committed together with each page, then the run recorded in
 * the catalog and its metrics in InfluxDB.
 */
export async function syncWorkflow(raw: unknown, resume?: SyncResumeState): Promise<SyncResult> {
  const input = parseInput(SyncInput, raw, 'sync input');
  const info = workflowInfo();
  const progress: SyncProgress = {
    dataset: input.dataset,
    syncRunId: resume?.plan.syncRunId ?? info.runId,
    phase: 'planning',
    estimatedRows: resume?.plan.estimatedRows ?? 0,
    ...(resume?.totals ?? emptySyncTotals()),
  };
  setHandler(syncProgressQuery, () => progress);

  const state = syncState(resume);
  // One writer per dataset: the holder is the chain's first run, so a continued run keeps the lease.
  const holder = { workflowId: info.workflowId, runId: progress.syncRunId };
  try {
    const lease = { dataset: input.dataset, holder, whenBusy: input.whenBusy, waiting: waitingFor };
    const sync = () =>
      runSync(steps, {
        input,
        syncRunId: progress.syncRunId,
        startedAtMs: info.startTime.getTime(),
        state,
        planned: (plan) => {
          tagRun({ kind: 'sync', dataset: plan.dataset, team: plan.team, ...partitionOf(input) });
          progress.estimatedRows = plan.estimatedRows;
          progress.phase = 'copying';
          delete progress.waitingFor;
          report(progress);
        },
        copied: () => {
          Object.assign(progress, state.totals);
          report(progress);
        },
        // A large full or windowed sync of a dataset declaring parallelRanges: its key ranges at once.
        keyRanges: {
          steps: keyRangeSteps,
          progressed: (ranges) => {
            Object.assign(progress, state.totals, { ranges });
            report(progress);
          },
        },
        finishing: () => {
          progress.phase = 'finishing';
        },
        continueAsNew: (carry) => continueAsNew<typeof syncWorkflow>(raw, carry),
      });
    // Runs started before the lease existed replay without it.
    const result = patched(DATASET_LEASE_PATCH) ? await withDatasetLease(lease, sync) : await sync();
    // Only a dataset with checks asks for the patch, so the histories of every other sync stay as they were.
    if (state.plan?.checks && patched(QUALITY_CHECKS_AFTER_SYNC_PATCH)) await startChecks(input.dataset);
    progress.phase = 'done';
    report(progress);
    markOutcome('succeeded', result.rows);
    return result;
  } catch (err) {
    const plan = state.plan;
    return failRun(err, {
      what: 'sync',
      context: { dataset: input.dataset, syncRunId: progress.syncRunId },
      // Once planned, the run was tagged with its team; before, with what the input names.
      tag: () => {
        if (!plan) tagRun({ kind: 'sync', dataset: input.dataset, ...partitionOf(input) });
      },
      show: () => {
        progress.phase = 'failed';
        report(progress);
      },
      record: (outcome, error) =>
        plan
          ? failSync({ plan, totals: { ...state.totals }, outcome, error })
          : failUnplannedSync({
              syncRunId: progress.syncRunId,
              dataset: input.dataset,
              mode: input.mode,
              startedAtMs: info.startTime.getTime(),
              outcome,
              error,
              ...(input.window ? { window: input.window } : {}),
            }),
    });
  }

  function waitingFor(other: { workflowId: string }): void {
    progress.phase = 'waiting';
    progress.waitingFor = other.workflowId;
    report(progress);
  }
}

/**
 * Starts the dataset's checks on the quality queue and lets them run on their own (ABANDON): a
 * slow check never delays the data, and the sync ends at once. A run of them already going is enough.
 */
async function startChecks(dataset: string): Promise<void> {
  try {
    await startChild('qualityChecksWorkflow', {
      taskQueue: TaskQueue.quality,
      workflowId: qualityChecksWorkflowId({ dataset }),
      args: [{ dataset }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** A windowed sync is a partition: its window as an ISO 8601 interval. */
function partitionOf(input: SyncInput): { partition?: string } {
  return input.window ? { partition: `${input.window.from}/${input.window.to}` } : {};
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: SyncProgress): void {
  const pct = p.estimatedRows > 0 ? ` (${Math.min(100, Math.round((100 * p.rows) / p.estimatedRows))}%)` : '';
  if (p.phase === 'waiting') {
    setCurrentDetails(`**${p.dataset}** — waiting: the dataset is held by \`${p.waitingFor}\``);
    return;
  }
  const ranges = p.ranges ? `key ranges ${p.ranges.done} of ${p.ranges.planned} done (${p.ranges.running} running), ` : '';
  setCurrentDetails(
    `**${p.dataset}** — ${p.phase}\n\n` +
      `rows ${p.rows} of ~${p.estimatedRows}${pct}, ${ranges}objects ${p.objects}, ` +
      `quarantined ${p.quarantined}, sync run \`${p.syncRunId}\``,
  );
}

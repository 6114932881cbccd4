import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createIngestionActivities } from '../activities/ingestion/index.js';
import { parseInput } from '../common/errors.js';
import { SearchAttr } from '../common/search-attributes.js';
import {
  SyncInput,
  type KeysetPosition,
  type SyncPlan,
  type SyncProgress,
  type SyncResult,
  type SyncResumeState,
  type SyncTotals,
} from '../common/sync.js';

type Ingestion = ReturnType<typeof createIngestionActivities>;

const catalog = proxyActivities<Ingestion>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// A chunk copies many pages; it heartbeats after each, and a retry resumes from the last one.
const copier = proxyActivities<Ingestion>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 20 },
});

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

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
    ...(resume?.totals ?? { rows: 0, quarantined: 0, bytes: 0, objects: 0 }),
  };
  setHandler(syncProgressQuery, () => progress);

  let plan: SyncPlan | undefined = resume?.plan;
  try {
    plan ??= await catalog.planSync(input, { syncRunId: progress.syncRunId, startedAtMs: info.startTime.getTime() });
    upsertSearchAttributes([
      { key: SearchAttr.dataset, value: plan.dataset },
      { key: SearchAttr.team, value: plan.team },
      { key: SearchAttr.kind, value: 'sync' },
      // A windowed sync is a partition: its window as an ISO 8601 interval.
      ...(input.window ? [{ key: SearchAttr.partition, value: `${input.window.from}/${input.window.to}` }] : []),
    ]);
    progress.estimatedRows = plan.estimatedRows;
    progress.phase = 'copying';
    report(progress);

    let after: KeysetPosition | null = resume?.after ?? plan.startAfter;
    let nextSeq = resume?.nextSeq ?? 1;
    for (;;) {
      const chunk = await copier.copyChunk({ plan, after, firstSeq: nextSeq });
      after = chunk.after;
      nextSeq = chunk.nextSeq;
      add(progress, { rows: chunk.rows, quarantined: chunk.quarantined, bytes: chunk.bytes, objects: chunk.objects });
      report(progress);
      if (chunk.done) break;
      if (workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof syncWorkflow>(raw, { plan, after, nextSeq, totals: totalsOf(progress) });
      }
    }

    progress.phase = 'finishing';
    const result = await catalog.finishSync({ plan, totals: totalsOf(progress), after });
    progress.phase = 'done';
    report(progress);
    upsertSearchAttributes([
      { key: SearchAttr.outcome, value: 'succeeded' },
      { key: SearchAttr.rows, value: result.rows },
    ]);
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (!plan) throw reason(err); // bad input or an unknown dataset: nothing was started
    const outcome = isCancellation(err) ? 'cancelled' : 'failed';
    progress.phase = 'failed';
    report(progress);
    upsertSearchAttributes([{ key: SearchAttr.outcome, value: outcome }]);
    const failure = reason(err);
    const message = failure instanceof Error ? failure.message : String(failure);
    log.error('sync failed', { dataset: plan.dataset, syncRunId: plan.syncRunId, outcome, message });
    const failed = plan;
    // Record the run even when the workflow itself is being cancelled.
    await CancellationScope.nonCancellable(() =>
      catalog.failSync({ plan: failed, totals: totalsOf(progress), outcome, error: message }),
    );
    throw failure;
  }
}

/**
 * The failure an operator should read: an activity's own error rather than "Activity task
 * failed". Anything else is rethrown as it is (a non-Temporal error must stay one, so that it
 * fails the workflow task and is retried after a fix, rather than the run).
 */
function reason(err: unknown): unknown {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
}

function add(totals: SyncTotals, more: SyncTotals): void {
  totals.rows += more.rows;
  totals.quarantined += more.quarantined;
  totals.bytes += more.bytes;
  totals.objects += more.objects;
}

function totalsOf(p: SyncProgress): SyncTotals {
  return { rows: p.rows, quarantined: p.quarantined, bytes: p.bytes, objects: p.objects };
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: SyncProgress): void {
  const pct = p.estimatedRows > 0 ? ` (${Math.min(100, Math.round((100 * p.rows) / p.estimatedRows))}%)` : '';
  setCurrentDetails(
    `**${p.dataset}** — ${p.phase}\n\n` +
      `rows ${p.rows} of ~${p.estimatedRows}${pct}, objects ${p.objects}, ` +
      `quarantined ${p.quarantined}, sync run \`${p.syncRunId}\``,
  );
}

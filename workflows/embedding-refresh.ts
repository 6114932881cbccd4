import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createVectorActivities } from '../activities/vectors/index.js';
import { parseInput } from '../common/errors.js';
import {
  addRefreshTotals,
  EmbeddingRefreshInput,
  emptyRefreshTotals,
  refreshTotalsOf,
  type EmbeddingRefreshProgress,
  type EmbeddingRefreshResult,
  type EmbeddingRefreshResume,
  type RefreshPlan,
} from '../common/knowledge.js';
import { SearchAttr } from '../common/search-attributes.js';

type Vectors = ReturnType<typeof createVectorActivities>;

const ledger = proxyActivities<Vectors>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// A page reads the catalog, embeds what changed and upserts it, heartbeating after each batch. A
// retry redoes the page but skips what an earlier attempt upserted (same hash, this refresh's id).
const pages = proxyActivities<Vectors>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

export const embeddingRefreshProgressQuery = defineQuery<EmbeddingRefreshProgress>('progress');

/**
 * Refresh the semantic index of the catalog: page through the datasets by name, and per page embed
 * only the entries whose text (name, description, columns, tags, owner, team) or model changed,
 * upsert them into pgvector, record the ones the model refuses, and drop index entries whose
 * dataset left the catalog. The cursor is the checkpoint: a long catalog continues as new with it.
 */
export async function embeddingRefreshWorkflow(raw: unknown, resume?: EmbeddingRefreshResume): Promise<EmbeddingRefreshResult> {
  const input = parseInput(EmbeddingRefreshInput, raw, 'embedding refresh input');
  const info = workflowInfo();
  const refreshId = resume?.plan.refreshId ?? info.runId;
  const totals = resume ? { ...resume.totals } : emptyRefreshTotals();
  const progress: EmbeddingRefreshProgress = {
    refreshId,
    phase: 'planning',
    model: resume ? `${resume.plan.model} ${resume.plan.modelVersion}` : '',
    entries: resume?.plan.entries ?? 0,
    pages: resume?.pages ?? 0,
    cursor: resume?.cursor ?? null,
    ...totals,
  };
  setHandler(embeddingRefreshProgressQuery, () => progress);
  upsertSearchAttributes([{ key: SearchAttr.kind, value: 'embedding-refresh' }]);
  report(progress);

  let plan: RefreshPlan | undefined = resume?.plan;
  let cursor = resume?.cursor ?? null;
  try {
    plan ??= await ledger.planRefresh({ refreshId, workflowId: info.workflowId });
    progress.model = `${plan.model} ${plan.modelVersion}`;
    progress.entries = plan.entries;
    progress.phase = 'refreshing';
    report(progress);

    for (let inThisRun = 0; ; inThisRun++) {
      if (inThisRun > 0 && (inThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested)) {
        await continueAsNew<typeof embeddingRefreshWorkflow>(raw, { plan, cursor, pages: progress.pages, totals: refreshTotalsOf(totals) });
      }
      const page = await pages.refreshPage({
        plan,
        after: cursor,
        pageSize: input.pageSize,
        batchSize: input.batchSize,
        maxEntryAttempts: input.maxEntryAttempts,
        reembed: input.reembed,
        totalsBefore: refreshTotalsOf(totals),
      });
      addRefreshTotals(totals, page);
      cursor = page.last;
      Object.assign(progress, refreshTotalsOf(totals), { pages: progress.pages + 1, cursor });
      report(progress);
      if (page.done) break;
    }

    progress.phase = 'finishing';
    const outcome = totals.failed + totals.skipped > 0 ? 'partial' : 'succeeded';
    await ledger.finishRefresh({ refreshId, cursor, totals: refreshTotalsOf(totals), status: outcome });
    progress.phase = 'done';
    report(progress);
    upsertSearchAttributes([
      { key: SearchAttr.outcome, value: outcome },
      { key: SearchAttr.rows, value: totals.embedded },
    ]);
    return { refreshId, model: plan.model, modelVersion: plan.modelVersion, pages: progress.pages, outcome, ...refreshTotalsOf(totals) };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const failure = reason(err);
    if (!plan) throw failure; // nothing was started
    const status = isCancellation(err) ? 'cancelled' : 'failed';
    progress.phase = 'failed';
    report(progress);
    upsertSearchAttributes([{ key: SearchAttr.outcome, value: status }]);
    const message = failure instanceof Error ? failure.message : String(failure);
    log.error('embedding refresh failed', { refreshId, cursor, message });
    // What is upserted stays: the next refresh finds it unchanged and goes on from there.
    await CancellationScope.nonCancellable(() => ledger.finishRefresh({ refreshId, cursor, totals: refreshTotalsOf(totals), status, error: message }));
    throw failure;
  }
}

/** An activity's own error rather than "Activity task failed"; anything else as it is. */
function reason(err: unknown): unknown {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: EmbeddingRefreshProgress): void {
  setCurrentDetails(
    `**embedding refresh** with ${p.model || 'the configured model'} — ${p.phase}\n\n` +
      `catalog entries ${p.scanned} of ${p.entries} read in ${p.pages} pages (checkpoint \`${p.cursor ?? '(start)'}\`); ` +
      `embedded ${p.embedded}, unchanged ${p.unchanged}, removed ${p.removed}; ` +
      `refused by the model ${p.failed}, given up after repeated failures ${p.skipped}; refresh \`${p.refreshId}\``,
  );
}

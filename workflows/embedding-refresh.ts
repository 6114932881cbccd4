import { continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
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
import { bulk, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Vectors = ReturnType<typeof createVectorActivities>;

const { planRefresh, finishRefresh } = proxyActivities<Pick<Vectors, 'planRefresh' | 'finishRefresh'>>(short);

// A page reads the catalog, embeds what changed and upserts it, heartbeating after each batch. A
// retry redoes the page but skips what an earlier attempt upserted (same hash, this refresh's id).
const { refreshPage } = proxyActivities<Pick<Vectors, 'refreshPage'>>(bulk({ timeout: '30 minutes', heartbeat: '2 minutes', attempts: 5 }));

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
  tagRun({ kind: 'embedding-refresh' });
  report(progress);

  let plan: RefreshPlan | undefined = resume?.plan;
  let cursor = resume?.cursor ?? null;
  try {
    plan ??= await planRefresh({ refreshId, workflowId: info.workflowId });
    progress.model = `${plan.model} ${plan.modelVersion}`;
    progress.entries = plan.entries;
    progress.phase = 'refreshing';
    report(progress);

    for (let inThisRun = 0; ; inThisRun++) {
      if (inThisRun > 0 && (inThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested)) {
        await continueAsNew<typeof embeddingRefreshWorkflow>(raw, { plan, cursor, pages: progress.pages, totals: refreshTotalsOf(totals) });
      }
      const page = await refreshPage({
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
    await finishRefresh({ refreshId, cursor, totals: refreshTotalsOf(totals), status: outcome });
    progress.phase = 'done';
    report(progress);
    markOutcome(outcome, totals.embedded);
    return { refreshId, model: plan.model, modelVersion: plan.modelVersion, pages: progress.pages, outcome, ...refreshTotalsOf(totals) };
  } catch (err) {
    return failRun(err, {
      what: 'embedding refresh',
      context: { refreshId, cursor },
      show: () => {
        progress.phase = 'failed';
        report(progress);
      },
      // What is upserted stays: the next refresh finds it unchanged and goes on from there.
      record: (status, error) => finishRefresh({ refreshId, cursor, totals: refreshTotalsOf(totals), status, error }),
    });
  }
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

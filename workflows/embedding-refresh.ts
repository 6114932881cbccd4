import { continueAsNew, defineQuery, patched, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
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
  type RefreshPagePlan,
  type RefreshPlan,
  type RefreshTotals,
} from '../common/knowledge.js';
import { bulk, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Vectors = ReturnType<typeof createVectorActivities>;

const { planRefresh, planRefreshPages, finishRefresh } =
  proxyActivities<Pick<Vectors, 'planRefresh' | 'planRefreshPages' | 'finishRefresh'>>(short);

// A page reads the catalog, embeds what changed and upserts it, heartbeating after each batch. A
// retry redoes the page but skips what an earlier attempt upserted (same hash, this refresh's id).
const pageOptions = bulk({ timeout: '30 minutes', heartbeat: '2 minutes', attempts: 5 });
const { refreshPage } = proxyActivities<Pick<Vectors, 'refreshPage'>>(pageOptions);
// Not eagerly dispatched: the server would hand the pages to the worker that runs this workflow
// (its eager slots) instead of to whichever knowledge worker polls the queue.
const { refreshPageRange } = proxyActivities<Pick<Vectors, 'refreshPageRange'>>({ ...pageOptions, allowEagerDispatch: false });

/**
 * Pages planned up front as key ranges and run `parallelPages` at a time over the knowledge queue
 * (before it, one page after another, each starting after the last key of the one before).
 */
export const PARALLEL_PAGES_PATCH = 'parallel-embedding-pages';

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

  const pageDone = (page: RefreshTotals, last: string | null) => {
    addRefreshTotals(totals, page);
    cursor = last;
    Object.assign(progress, refreshTotalsOf(totals), { pages: progress.pages + 1, cursor });
    report(progress);
  };
  const timeToContinue = (inThisRun: number) => inThisRun > 0 && (inThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested);

  try {
    plan ??= await planRefresh({ refreshId, workflowId: info.workflowId });
    progress.model = `${plan.model} ${plan.modelVersion}`;
    progress.entries = plan.entries;
    progress.phase = 'refreshing';
    report(progress);

    if (patched(PARALLEL_PAGES_PATCH)) await refreshInParallel(plan);
    else await refreshInSequence(plan);

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

  /** Runs started before parallel pages: the next page starts after the last key of the one before. */
  async function refreshInSequence(plan: RefreshPlan): Promise<void> {
    for (let inThisRun = 0; ; inThisRun++) {
      if (timeToContinue(inThisRun)) {
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
      pageDone(page, page.last);
      if (page.done) return;
    }
  }

  /**
   * The catalog cut into key ranges once (recorded in the index's store, so only their count comes
   * back), then `parallelPages` pages at a time, each a new one as soon as one ends. The cursor is
   * the end of the pages done without a gap. Before continuing as new the pages in flight finish,
   * so the next run starts at the first page not started; a page done twice is skipped by the
   * activity, which finds it recorded.
   */
  async function refreshInParallel(plan: RefreshPlan): Promise<void> {
    const pagePlan: RefreshPagePlan = resume?.pagePlan ?? (await planRefreshPages({ plan, after: cursor, pageSize: input.pageSize }));
    progress.plannedPages = pagePlan.pages;
    let next = resume?.nextPage ?? 0;
    let doneUpTo = next; // every page before it is done
    const lastKeyOf = new Map<number, string | null>(); // pages done past a gap
    const running = new Map<number, Promise<void>>();
    for (let inThisRun = 0; ;) {
      while (running.size < input.parallelPages && next < pagePlan.pages && !timeToContinue(inThisRun)) {
        const page = next++;
        inThisRun++;
        const run = refreshPageRange({
          plan,
          page,
          batchSize: input.batchSize,
          maxEntryAttempts: input.maxEntryAttempts,
          reembed: input.reembed,
        }).then((r) => {
          running.delete(page);
          lastKeyOf.set(page, r.last);
          let last = cursor;
          for (; lastKeyOf.has(doneUpTo); doneUpTo++) {
            last = lastKeyOf.get(doneUpTo)!;
            lastKeyOf.delete(doneUpTo);
          }
          progress.runningPages = running.size;
          pageDone(r, last);
        });
        run.catch(() => undefined); // a failure is raised by the race below; the pages still running must not raise it again
        running.set(page, run);
      }
      progress.runningPages = running.size;
      report(progress);
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    if (next < pagePlan.pages) {
      await continueAsNew<typeof embeddingRefreshWorkflow>(raw, {
        plan,
        cursor,
        pages: progress.pages,
        totals: refreshTotalsOf(totals),
        pagePlan,
        nextPage: next,
      });
    }
  }
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: EmbeddingRefreshProgress): void {
  setCurrentDetails(
    `**embedding refresh** with ${p.model || 'the configured model'} — ${p.phase}\n\n` +
      `catalog entries ${p.scanned} of ${p.entries} read in ${p.pages}${p.plannedPages === undefined ? '' : ` of ${p.plannedPages}`} pages` +
      `${p.runningPages ? ` (${p.runningPages} running)` : ''} (checkpoint \`${p.cursor ?? '(start)'}\`); ` +
      `embedded ${p.embedded}, unchanged ${p.unchanged}, removed ${p.removed}; ` +
      `refused by the model ${p.failed}, given up after repeated failures ${p.skipped}; refresh \`${p.refreshId}\``,
  );
}

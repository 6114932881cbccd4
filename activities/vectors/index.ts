import { heartbeat } from '../activity-context.js';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import type { Pool as PgPool } from 'pg';
import {
  addRefreshTotals,
  refreshTotalsOf,
  type RefreshPageInput,
  type RefreshPagePlan,
  type RefreshPageResult,
  type RefreshPagesInput,
  type RefreshPlan,
  type RefreshRangeInput,
  type RefreshRangeResult,
  type RefreshTotals,
} from '../../common/knowledge.js';
import { ErrorType } from '../../common/errors.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { countMetric, setMetric } from '../activity-metrics.js';
import { createCatalogEntries } from '../catalog/catalog-entries.js';
import { EmbeddingInputError, type Embedder } from './embedder.js';
import { buildEntryText, contentHash, type CatalogEntry } from './entry-text.js';
import { createVectorStore, type EmbeddedEntry } from './vector-store.js';

export interface VectorDeps {
  /** MySQL catalog database: the datasets and their columns. */
  catalog: Pool;
  /** Postgres with pgvector: the index. */
  postgres: PgPool;
  /** Postgres schema of the index tables (SPOKEFLOW_VECTOR_SCHEMA). */
  schema: string;
  embedder: Embedder;
}

interface Candidate extends CatalogEntry {
  text: string;
  contentHash: string;
}

/**
 * The embedding refresh's activities. A page is read, compared, embedded and upserted here, so no
 * row ever passes through the workflow: it gets a cursor and counts back.
 */
export function createVectorActivities(deps: VectorDeps) {
  const catalog = createCatalogEntries(deps.catalog);
  const store = createVectorStore(deps.postgres, deps.schema);
  const { embedder } = deps;

  /** Embeds a batch; when the provider refuses it, each text alone, so one bad entry fails alone. */
  async function embedBatch(batch: Candidate[]): Promise<{ ok: EmbeddedEntry[]; failed: { entry: Candidate; error: string }[] }> {
    const toEntry = (c: Candidate, vector: Float32Array): EmbeddedEntry => ({ ...c, vector });
    try {
      const started = performance.now();
      const vectors = await embedder.embed(batch.map((c) => c.text));
      const seconds = (performance.now() - started) / 1000;
      countMetric(SPOKEFLOW_METRICS.modelTexts, batch.length, { model: embedder.model });
      if (seconds > 0) setMetric(SPOKEFLOW_METRICS.modelTextsPerSecond, batch.length / seconds, { model: embedder.model });
      return { ok: batch.map((c, i) => toEntry(c, vectors[i]!)), failed: [] };
    } catch (err) {
      if (!(err instanceof EmbeddingInputError) || batch.length === 1) {
        if (err instanceof EmbeddingInputError) return { ok: [], failed: [{ entry: batch[0]!, error: err.message }] };
        throw err; // transient: the activity's retry does the page again, skipping what is done
      }
    }
    const ok: EmbeddedEntry[] = [];
    const failed: { entry: Candidate; error: string }[] = [];
    for (const c of batch) {
      try {
        ok.push(toEntry(c, (await embedder.embed([c.text]))[0]!));
        countMetric(SPOKEFLOW_METRICS.modelTexts, 1, { model: embedder.model });
      } catch (err) {
        if (!(err instanceof EmbeddingInputError)) throw err;
        failed.push({ entry: c, error: err.message });
      }
    }
    return { ok, failed };
  }

  /** A worker with another model joined mid-refresh: its vectors would be recorded under the plan's model. */
  function checkModel(plan: RefreshPlan): void {
    if (embedder.model !== plan.model || embedder.modelVersion !== plan.modelVersion)
      throw ApplicationFailure.nonRetryable(
        `this worker embeds with ${embedder.model} ${embedder.modelVersion}, the refresh started with ${plan.model} ${plan.modelVersion}: start a new refresh`,
        ErrorType.embeddingModelChanged,
      );
  }

  /**
   * Embeds the entries whose text hash or model differs (in batches, each upserted at once),
   * counts the rest and records the entries the model refuses. What an earlier attempt of this
   * refresh upserted is marked with its id, so a retry neither embeds nor counts it twice.
   */
  async function reconcile(
    entries: CatalogEntry[],
    plan: RefreshPlan,
    o: { batchSize: number; maxEntryAttempts: number; reembed: boolean },
    after: string | null,
  ): Promise<RefreshTotals> {
    const model = { model: plan.model, modelVersion: plan.modelVersion, refreshId: plan.refreshId };
    const keys = entries.map((e) => e.dataset);
    const [indexed, failures] = await Promise.all([store.indexed(keys), store.failures(keys)]);

    const totals: RefreshTotals = { scanned: entries.length, embedded: 0, unchanged: 0, failed: 0, skipped: 0, removed: 0 };
    const todo: Candidate[] = [];
    for (const e of entries) {
      const text = buildEntryText(e);
      const hash = contentHash(text);
      const same = (s: { contentHash: string; model: string; modelVersion: string } | undefined) =>
        s !== undefined && s.contentHash === hash && s.model === plan.model && s.modelVersion === plan.modelVersion;
      const row = indexed.get(e.dataset);
      const failure = failures.get(e.dataset);
      if (same(row) && row!.refreshId === plan.refreshId)
        totals.embedded++; // by an earlier attempt of this refresh
      else if (same(row) && !o.reembed) totals.unchanged++;
      else if (same(failure) && failure!.refreshId === plan.refreshId)
        totals.failed++; // tried by an earlier attempt
      else if (same(failure) && failure!.attempts >= o.maxEntryAttempts) totals.skipped++;
      else todo.push({ ...e, text, contentHash: hash });
    }

    // Texts of like length share a batch (less padding for the model to compute), and batch n is
    // written while the model embeds batch n+1 (it runs on its own thread).
    todo.sort((a, b) => a.text.length - b.text.length);
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0; i < todo.length; i += o.batchSize) {
      const batch = todo.slice(i, i + o.batchSize);
      let embedded: Awaited<ReturnType<typeof embedBatch>>;
      try {
        embedded = await embedBatch(batch);
      } catch (err) {
        await writing.catch(() => undefined); // let the write in flight land before the retry
        throw err;
      }
      await writing;
      writing = (async () => {
        await store.upsert(embedded.ok, model);
        for (const f of embedded.failed)
          await store.recordFailure({ dataset: f.entry.dataset, contentHash: f.entry.contentHash, error: f.error }, model);
        totals.embedded += embedded.ok.length;
        totals.failed += embedded.failed.length;
        heartbeat({ after, phase: 'embedding', embedded: totals.embedded, failed: totals.failed, of: todo.length });
      })();
      writing.catch(() => undefined); // awaited before the next write and after the loop
    }
    await writing;
    return totals;
  }

  return {
    /**
     * Records the refresh and fixes its model; counts the catalog for the progress bar. The record
     * comes first, so that a refresh failing here (no model, the catalog unreachable) is on it.
     */
    async planRefresh(args: { refreshId: string; workflowId: string }): Promise<RefreshPlan> {
      let modelVersion: string;
      try {
        modelVersion = embedder.modelVersion;
      } catch (err) {
        await store.startRefresh({ ...args, model: embedder.model, modelVersion: '(no model)' });
        throw ApplicationFailure.nonRetryable((err as Error).message, ErrorType.embeddingModelMissing);
      }
      await store.startRefresh({ ...args, model: embedder.model, modelVersion });
      return { refreshId: args.refreshId, model: embedder.model, modelVersion, entries: await catalog.count() };
    },

    /**
     * Reconciles one page of the catalog with the index: embeds the entries whose text hash or
     * model differs (in batches, each upserted at once), counts the rest, records the entries the
     * model refuses, and removes index entries of the page's key range that left the catalog. A
     * retry re-reads the page and finds what an earlier attempt upserted already marked with this
     * refresh's id, so it neither embeds nor counts anything twice.
     */
    async refreshPage(input: RefreshPageInput & { totalsBefore: RefreshTotals }): Promise<RefreshPageResult> {
      const { plan, after } = input;
      checkModel(plan);
      heartbeat({ after, phase: 'reading' });
      const entries = await catalog.page(after, input.pageSize);
      const done = entries.length < input.pageSize;
      const last = entries.at(-1)?.dataset ?? after;
      const totals = await reconcile(entries, plan, input, after);
      totals.removed = await store.removeMissing(
        after,
        done ? null : last,
        entries.map((e) => e.dataset),
      );
      const sum = refreshTotalsOf(input.totalsBefore);
      addRefreshTotals(sum, totals);
      await store.checkpoint(plan.refreshId, last, sum);
      return { ...totals, last, done };
    },

    /**
     * Cuts the catalog after `after` into pages of about `pageSize` entries and records them as
     * key ranges, once per refresh (a retry finds the plan made); the workflow gets their count.
     */
    async planRefreshPages(input: RefreshPagesInput): Promise<RefreshPagePlan> {
      const bounds = await catalog.rangeBounds(input.after, input.pageSize);
      return { pages: await store.planPages(input.plan.refreshId, input.after, bounds) };
    },

    /**
     * Reconciles one planned page (a key range) with the index, as `refreshPage` does, and records
     * it done with its counts. A page found done already — an attempt that finished but whose
     * result was lost, a continued run — returns its recorded counts and embeds nothing.
     */
    async refreshPageRange(input: RefreshRangeInput): Promise<RefreshRangeResult> {
      const { plan, page } = input;
      checkModel(plan);
      const record = await store.page(plan.refreshId, page);
      if (!record) throw ApplicationFailure.nonRetryable(`refresh ${plan.refreshId} planned no page ${page}`, ErrorType.invalidInput);
      if (record.done) return { page, last: record.done.last, ...record.done.totals };
      heartbeat({ page, after: record.after, phase: 'reading' });
      const entries = await catalog.range(record.after, record.through);
      const last = entries.at(-1)?.dataset ?? record.through ?? record.after;
      const totals = await reconcile(entries, plan, input, record.after);
      totals.removed = await store.removeMissing(
        record.after,
        record.through,
        entries.map((e) => e.dataset),
      );
      await store.finishPage(plan.refreshId, page, last, totals);
      return { page, last, ...totals };
    },

    async finishRefresh(args: {
      refreshId: string;
      cursor: string | null;
      totals: RefreshTotals;
      status: 'succeeded' | 'partial' | 'failed' | 'cancelled';
      error?: string;
    }): Promise<void> {
      await store.checkpoint(args.refreshId, args.cursor, args.totals, args.status, args.error);
    },
  };
}
export type VectorActivities = ReturnType<typeof createVectorActivities>;

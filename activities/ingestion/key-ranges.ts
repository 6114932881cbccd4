import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import { ErrorType } from '../../common/errors.js';
import type { ChunkResult, KeyRangeInput, SyncPlan, SyncTotals } from '../../common/sync.js';
import { createKeyRangeLedger } from '../catalog/sync-key-ranges.js';
import type { SourceConnections } from '../sources/index.js';
import { keyCutsSql, relationSql } from '../sources/keyset.js';
import type { PageRun } from './index.js';

/**
 * Page numbers of a key range: range r's pages are r × span + 1 … (r + 1) × span, so ranges
 * copied at once never share a manifest entry or a bronze object key.
 */
export const RANGE_PAGE_SPAN = 100_000;
/** At most this many ranges a run (a bigger table gets ranges of several chunks). */
export const MAX_KEY_RANGES = 10_000;

/** The copy of a key range is the sync's own page copy, bounded to the range. */
export type CopyPages = (plan: SyncPlan, run: PageRun) => Promise<ChunkResult>;

/** The activities of a sync copied as primary-key ranges in parallel. */
export function createKeyRangeActivities(deps: { catalog: Pool; sources: SourceConnections; copyPages: CopyPages }) {
  const ranges = createKeyRangeLedger(deps.catalog);
  return {
    /**
     * Cuts the source's key space (within the run's bounds) at every chunk-th row and records the
     * ranges once; a retry finds them recorded. Only the count comes back.
     */
    async planKeyRanges({ plan }: { plan: SyncPlan }): Promise<{ ranges: number }> {
      const count = await ranges.plan(plan.syncRunId, async () => {
        const source = deps.sources.get(plan.source);
        const chunkRows = plan.pageRows * plan.pagesPerChunk;
        const incremental = plan.mode === 'incremental';
        const { sql, values } = keyCutsSql(source.dialect, relationSql(source.dialect, plan.source), {
          columns: plan.columns,
          primaryKey: plan.source.primaryKey,
          cursor: plan.source.cursor,
          cursorLowerBound: incremental ? plan.cursorLowerBound : null,
          cursorUpperBound: incremental ? plan.cursorUpperBound : null,
          upperInclusive: plan.upperInclusive,
          every: chunkRows * Math.max(1, Math.ceil(plan.estimatedRows / chunkRows / MAX_KEY_RANGES)),
        });
        return source.queryRows(sql, values);
      });
      return { ranges: count };
    },

    /**
     * Copies one key range page by page in primary-key order; a retry resumes after the range's
     * last committed page, and a range already done returns the counts it recorded.
     */
    async copyKeyRange({ plan, range }: KeyRangeInput): Promise<SyncTotals> {
      const planned = await ranges.get(plan.syncRunId, range);
      if (!planned) {
        throw ApplicationFailure.nonRetryable(`range: sync run ${plan.syncRunId} has no key range ${range}`, ErrorType.invalidInput);
      }
      if (planned.done) return planned.done;
      const firstSeq = range * RANGE_PAGE_SPAN + 1;
      // Ordered by the key alone (a window's cursor only filters), as the ranges were cut.
      const copied = await deps.copyPages(
        { ...plan, keyset: plan.source.primaryKey },
        { after: planned.after, through: planned.through, firstSeq, lastSeq: firstSeq + RANGE_PAGE_SPAN - 1, maxPages: RANGE_PAGE_SPAN },
      );
      if (!copied.done) {
        throw ApplicationFailure.nonRetryable(
          `key range ${range} of sync run ${plan.syncRunId} grew past ${RANGE_PAGE_SPAN} pages: sync with larger pageRows`,
          ErrorType.invalidInput,
        );
      }
      const totals: SyncTotals = { rows: copied.rows, quarantined: copied.quarantined, bytes: copied.bytes, objects: copied.objects };
      await ranges.markDone(plan.syncRunId, range, totals);
      return totals;
    },
  };
}

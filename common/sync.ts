import { z } from 'zod';
import type { SourceColumn } from './column-types.js';
import { DatasetName, type SourceDeclaration } from './dataset.js';
import { WhenBusy } from './lease.js';
import { instantMs, normaliseInstant } from './time.js';
import { addCounts } from './totals.js';

/** A bound on the cursor: an integer for a numeric cursor (kept as text), else a date or date-time. */
const CursorBound = z.preprocess(
  (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v),
  z.string().transform((text, ctx) => (/^-?\d+$/.test(text) ? text : normaliseInstant(text, ctx))),
);

/** Which kind of cursor a window bound is for: the plan checks it against the dataset's cursor column. */
export const boundKind = (bound: string): 'number' | 'instant' => (/^-?\d+$/.test(bound) ? 'number' : 'instant');

const SyncWindow = z
  .object({ from: CursorBound, to: CursorBound })
  .strict()
  .superRefine((w, ctx) => {
    if (boundKind(w.from) !== boundKind(w.to)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be of the same kind as from (both numbers, or both dates)' });
    } else if (boundKind(w.from) === 'number' ? BigInt(w.from) >= BigInt(w.to) : instantMs(w.from) >= instantMs(w.to)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `must be after from (${w.from})` });
    }
  });

export const SyncInput = z
  .object({
    dataset: DatasetName.describe('catalog name of the dataset to sync, e.g. shop.orders'),
    mode: z
      .enum(['incremental', 'full'])
      .default('incremental')
      .describe('incremental: rows past the watermark; full: every row, then rows gone from the source leave silver'),
    pageRows: z.number().int().min(1).max(500_000).default(50_000).describe('rows per bronze object and silver load'),
    pagesPerChunk: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(20)
      .describe('pages copied by one activity (progress is reported after each)'),
    window: SyncWindow.optional().describe('only rows with from <= cursor < to (a backfill partition); leaves the watermark alone'),
    whenBusy: WhenBusy,
  })
  .strict();
export type SyncInput = z.output<typeof SyncInput>;

/**
 * A keyset position: the cursor value (when the dataset has one) followed by the primary key.
 * Copying resumes after it; null key parts mean "after every row of that cursor value".
 */
export type KeysetPosition = (string | null)[];

export interface SyncPlan {
  syncRunId: string;
  dataset: string;
  team: string;
  mode: 'incremental' | 'full';
  /** Fixed for the whole run (no secrets in it), so a re-declaration mid-run changes nothing. */
  /** The declared source, with the key it is copied by (declared, or found on the source table). */
  source: SourceDeclaration & { primaryKey: string[] };
  targetTable: string;
  columns: SourceColumn[];
  /** Columns the copy is ordered and resumed by: [cursor, ...primaryKey], or the key alone in full mode. */
  keyset: string[];
  upperInclusive: boolean;
  /** Exclusive start of the copy; null copies from the beginning. */
  startAfter: KeysetPosition | null;
  /** Inclusive upper cursor bound fixed at the start of the run, so a run always ends. */
  cursorUpperBound: string | null;
  cursorLowerBound: string | null; // inclusive, from a window
  windowed: boolean;
  /** Source rows the run expects to copy (exact count at plan time). */
  estimatedRows: number;
  rowsWithoutCursor: number;
  pageRows: number;
  pagesPerChunk: number;
  runPrefix: string;
  startedAtMs: number;
  /** Set when the window held no rows: the plan finished the run at once. */
  finished?: SyncResult;
  /** How many data-quality checks the dataset declares: a successful sync starts them. */
  checks?: number;
  /**
   * Set when the run is copied as primary-key ranges (a full or windowed sync above one chunk of
   * a dataset declaring `parallelRanges`): at most this many ranges at once.
   */
  parallelRanges?: number;
}

/** One key range of a run to copy (ranges are numbered from 0 in key order). */
export interface KeyRangeInput {
  plan: SyncPlan;
  range: number;
}

export interface ChunkInput {
  plan: SyncPlan;
  after: KeysetPosition | null;
  firstSeq: number;
}

export interface ChunkResult {
  rows: number;
  quarantined: number;
  bytes: number;
  objects: number;
  after: KeysetPosition | null;
  nextSeq: number;
  done: boolean;
}

export interface SyncTotals {
  rows: number;
  quarantined: number;
  bytes: number;
  objects: number;
}

export const emptySyncTotals = (): SyncTotals => ({ rows: 0, quarantined: 0, bytes: 0, objects: 0 });

const SYNC_TOTAL_KEYS = Object.keys(emptySyncTotals()) as (keyof SyncTotals)[];

/** Adds the counts only: `more` may be a chunk result with more in it. */
export const addSyncTotals = (into: SyncTotals, more: SyncTotals): void => addCounts(into, more, SYNC_TOTAL_KEYS);

export interface SyncProgress extends SyncTotals {
  dataset: string;
  syncRunId: string;
  phase: 'waiting' | 'planning' | 'copying' | 'finishing' | 'done' | 'failed';
  estimatedRows: number;
  /** While waiting for the dataset: the workflow id holding it. */
  waitingFor?: string;
  /** A run copied as key ranges: how many it has, are done and are running. */
  ranges?: { planned: number; done: number; running: number };
}

export interface SyncResult extends SyncTotals {
  dataset: string;
  syncRunId: string;
  mode: 'incremental' | 'full';
  deletedRows: number;
  watermark: KeysetPosition | null;
  manifestKey: string;
}

/** What a sync carries into its next run when it continues as new. */
export interface SyncResumeState {
  plan: SyncPlan;
  after: KeysetPosition | null;
  nextSeq: number;
  totals: SyncTotals;
  /** A run copied as key ranges: how many it has, and the first not started (every one before it is done). */
  ranges?: KeyRangeCursor;
}

export interface KeyRangeCursor {
  count: number;
  next: number;
}

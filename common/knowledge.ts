import { z } from 'zod';
import { addCounts, pickCounts } from './totals.js';

export const EmbeddingRefreshInput = z
  .object({
    pageSize: z.number().int().min(1).max(5_000).default(500).describe('catalog entries read, compared and embedded per activity'),
    batchSize: z.number().int().min(1).max(512).default(64).describe('texts per call to the embedding model'),
    pagesPerRun: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(200)
      .describe('pages before the run continues as new (its history stays small)'),
    maxEntryAttempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe('refreshes that try an entry the model refuses before it is only reported (until its text changes)'),
    reembed: z.boolean().default(false).describe('embed every entry again, changed or not'),
    parallelPages: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe('pages embedded at once, spread over the knowledge workers (each page is one activity)'),
  })
  .strict();
export type EmbeddingRefreshInput = z.output<typeof EmbeddingRefreshInput>;

/** The counts of a refresh, summed over its pages. */
export interface RefreshTotals {
  /** Catalog entries read. */
  scanned: number;
  /** Entries embedded and upserted (new, changed, or made by another model). */
  embedded: number;
  /** Entries whose text and model were already in the index. */
  unchanged: number;
  /** Entries the model refused this time (recorded in vector_failures). */
  failed: number;
  /** Entries not tried: they failed maxEntryAttempts times with the same text and model. */
  skipped: number;
  /** Index entries whose dataset is gone from the catalog. */
  removed: number;
}

export const emptyRefreshTotals = (): RefreshTotals => ({ scanned: 0, embedded: 0, unchanged: 0, failed: 0, skipped: 0, removed: 0 });

const REFRESH_TOTAL_KEYS = Object.keys(emptyRefreshTotals()) as (keyof RefreshTotals)[];

export const addRefreshTotals = (into: RefreshTotals, page: RefreshTotals): void => addCounts(into, page, REFRESH_TOTAL_KEYS);

export const refreshTotalsOf = (t: RefreshTotals): RefreshTotals => pickCounts(t, REFRESH_TOTAL_KEYS);

/** What a refresh embeds with, fixed when it starts: a model change mid-refresh never mixes two. */
export interface RefreshPlan {
  refreshId: string;
  model: string;
  modelVersion: string;
  /** Catalog entries when the refresh started (for the progress bar; the catalog may change). */
  entries: number;
}

export interface RefreshPageInput {
  plan: RefreshPlan;
  /** Exclusive lower bound: the last key of the page before; null for the first page. */
  after: string | null;
  pageSize: number;
  batchSize: number;
  maxEntryAttempts: number;
  reembed: boolean;
}

export interface RefreshPageResult extends RefreshTotals {
  /** The page's last catalog key: the next page's `after`. */
  last: string | null;
  /** No catalog entry after this page: the key range up to the end has been reconciled. */
  done: boolean;
}

export interface RefreshPagesInput {
  plan: RefreshPlan;
  /** Plan the catalog after this key (a run continued from the sequential pages); null for all of it. */
  after: string | null;
  pageSize: number;
}

/** The pages a refresh planned, recorded as key ranges in the index's store: the workflow knows only their count. */
export interface RefreshPagePlan {
  pages: number;
}

export interface RefreshRangeInput {
  plan: RefreshPlan;
  /** The planned page, 0 … pages - 1. */
  page: number;
  batchSize: number;
  maxEntryAttempts: number;
  reembed: boolean;
}

export interface RefreshRangeResult extends RefreshTotals {
  page: number;
  /** The page's last catalog key (its lower bound when it held none). */
  last: string | null;
}

/** What a continued run carries: the plan, the cursor, the counts so far. */
export interface EmbeddingRefreshResume {
  plan: RefreshPlan;
  cursor: string | null;
  pages: number;
  totals: RefreshTotals;
  /** Parallel pages: the planned pages, and the first not yet started (every page before it is done). */
  pagePlan?: RefreshPagePlan;
  nextPage?: number;
}

export interface EmbeddingRefreshProgress extends RefreshTotals {
  refreshId: string;
  phase: 'planning' | 'refreshing' | 'finishing' | 'done' | 'failed';
  model: string;
  entries: number;
  pages: number;
  /** Parallel pages: how many the refresh planned, and how many run now. */
  plannedPages?: number;
  runningPages?: number;
  /** The last catalog key reconciled: the checkpoint. */
  cursor: string | null;
}

export interface EmbeddingRefreshResult extends RefreshTotals {
  refreshId: string;
  model: string;
  modelVersion: string;
  pages: number;
  outcome: 'succeeded' | 'partial';
}

/** One hit of a semantic search. */
export interface SearchHit {
  dataset: string;
  /** Cosine similarity of the query and the entry, -1…1. */
  similarity: number;
  owner: string;
  team: string;
  tags: string[];
  /** The latest health score (0–100) and its day; null when never scored. */
  health: { score: number; day: string } | null;
}

export const SearchOptions = z
  .object({
    team: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
    limit: z.number().int().min(1).max(200).default(10),
  })
  .strict();
export type SearchOptions = z.input<typeof SearchOptions>;

import { z } from 'zod';
import { DatasetName } from './dataset.js';
import { WhenBusy } from './lease.js';
import { instantMs, UtcInstant } from './time.js';

export const BackfillInput = z
  .object({
    dataset: DatasetName.describe('catalog name of the dataset, e.g. shop.orders (it must declare a cursor column)'),
    from: UtcInstant.describe('first partition: the one containing this time (UTC)'),
    to: UtcInstant.describe('end of the range, exclusive (UTC)'),
    granularity: z.enum(['daily', 'hourly']).default('daily').describe('size of a partition'),
    mode: z
      .enum(['missing', 'failed', 'all'])
      .default('missing')
      .describe('missing: partitions never synced successfully; failed: only those whose last run failed; all: every partition'),
    concurrency: z.number().int().min(1).max(200).default(8).describe('partitions synced at once; can be changed while running'),
    pageRows: z.number().int().min(1).max(500_000).default(50_000).describe('rows per page of each partition sync'),
    partitionsPerRun: z
      .number()
      .int()
      .min(10)
      .max(5_000)
      .default(1_000)
      .describe('partitions one workflow run handles before it continues as new (bounds its history)'),
    whenBusy: WhenBusy,
  })
  .strict()
  .refine((b) => instantMs(b.from) < instantMs(b.to), { message: 'must be after from', path: ['to'] });
export type BackfillInput = z.output<typeof BackfillInput>;

export interface BackfillProgress {
  backfillId: string;
  dataset: string;
  mode: BackfillInput['mode'];
  /** Partitions in the range, and how many of them this backfill set out to sync. */
  partitions: number;
  toRun: number;
  succeeded: number;
  failed: number;
  running: number;
  paused: boolean;
  cancelled: boolean;
  concurrency: number;
  rows: number;
  /** Seconds to go at the rate so far, once there is a rate. */
  etaSeconds: number | null;
}

/** State a backfill carries into its next run when it continues as new. */
export interface BackfillCarry {
  backfillId: string;
  afterKey: string | null;
  progress: BackfillProgress;
  startedAtMs: number;
}

/** Which partition of which backfill: what its sync's plan and finish record in the backfill ledger. */
export interface PartitionRef {
  backfillId: string;
  dataset: string;
  granularity: BackfillInput['granularity'];
  key: string;
}

/** A partition's sync run: fixed by backfill and partition, so a retry resumes from its committed pages. */
export function partitionSyncRunId(p: Pick<PartitionRef, 'backfillId' | 'key'>): string {
  return `${p.backfillId}:${p.key}`;
}

export function backfillWorkflowId(dataset: string): string {
  return `backfill:${dataset}`;
}

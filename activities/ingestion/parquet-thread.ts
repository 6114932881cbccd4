import { parentPort } from 'node:worker_threads';
import type { SourceColumn } from '../../common/column-types.js';
import { encodeParquetFromText } from './parquet-page.js';

export interface ParquetJob {
  id: number;
  columns: SourceColumn[];
  tsv: Uint8Array;
}

export type ParquetReply = { id: number; parquet: Uint8Array } | { id: number; error: string };

// Runs on its own thread: turns a page's LOAD DATA text into Parquet, off the activity's event loop.
parentPort!.on('message', (job: ParquetJob) => {
  try {
    const parquet = encodeParquetFromText(job.columns, job.tsv);
    parentPort!.postMessage({ id: job.id, parquet } satisfies ParquetReply, [parquet.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies ParquetReply);
  }
});

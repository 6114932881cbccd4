import type { SourceColumn } from '../../common/column-types.js';
import { serveJobs } from '../threads/job-thread.js';
import { encodeParquetFromText } from './parquet-page.js';

export interface ParquetJob {
  columns: SourceColumn[];
  text: Uint8Array;
}

// Runs on its own thread: turns a page's text into Parquet, off the activity's event loop.
await serveJobs<ParquetJob, Uint8Array>(({ columns, text }) => {
  const parquet = encodeParquetFromText(columns, text);
  return { result: parquet, transfer: [parquet.buffer as ArrayBuffer] };
});

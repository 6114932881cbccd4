import type { SourceColumn } from '../../common/column-types.js';
import { siblingModule } from '../../runtime/package-paths.js';
import { createJobThread } from '../threads/job-thread.js';
import type { ParquetJob } from './parquet-thread.js';

/**
 * Encodes Parquet on a thread of its own, so that a sync's event loop keeps reading the source
 * and streaming rows to MySQL meanwhile.
 */
export function createParquetEncoder() {
  const thread = createJobThread<ParquetJob, Uint8Array>(siblingModule('./parquet-thread', import.meta.url), 'Parquet encoding', {
    eager: true,
  });
  return {
    /** Parquet of a page, from its text (copied to the thread; the caller keeps it). */
    encode: (columns: SourceColumn[], text: Buffer): Promise<Uint8Array> => thread.run({ columns, text: new Uint8Array(text) }),
    close: () => thread.close(),
  };
}
export type ParquetEncoder = ReturnType<typeof createParquetEncoder>;

import { Worker } from 'node:worker_threads';
import type { SourceColumn } from '../../common/column-types.js';
import type { ParquetJob, ParquetReply } from './parquet-thread.js';

/**
 * Encodes Parquet on a thread of its own, so that a sync's event loop keeps reading the source
 * and streaming rows to MySQL meanwhile: on two cores that is most of a sync's speed.
 */
export function createParquetEncoder() {
  let thread: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();

  function start(): Worker {
    const worker = new Worker(new URL('./parquet-thread-entry.mjs', import.meta.url));
    worker.unref(); // an idle encoder never keeps the process alive
    worker.on('message', (reply: ParquetReply) => {
      const job = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (!job) return;
      if ('error' in reply) job.reject(new Error(`Parquet encoding failed: ${reply.error}`));
      else job.resolve(reply.parquet);
    });
    const failAll = (err: Error) => {
      thread = undefined;
      for (const job of waiting.values()) job.reject(err);
      waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`Parquet encoder thread exited with code ${code}`)));
    return worker;
  }

  // Started at once: loading the thread's code takes a moment a first sync should not wait for.
  thread = start();

  return {
    /** Parquet of a page, from its LOAD DATA text (copied to the thread; the caller keeps it). */
    encode(columns: SourceColumn[], tsv: Buffer): Promise<Uint8Array> {
      thread ??= start();
      const id = nextId++;
      const result = new Promise<Uint8Array>((resolve, reject) => waiting.set(id, { resolve, reject }));
      thread.postMessage({ id, columns, tsv: new Uint8Array(tsv) } satisfies ParquetJob);
      return result;
    },
    async close(): Promise<void> {
      const t = thread;
      thread = undefined;
      if (t) await t.terminate();
    },
  };
}
export type ParquetEncoder = ReturnType<typeof createParquetEncoder>;

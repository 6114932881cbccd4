import { Worker } from 'node:worker_threads';
import { scoreJob, type ScoredSeries, type ScoringJob } from './scan-series.js';
import type { ScoringReply, ScoringRequest } from './scoring-thread.js';

export interface SeriesScorer {
  score(job: ScoringJob): Promise<ScoredSeries[]>;
  close(): Promise<void>;
}

/** Scores on the calling thread: for tests and one-off scripts. */
export function inlineScorer(): SeriesScorer {
  return {
    score: (job) => Promise.resolve(scoreJob(job)),
    close: () => Promise.resolve(),
  };
}

/**
 * Scores on a thread of its own, so that a scan's event loop keeps reading InfluxDB (and writing
 * scores) while the detector runs: on two cores that is a good part of a scan's speed. One thread
 * serves every scan activity of the process; it starts on first use.
 */
export function createThreadScorer(): SeriesScorer {
  let thread: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: ScoredSeries[]) => void; reject: (e: Error) => void }>();

  function start(): Worker {
    const worker = new Worker(new URL('./scoring-thread-entry.mjs', import.meta.url));
    worker.unref(); // an idle scorer never keeps the process alive
    worker.on('message', (reply: ScoringReply) => {
      const job = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (!job) return;
      if ('error' in reply) job.reject(new Error(`scoring failed: ${reply.error}`));
      else job.resolve(reply.results);
    });
    const failAll = (err: Error) => {
      thread = undefined;
      for (const job of waiting.values()) job.reject(err);
      waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`scoring thread exited with code ${code}`)));
    return worker;
  }

  return {
    score(job: ScoringJob): Promise<ScoredSeries[]> {
      thread ??= start();
      const id = nextId++;
      const result = new Promise<ScoredSeries[]>((resolve, reject) => waiting.set(id, { resolve, reject }));
      const transfer = job.series.flatMap((s) => [s.t, s.v]).filter((a): a is Float64Array => a instanceof Float64Array).map((a) => a.buffer as ArrayBuffer);
      thread.postMessage({ ...job, id } satisfies ScoringRequest, transfer);
      return result;
    },
    async close(): Promise<void> {
      const t = thread;
      thread = undefined;
      if (t) await t.terminate();
    },
  };
}

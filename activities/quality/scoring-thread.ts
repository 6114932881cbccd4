import { parentPort } from 'node:worker_threads';
import { scoreJob, type ScoredSeries, type ScoringJob } from './scan-series.js';

export type ScoringRequest = ScoringJob & { id: number };
export type ScoringReply = { id: number; results: ScoredSeries[] } | { id: number; error: string };

// Runs on its own thread: the detector's arithmetic, off the event loop that reads InfluxDB.
parentPort!.on('message', (job: ScoringRequest) => {
  try {
    const results = scoreJob(job);
    parentPort!.postMessage({ id: job.id, results } satisfies ScoringReply, results.map((r) => r.scores.buffer as ArrayBuffer));
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ScoringReply);
  }
});

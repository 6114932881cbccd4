import { serveJobs } from '../threads/job-thread.js';
import { scoreJob, type ScoredBatch, type ScoringJob } from './scan-series.js';

// Runs on its own thread: the detector's arithmetic, off the event loop that reads InfluxDB.
await serveJobs<ScoringJob, ScoredBatch>((job) => {
  const scored = scoreJob(job);
  return { result: scored, transfer: [scored.scores.buffer as ArrayBuffer, scored.points.buffer as ArrayBuffer] };
});

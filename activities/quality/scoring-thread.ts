import { serveJobs } from '../threads/job-thread.js';
import { scoreJob, type ScoredSeries, type ScoringJob } from './scan-series.js';

// Runs on its own thread: the detector's arithmetic, off the event loop that reads InfluxDB.
await serveJobs<ScoringJob, ScoredSeries[]>((job) => {
  const results = scoreJob(job);
  return { result: results, transfer: results.map((r) => r.scores.buffer as ArrayBuffer) };
});

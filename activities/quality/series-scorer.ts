import { siblingModule } from '../../runtime/package-paths.js';
import { createJobThread } from '../threads/job-thread.js';
import { scoreJob, type ScoredBatch, type ScoringJob } from './scan-series.js';

export interface SeriesScorer {
  /** Scores a batch; the job's points buffer comes back in the result (the caller's copy may be detached). */
  score(job: ScoringJob): Promise<ScoredBatch>;
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
 * scores) while the detector runs. One thread serves every scan activity of the process; it
 * starts on first use. A batch's points buffer moves to the thread and back.
 */
export function createThreadScorer(): SeriesScorer {
  const thread = createJobThread<ScoringJob, ScoredBatch>(siblingModule('./scoring-thread', import.meta.url), 'scoring');
  return {
    score: (job) => thread.run(job, [job.points.buffer as ArrayBuffer]),
    close: () => thread.close(),
  };
}

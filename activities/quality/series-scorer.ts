import { siblingModule } from '../../runtime/package-paths.js';
import { createJobThread } from '../threads/job-thread.js';
import { scoreJob, type ScoredSeries, type ScoringJob } from './scan-series.js';

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
 * scores) while the detector runs. One thread serves every scan activity of the process; it
 * starts on first use.
 */
export function createThreadScorer(): SeriesScorer {
  const thread = createJobThread<ScoringJob, ScoredSeries[]>(siblingModule('./scoring-thread', import.meta.url), 'scoring');
  return {
    score(job: ScoringJob): Promise<ScoredSeries[]> {
      const transfer = job.series
        .flatMap((s) => [s.t, s.v])
        .filter((a): a is Float64Array => a instanceof Float64Array)
        .map((a) => a.buffer as ArrayBuffer);
      return thread.run(job, transfer);
    },
    close: () => thread.close(),
  };
}

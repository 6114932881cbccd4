import { defineQuery, defineUpdate, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { BackfillProgress } from '../../common/backfill.js';

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');
export const pauseBackfill = defineUpdate<BackfillProgress>('pause');
export const resumeBackfill = defineUpdate<BackfillProgress>('resume');
export const cancelBackfill = defineUpdate<BackfillProgress>('cancel');
export const setBackfillConcurrency = defineUpdate<BackfillProgress, [number]>('setConcurrency');

/**
 * The operator's controls of a running backfill: progress as a query; pause, resume, cancel and
 * concurrency as updates, each answered with the progress it leaves. Cancelling also stops the
 * partitions running now, through `cancelPartitions`.
 */
export function serveBackfillControls(progress: BackfillProgress, report: () => BackfillProgress, cancelPartitions: () => void): void {
  setHandler(backfillProgressQuery, () => progress);
  setHandler(pauseBackfill, () => {
    progress.paused = true;
    return report();
  });
  setHandler(resumeBackfill, () => {
    progress.paused = false;
    return report();
  });
  setHandler(cancelBackfill, () => {
    progress.cancelled = true;
    cancelPartitions();
    return report();
  });
  setHandler(
    setBackfillConcurrency,
    (concurrency) => {
      progress.concurrency = concurrency;
      return report();
    },
    {
      validator: (concurrency) => {
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 200) {
          throw new Error(`concurrency must be a whole number from 1 to 200, not ${concurrency}`);
        }
      },
    },
  );
}

/** Brings the progress's ETA and the Web UI's current details up to date, and returns a copy. */
export function reportBackfill(progress: BackfillProgress, startedAtMs: number): BackfillProgress {
  const finished = progress.succeeded + progress.failed;
  const elapsedSeconds = (Date.now() - startedAtMs) / 1000;
  const remaining = progress.toRun - finished;
  progress.etaSeconds = finished > 0 && remaining > 0 ? Math.round((remaining * elapsedSeconds) / finished) : null;
  const state = progress.cancelled ? 'cancelled' : progress.paused ? 'paused' : 'running';
  setCurrentDetails(
    `**backfill ${progress.dataset}** — ${state}\n\n` +
      `${finished} of ${progress.toRun} partitions done (${progress.failed} failed), ${progress.running} running, ` +
      `concurrency ${progress.concurrency}, ${progress.rows} rows` +
      (progress.etaSeconds !== null ? `, about ${progress.etaSeconds} s to go` : ''),
  );
  return { ...progress };
}

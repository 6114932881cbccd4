import { defineQuery, isCancellation, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createChecksActivities } from '../activities/quality/checks.js';
import { QualityChecksInput, type DatasetChecksSummary, type QualityChecksProgress, type QualityChecksResult } from '../common/checks.js';
import { parseInput } from '../common/errors.js';
import { inLanes } from '../common/lanes.js';
import { bulk, short } from './support/activity-options.js';
import { reasonText } from './support/failure-reason.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Checks = ReturnType<typeof createChecksActivities>;

const { planChecks } = proxyActivities<Pick<Checks, 'planChecks'>>(short);

// A dataset's checks scan its silver table once or a few times; every write is keyed by run and
// check (an upsert, a fixed object key, a point at the run's start), so a retry does them again.
const { runDatasetChecks } = proxyActivities<Pick<Checks, 'runDatasetChecks'>>(
  bulk({ timeout: '30 minutes', heartbeat: '2 minutes', attempts: 5 }),
);

export const qualityChecksProgressQuery = defineQuery<QualityChecksProgress>('progress');

/** Datasets checked side by side: each holds a MySQL connection or two while it scans. */
const DATASETS_AT_ONCE = 4;

/**
 * Run the data-quality checks of one dataset, a team's datasets or every dataset with checks:
 * list the datasets, then per dataset run its checks against silver (results to MySQL, failing
 * rows to MinIO, points to InfluxDB) and keep only its counts. One dataset whose checks cannot
 * run does not stop the others; the run then ends `partial`.
 */
export async function qualityChecksWorkflow(raw: unknown): Promise<QualityChecksResult> {
  const input = parseInput(QualityChecksInput, raw, 'quality checks input');
  const info = workflowInfo();
  const runId = info.runId;
  const startedAtMs = info.startTime.getTime();
  const progress: QualityChecksProgress = {
    runId,
    phase: 'planning',
    datasets: 0,
    datasetsDone: 0,
    checks: 0,
    passed: 0,
    failed: 0,
    errored: 0,
  };
  setHandler(qualityChecksProgressQuery, () => progress);
  tagRun({ kind: 'quality-checks', ...(input.dataset ? { dataset: input.dataset } : {}), ...(input.team ? { team: input.team } : {}) });
  const scope = input.dataset ?? (input.team ? `team ${input.team}` : 'every dataset with checks');
  const summaries: DatasetChecksSummary[] = [];
  const unchecked: QualityChecksResult['unchecked'] = [];
  report(progress, scope, []);

  try {
    const { datasets } = await planChecks({ input });
    progress.datasets = datasets.length;
    progress.phase = 'checking';
    report(progress, scope, []);

    await inLanes(datasets, DATASETS_AT_ONCE, async (dataset) => {
      try {
        const s = await runDatasetChecks({ runId, dataset, startedAtMs, ...(input.checks ? { checks: input.checks } : {}) });
        summaries.push(s);
        progress.checks += s.checks;
        progress.passed += s.passed;
        progress.failed += s.failed;
        progress.errored += s.errored;
      } catch (err) {
        // One dataset named: its failure is the run's. Otherwise it is reported and the rest go on.
        if (input.dataset || isCancellation(err)) throw err;
        unchecked.push({ dataset, reason: reasonText(err) });
      }
      progress.datasetsDone++;
      report(progress, scope, summaries);
    });

    summaries.sort((a, b) => a.dataset.localeCompare(b.dataset));
    progress.phase = 'done';
    report(progress, scope, summaries);
    // The outcome says whether every check could be evaluated; failing checks are in the result.
    markOutcome(progress.errored > 0 || unchecked.length > 0 ? 'partial' : 'succeeded');
    return {
      runId,
      datasets: summaries,
      checks: progress.checks,
      passed: progress.passed,
      failed: progress.failed,
      errored: progress.errored,
      blockingFailed: summaries.flatMap((s) => s.blockingFailed.map((id) => `${s.dataset}/${id}`)),
      unchecked,
    };
  } catch (err) {
    return failRun(err, {
      what: 'quality checks',
      context: { runId, scope },
      show: () => {
        progress.phase = 'failed';
        report(progress, scope, summaries);
      },
    });
  }
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: QualityChecksProgress, scope: string, summaries: DatasetChecksSummary[]): void {
  const failing = summaries.flatMap((s) => s.failedIds.map((id) => `${s.dataset}/${id}`));
  setCurrentDetails(
    `**quality checks** of ${scope} — ${p.phase}\n\n` +
      `datasets ${p.datasetsDone} of ${p.datasets}; checks ${p.checks}: ${p.passed} passed, ${p.failed} failed, ${p.errored} errored` +
      (failing.length
        ? `\n\nnot passing: ${failing.slice(0, 20).join(', ')}${failing.length > 20 ? ` and ${failing.length - 20} more` : ''}`
        : '') +
      `\n\nresults in check_results under run \`${p.runId}\``,
  );
}

import { continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createQualityActivities } from '../activities/quality/index.js';
import {
  AnomalyScanInput,
  addTotals,
  emptyTotals,
  resolveWindow,
  totalsOf,
  type AnomalyScanProgress,
  type AnomalyScanResult,
  type AnomalyScanResume,
  type ScanPlan,
} from '../common/anomaly-scan.js';
import { parseInput } from '../common/errors.js';
import { chunk, inLanes } from '../common/lanes.js';
import { bulk, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Quality = ReturnType<typeof createQualityActivities>;

const { planScan, finishScan, failScan } = proxyActivities<Pick<Quality, 'planScan' | 'finishScan' | 'failScan'>>(short);

// A group reads, scores and writes a few hundred datasets; it heartbeats as it goes and a retry
// redoes the group (every write is an upsert or an overwrite of the same point).
const { scanGroup } = proxyActivities<Pick<Quality, 'scanGroup'>>(bulk({ timeout: '30 minutes', heartbeat: '1 minute', attempts: 10 }));

export const anomalyScanProgressQuery = defineQuery<AnomalyScanProgress>('progress');

/**
 * Scan run metrics for anomalies: list the datasets, then per group of datasets read their
 * series from InfluxDB (a training history plus the window), score every point with the
 * detector, write the scores back for charts and upsert the window's anomalies into MySQL;
 * finally record the scan's counts. Only names and counts pass through the workflow.
 */
export async function anomalyScanWorkflow(raw: unknown, resume?: AnomalyScanResume): Promise<AnomalyScanResult> {
  const input = parseInput(AnomalyScanInput, raw, 'anomaly scan input');
  const info = workflowInfo();
  // `lastHours` counts back from the first run's start; a continued run keeps that window.
  const window = resume?.plan.spec.window ?? resolveWindow(input, info.startTime.getTime());
  const scanId = resume?.plan.spec.scanId ?? info.runId;
  const progress: AnomalyScanProgress = {
    scanId,
    phase: 'planning',
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    groups: 0,
    groupsDone: resume?.groupsDone.length ?? 0,
    ...(resume?.totals ?? emptyTotals()),
  };
  setHandler(anomalyScanProgressQuery, () => progress);
  tagRun({
    kind: 'anomaly-scan',
    ...(input.team ? { team: input.team } : {}),
    ...(input.datasets?.length === 1 ? { dataset: input.datasets[0]! } : {}),
  });
  const scope = input.team ? `team ${input.team}` : input.datasets ? `${input.datasets.length} dataset(s)` : 'all datasets';
  report(progress, scope);

  let plan: ScanPlan | undefined = resume?.plan;
  try {
    plan ??= await planScan({ scanId, workflowId: info.workflowId, input, window });
    const { spec } = plan;
    const groups = chunk(plan.datasets, input.datasetsPerActivity);
    progress.groups = groups.length;
    progress.phase = 'scanning';
    report(progress, scope);

    const done = new Set(resume?.groupsDone ?? []);
    const pending = groups.map((_, i) => i).filter((i) => !done.has(i));
    // `parallelism` groups at once; once Temporal suggests it, no new group starts in this run.
    const suggested = () => workflowInfo().continueAsNewSuggested;
    await inLanes(
      pending,
      input.parallelism,
      async (group) => {
        const found = await scanGroup({ spec, group, datasets: groups[group]! });
        done.add(group);
        addTotals(progress, found);
        progress.groupsDone = done.size;
        report(progress, scope);
      },
      { stopWhen: suggested },
    );
    if (done.size < groups.length) {
      await continueAsNew<typeof anomalyScanWorkflow>(raw, { plan, groupsDone: [...done], totals: totalsOf(progress) });
    }

    progress.phase = 'finishing';
    await finishScan({ scanId, totals: totalsOf(progress) });
    progress.phase = 'done';
    report(progress, scope);
    markOutcome('succeeded');
    return { scanId, from: progress.from, to: progress.to, groups: groups.length, ...totalsOf(progress) };
  } catch (err) {
    return failRun(err, {
      what: 'anomaly scan',
      context: { scanId },
      show: () => {
        progress.phase = 'failed';
        report(progress, scope);
      },
      record: (outcome, error) => failScan({ scanId, totals: totalsOf(progress), outcome, error }),
    });
  }
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: AnomalyScanProgress, scope: string): void {
  setCurrentDetails(
    `**anomaly scan** of ${scope}, ${p.from} → ${p.to} — ${p.phase}\n\n` +
      `groups ${p.groupsDone} of ${p.groups}; datasets ${p.datasets}, series ${p.series}, points ${p.points}; ` +
      `anomalies ${p.anomalies} (confirmed ${p.confirmed}), suppressed by feedback ${p.suppressed}, ` +
      `excluded points ${p.excludedPoints}; scan \`${p.scanId}\``,
  );
}

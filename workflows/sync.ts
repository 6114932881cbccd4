import { continueAsNew, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IngestionActivities } from '../activities/ingestion/index.js';
import { parseInput } from '../common/errors.js';
import {
  SyncInput,
  type KeysetPosition,
  type SyncPlan,
  type SyncProgress,
  type SyncResult,
  type SyncResumeState,
  type SyncTotals,
} from '../common/sync.js';
import { copy, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

const { planSync, finishSync, failSync } = proxyActivities<Pick<IngestionActivities, 'planSync' | 'finishSync' | 'failSync'>>(short);
const { copyChunk } = proxyActivities<Pick<IngestionActivities, 'copyChunk'>>(copy);

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

/**
 * Sync one dataset: source rows → bronze Parquet objects in MinIO → upserts into the MySQL
 * silver table, with the watermark committed together with each page, then the run recorded in
 * the catalog and its metrics in InfluxDB.
 */
export async function syncWorkflow(raw: unknown, resume?: SyncResumeState): Promise<SyncResult> {
  const input = parseInput(SyncInput, raw, 'sync input');
  const info = workflowInfo();
  const progress: SyncProgress = {
    dataset: input.dataset,
    syncRunId: resume?.plan.syncRunId ?? info.runId,
    phase: 'planning',
    estimatedRows: resume?.plan.estimatedRows ?? 0,
    ...(resume?.totals ?? { rows: 0, quarantined: 0, bytes: 0, objects: 0 }),
  };
  setHandler(syncProgressQuery, () => progress);

  let plan: SyncPlan | undefined = resume?.plan;
  try {
    plan ??= await planSync(input, { syncRunId: progress.syncRunId, startedAtMs: info.startTime.getTime() });
    // A windowed sync is a partition: its window as an ISO 8601 interval.
    tagRun({ kind: 'sync', dataset: plan.dataset, team: plan.team, ...(input.window ? { partition: `${input.window.from}/${input.window.to}` } : {}) });
    progress.estimatedRows = plan.estimatedRows;
    progress.phase = 'copying';
    report(progress);

    let after: KeysetPosition | null = resume?.after ?? plan.startAfter;
    let nextSeq = resume?.nextSeq ?? 1;
    for (;;) {
      const chunk = await copyChunk({ plan, after, firstSeq: nextSeq });
      after = chunk.after;
      nextSeq = chunk.nextSeq;
      add(progress, { rows: chunk.rows, quarantined: chunk.quarantined, bytes: chunk.bytes, objects: chunk.objects });
      report(progress);
      if (chunk.done) break;
      if (workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof syncWorkflow>(raw, { plan, after, nextSeq, totals: totalsOf(progress) });
      }
    }

    progress.phase = 'finishing';
    const result = await finishSync({ plan, totals: totalsOf(progress), after });
    progress.phase = 'done';
    report(progress);
    markOutcome('succeeded', result.rows);
    return result;
  } catch (err) {
    const failed = plan;
    return failRun(err, {
      what: 'sync',
      started: failed !== undefined, // before the plan, the input or the dataset was wrong: nothing was started
      context: { dataset: input.dataset, syncRunId: progress.syncRunId },
      show: () => {
        progress.phase = 'failed';
        report(progress);
      },
      record: (outcome, error) => failSync({ plan: failed!, totals: totalsOf(progress), outcome, error }),
    });
  }
}

function add(totals: SyncTotals, more: SyncTotals): void {
  totals.rows += more.rows;
  totals.quarantined += more.quarantined;
  totals.bytes += more.bytes;
  totals.objects += more.objects;
}

function totalsOf(p: SyncProgress): SyncTotals {
  return { rows: p.rows, quarantined: p.quarantined, bytes: p.bytes, objects: p.objects };
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: SyncProgress): void {
  const pct = p.estimatedRows > 0 ? ` (${Math.min(100, Math.round((100 * p.rows) / p.estimatedRows))}%)` : '';
  setCurrentDetails(
    `**${p.dataset}** — ${p.phase}\n\n` +
      `rows ${p.rows} of ~${p.estimatedRows}${pct}, objects ${p.objects}, ` +
      `quarantined ${p.quarantined}, sync run \`${p.syncRunId}\``,
  );
}

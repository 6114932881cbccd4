import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDigestActivities } from '../activities/notify/digest.js';
import {
  DigestInput,
  addDigestTotals,
  digestTotalsOf,
  digestScopeLabel,
  emptyDigestTotals,
  resolvePeriod,
  type DigestPlan,
  type DigestProgress,
  type DigestResult,
  type DigestResume,
} from '../common/digest.js';
import { ErrorType, parseInput } from '../common/errors.js';
import { inLanes } from '../common/lanes.js';
import { bulk, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Notify = ReturnType<typeof createDigestActivities>;

const { planDigest, finishDigest } = proxyActivities<Pick<Notify, 'planDigest' | 'finishDigest'>>(short);

// A page renders, stores and sends a few hundred digests, heartbeating after every chunk of sends;
// a retry (after a crash: the heartbeat timeout) skips the deliveries the ledger has as done.
const { deliverDigestPage } = proxyActivities<Pick<Notify, 'deliverDigestPage'>>(
  bulk({ timeout: '15 minutes', heartbeat: '20 seconds', attempts: 20 }),
);

export const digestProgressQuery = defineQuery<DigestProgress>('progress');

/**
 * Send one digest per recipient (dataset owner or team) for a day or an ISO week: plan the
 * recipients as pages of keys, then per page, in a few lanes, one activity claims the deliveries
 * in the ledger, gathers and renders every digest set-based, stores them in MinIO and sends them
 * by SMTP and/or webhook. Only keys and counts pass through here. A re-run of the same period
 * sends nothing that the ledger has as sent.
 */
export async function digestWorkflow(raw: unknown, resume?: DigestResume): Promise<DigestResult> {
  const input = parseInput(DigestInput, raw, 'digest input');
  const info = workflowInfo();
  const period = resume?.plan.spec.period ?? resolvePeriod(input.period, info.startTime.getTime());
  if ('error' in period) throw ApplicationFailure.nonRetryable(`invalid digest input: ${period.error}`, ErrorType.invalidInput);
  const progress: DigestProgress = {
    period: period.key,
    phase: 'planning',
    pages: resume?.plan.bounds.length ?? 0,
    pagesDone: resume?.pagesDone.length ?? 0,
    plannedRecipients: resume?.plan.recipients ?? 0,
    ...(resume?.totals ?? emptyDigestTotals()),
  };
  const digestRunId = resume?.plan.spec.digestRunId ?? info.runId;
  setHandler(digestProgressQuery, () => progress);
  tagRun({ kind: 'digest', ...('team' in input.scope ? { team: input.scope.team } : {}), partition: period.key });
  const scope = `${input.audience} of ${digestScopeLabel(input.scope)}`;
  report(progress, scope, input.channels);

  try {
    const plan: DigestPlan =
      resume?.plan ??
      (await planDigest({
        spec: {
          period,
          audience: input.audience,
          scope: input.scope,
          channels: input.channels,
          sendEmpty: input.sendEmpty,
          asOfMs: Math.min(period.toMs, info.startTime.getTime()),
          workflowId: info.workflowId,
          digestRunId,
        },
        recipientsPerPage: input.recipientsPerActivity,
      }));
    progress.pages = plan.bounds.length;
    progress.plannedRecipients = plan.recipients;
    progress.phase = 'delivering';
    report(progress, scope, input.channels);

    const done = new Set(resume?.pagesDone ?? []);
    const pending = plan.bounds.map((_, i) => i).filter((i) => !done.has(i));
    // `parallelism` pages at once, at most `pagesPerRun` of them in this run (and none once Temporal
    // suggests continuing as new): what is left goes to the next run.
    let startedThisRun = 0;
    await inLanes(
      pending,
      input.parallelism,
      async (index) => {
        startedThisRun++;
        const totals = await deliverDigestPage({ spec: plan.spec, index, from: plan.bounds[index]!, to: plan.bounds[index + 1] ?? null });
        done.add(index);
        addDigestTotals(progress, totals);
        progress.pagesDone = done.size;
        report(progress, scope, input.channels);
      },
      { stopWhen: () => startedThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested },
    );
    if (done.size < plan.bounds.length) {
      await continueAsNew<typeof digestWorkflow>(raw, { plan, pagesDone: [...done], totals: digestTotalsOf(progress) });
    }

    const outcome = progress.failed > 0 ? 'partial' : 'succeeded';
    // Runs started before digests had a run record end as they began.
    if (patched('digest-run-record')) await finishDigest({ digestRunId, status: outcome, totals: digestTotalsOf(progress) });
    progress.phase = 'done';
    report(progress, scope, input.channels);
    markOutcome(outcome, progress.sent);
    return { period: period.key, pages: plan.bounds.length, ...digestTotalsOf(progress) };
  } catch (err) {
    return failRun(err, {
      what: 'digest',
      context: { period: period.key },
      show: () => {
        progress.phase = 'failed';
        report(progress, scope, input.channels);
      },
      record: (status, error) => finishDigest({ digestRunId, status, totals: digestTotalsOf(progress), error }),
    });
  }
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: DigestProgress, scope: string, channels: string[]): void {
  setCurrentDetails(
    `**digest** ${p.period} for ${scope} by ${channels.join(' + ')} — ${p.phase}\n\n` +
      `pages ${p.pagesDone} of ${p.pages}; recipients ${p.recipients} of ${p.plannedRecipients}; ` +
      `deliveries sent ${p.sent} (resent after a crash ${p.resent}), already sent ${p.alreadyDone}, ` +
      `nothing to report ${p.empty}, refused ${p.failed}; objects stored ${p.objects}`,
  );
}

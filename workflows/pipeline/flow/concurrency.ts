import { CancellationScope, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createFlowConcurrency } from '../../../activities/catalog/flow-concurrency.js';
import { flowConcurrencyKey } from '../../../common/openflow/run.js';
import { report } from '../report.js';
import type { FlowRun } from './scope.js';

type Slots = ReturnType<typeof createFlowConcurrency>;

/** Asking again while other runs of the key are running: from 2 s, doubling, at most every 30 s. */
const FIRST_WAIT_MS = 2_000;
const LONGEST_WAIT_MS = 30_000;

/**
 * Windmill's flow concurrency limit, enforced across runs: before its first step a run waits for a
 * slot of its key (`value.concurrent_limit` runs at once, and no more starts within
 * `value.concurrency_time_window_s`), asking the catalog again on a durable timer. Gives the
 * release to call when the run ends, whatever way it ends; none without a limit.
 */
export async function holdConcurrencySlot(run: FlowRun): Promise<(() => Promise<void>) | undefined> {
  const { concurrent_limit: limit, concurrency_key: template, concurrency_time_window_s: window } = run.flow.value;
  if (limit === undefined) return undefined;
  const info = workflowInfo();
  const key = flowConcurrencyKey(template, run.spec.id, info.namespace, run.spec.input);
  const holder = { key, workflowId: info.workflowId, runId: info.runId };
  const slots = proxyActivities<Slots>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
    summary: `${run.spec.id}: concurrency slot of ${key}`,
  });
  let wait = FIRST_WAIT_MS;
  for (;;) {
    const answer = await slots.claimFlowSlot({ ...holder, limit: Math.max(1, Math.floor(limit)), windowSeconds: Math.max(0, window ?? 0) });
    if (answer.granted) break;
    run.progress.queuedFor = { key, held: answer.held };
    report(run);
    await sleep(answer.retryInMs ?? wait, { summary: `${run.spec.id}: ${answer.held} of ${limit} slots of ${key} taken` });
    if (answer.retryInMs === undefined) wait = Math.min(wait * 2, LONGEST_WAIT_MS);
  }
  if (run.progress.queuedFor) {
    delete run.progress.queuedFor;
    report(run);
  }
  return () => CancellationScope.nonCancellable(() => slots.releaseFlowSlot(holder));
}

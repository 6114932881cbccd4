import { isCancellation, proxyLocalActivities } from '@temporalio/workflow';
import type { createBatchActivity } from '../../../activities/pipeline/batch.js';
import { failedNodeOf } from '../../../common/pipeline/node-io.js';
import { moduleDependencies, retryPolicyOf, type Module } from '../../../common/pipeline/spec.js';
import { innermostFailure, reasonText } from '../../support/failure-reason.js';
import { NodeFailed } from '../failures.js';
import { setNode, tracked, type NodeValue, type PipelineRun, type Scope } from '../state.js';

/** A chain of plain local activity nodes in one local activity (`batch_local`): outputs and progress per node. */
export async function runChain(run: PipelineRun, chain: Module[], scope: Scope): Promise<{ id: string; output: unknown }[]> {
  const shown = tracked(scope);
  const ids = new Set(chain.map((c) => c.id));
  const reads = new Set(chain.flatMap((c) => moduleDependencies(c)).filter((d) => !ids.has(d) && Object.hasOwn(scope.nodes, d)));
  const started = Date.now();
  if (shown) for (const c of chain) setNode(run, c.id, { status: 'running', startedAt: new Date(started).toISOString() });
  const steps = chain.map((c) => {
    const v = c.value as NodeValue<'activity'>;
    return { id: c.id, name: v.name, input_transforms: v.input_transforms };
  });
  try {
    const batch = proxyLocalActivities<ReturnType<typeof createBatchActivity>>({
      startToCloseTimeout: 600_000,
      retry: retryPolicyOf(undefined),
      summary: `${run.spec.id}/${chain[0]!.id} … ${chain[chain.length - 1]!.id}: ${chain.length} nodes in one batch`,
    });
    const result = await batch.runPipelineBatch({
      steps,
      scope: {
        input: scope.input,
        nodes: Object.fromEntries([...reads].map((d) => [d, scope.nodes[d]])),
        item: scope.item,
        index: scope.index,
      },
    });
    if (shown) chain.forEach((c, i) => setNode(run, c.id, { status: 'succeeded', durationMs: result.durationsMs[i] ?? 0 }));
    return chain.map((c, i) => ({ id: c.id, output: result.outputs[i] ?? null }));
  } catch (err) {
    if (isCancellation(err)) throw err;
    const message = reasonText(err);
    // The batch names the step that failed in the failure's details; a timeout names none.
    const failedId = failedNodeOf(innermostFailure(err));
    const failed = chain.find((c) => c.id === failedId) ?? chain[0]!;
    if (shown) {
      let after = false;
      for (const c of chain) {
        if (c === failed) setNode(run, c.id, { status: 'failed', durationMs: Date.now() - started, error: message });
        else setNode(run, c.id, { status: after ? 'blocked' : 'succeeded' });
        after ||= c === failed;
      }
    }
    throw new NodeFailed(failed.id, message, innermostFailure(err));
  }
}

import { ApplicationFailure, executeChild, isCancellation, sleep } from '@temporalio/workflow';
import { describeIssues } from '../../../common/errors.js';
import { badValue, evaluateField, evaluateInput } from '../../../common/pipeline/node-io.js';
import { retryPolicyOf, type Module } from '../../../common/pipeline/spec.js';
import { SearchAttr } from '../../../common/search-attributes.js';
import { TaskQueue } from '../../../common/task-queues.js';
import { workflowEntry } from '../../../common/workflows.js';
import { innermostFailure } from '../../support/failure-reason.js';
import { setNode, tracked, type NodeValue, type PipelineRun, type Scope } from '../state.js';

/** A registered workflow (or any workflow type on its own task queue) as a child, retried per the node's `retry`. */
export async function runWorkflowNode(run: PipelineRun, m: Module, v: NodeValue<'workflow'>, scope: Scope): Promise<unknown> {
  // A step of its own around runChild: the promise chain the recorded histories replay against.
  return runChild(run, m, v, scope);
}

async function runChild(run: PipelineRun, m: Module, v: NodeValue<'workflow'>, scope: Scope): Promise<unknown> {
  const { spec } = run;
  const input = evaluateInput(m.id, v.input_transforms, scope);
  const entry = workflowEntry(v.name);
  if (entry) {
    const checked = entry.input.safeParse(input);
    if (!checked.success) throw badValue(m.id, 'input_transforms', `${v.name} input: ${describeIssues(checked.error)}`);
  }
  const explicitId = v.workflow_id
    ? v.workflow_id.type === 'static'
      ? v.workflow_id.value
      : evaluateField(m.id, 'workflow_id.expr', v.workflow_id.expr, scope)
    : undefined;
  if (explicitId !== undefined && (typeof explicitId !== 'string' || explicitId === ''))
    throw badValue(m.id, 'workflow_id', 'must give a non-empty string');
  const workflowId =
    (explicitId as string | undefined) ?? entry?.workflowIdOf(input) ?? `${run.workflowId}/${m.id}${scope.iteration ?? ''}`;
  const taskQueue = v.task_queue ?? (entry ? (spec.task_queues[entry.domain] ?? TaskQueue[entry.domain]) : undefined);
  const dataset = entry?.datasetOf(input);
  const policy = retryPolicyOf(m.retry);
  for (let attempt = 1; ; attempt++) {
    try {
      return await executeChild(v.name, {
        args: [input],
        workflowId,
        ...(taskQueue ? { taskQueue } : {}),
        staticSummary: `${spec.id}/${m.id}: ${entry?.summaryOf(input) ?? m.summary ?? v.name}`,
        ...(m.timeout ? { workflowExecutionTimeout: m.timeout } : {}),
        ...(entry
          ? {
              typedSearchAttributes: [
                { key: SearchAttr.kind, value: entry.kind },
                ...(dataset ? [{ key: SearchAttr.dataset, value: dataset }] : []),
              ],
            }
          : {}),
      });
    } catch (err) {
      const reason = innermostFailure(err);
      const permanent = reason instanceof ApplicationFailure && reason.nonRetryable;
      if (isCancellation(err) || permanent || attempt >= policy.maximumAttempts) throw err;
      if (tracked(scope)) setNode(run, m.id, { attempts: attempt + 1 });
      const wait = Math.min(policy.initialInterval * policy.backoffCoefficient ** (attempt - 1), policy.maximumInterval ?? 600_000);
      await sleep(wait, { summary: `${spec.id}/${m.id}: retry ${attempt + 1} of ${v.name}` });
    }
  }
}

import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import { evaluateInput } from '../../../common/pipeline/node-io.js';
import { queueOf, retryPolicyOf, type Module } from '../../../common/pipeline/spec.js';
import { TaskQueue } from '../../../common/task-queues.js';
import type { NodeValue, PipelineRun, Scope } from '../state.js';

type AnyFn = (input: unknown) => Promise<unknown>;

/** An activity by name: local on the pipeline's worker, or on its domain's (or its own) task queue. */
export async function runActivityNode(run: PipelineRun, m: Module, v: NodeValue<'activity'>, scope: Scope): Promise<unknown> {
  const input = evaluateInput(m.id, v.input_transforms, scope);
  const options: ActivityOptions = {
    startToCloseTimeout: m.timeout ?? 600_000,
    retry: retryPolicyOf(m.retry),
    summary: `${run.spec.id}/${m.id}: ${m.summary ?? v.name}`,
  };
  if (v.local) return (proxyLocalActivities<Record<string, AnyFn>>(options)[v.name] as AnyFn)(input);
  const taskQueue = queueOf(v, run.spec.task_queues, TaskQueue);
  return (proxyActivities<Record<string, AnyFn>>({ ...options, ...(taskQueue ? { taskQueue } : {}) })[v.name] as AnyFn)(input);
}

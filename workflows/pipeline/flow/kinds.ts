import { executeChild, isCancellation, sleep, workflowInfo } from '@temporalio/workflow';
import { childFlowId, type FlowRunInput } from '../../../common/openflow/run.js';
import type { PipelineResult } from '../../../common/pipeline/spec.js';
import { SearchAttr } from '../../../common/search-attributes.js';
import { retryDelaySeconds } from '../../../common/openflow/retry.js';
import type { FlowModule, FlowModuleValue, Retry } from '../../../common/openflow/schema.js';
import type { Module } from '../../../common/pipeline/spec.js';
import type { z } from 'zod';
import { NodeFailed } from '../failures.js';
import { runActivityNode } from '../nodes/activity.js';
import { runBranches } from '../nodes/branchall.js';
import { runWorkflowNode } from '../nodes/workflow.js';
import { setNode } from '../state.js';
import { evaluate, evaluateTransforms, holds, type FlowRun, type FlowScope } from './scope.js';
import { errorObject, FlowStopped, runSteps } from './step.js';

type Value<K extends FlowModuleValue['type']> = Extract<FlowModuleValue, { type: K }>;

/** One attempt and nothing more on the Temporal side: the retries are Windmill's, below. */
const ONE_ATTEMPT = { constant: { attempts: 0, seconds: 0 } };

/**
 * A script by path, run as the activity or workflow the scripts table maps it to, its arguments
 * renamed by the table's `input`. Retried per Windmill's `retry` by workflow timers between
 * attempts, so the waits are exactly Windmill's formula (common/openflow/retry.ts); no `retry`, no retries.
 */
export async function runScriptStep(run: FlowRun, m: FlowModule, v: Value<'script'>, scope: FlowScope): Promise<unknown> {
  const target = run.scripts[v.path]!; // every path was checked against the table before the run started
  const args = await evaluateTransforms(run, m.id, 'input_transforms', v.input_transforms, scope);
  const input = Object.fromEntries(Object.entries(args).map(([k, x]) => [target.input[k] ?? k, x]));
  const input_transforms = Object.fromEntries(Object.entries(input).map(([k, x]) => [k, { type: 'static' as const, value: x }]));
  const node: Module = {
    id: m.id,
    summary: m.summary ?? v.path,
    after: [],
    continue_on_error: false,
    retry: ONE_ATTEMPT,
    ...(typeof m.timeout === 'number' ? { timeout: m.timeout * 1000 } : {}),
    value:
      'activity' in target
        ? {
            type: 'activity',
            name: target.activity,
            local: target.local,
            input_transforms,
            ...(target.domain ? { domain: target.domain } : {}),
            ...(target.task_queue ? { task_queue: target.task_queue } : {}),
          }
        : { type: 'workflow', name: target.workflow, input_transforms, ...(target.task_queue ? { task_queue: target.task_queue } : {}) },
  };
  const where = { input: scope.flow_input, nodes: {}, ...(scope.iteration !== undefined ? { iteration: scope.iteration } : {}) };
  return withRetries(run, m, v.path, scope, () =>
    node.value.type === 'activity'
      ? runActivityNode(run, node, node.value, where)
      : runWorkflowNode(run, node, node.value as Extract<Module['value'], { type: 'workflow' }>, where),
  );
}

/** Windmill's `retry` around one attempt (numbered from 1): workflow timers between attempts, the waits from its formula. */
export async function withRetries<T>(
  run: FlowRun,
  m: FlowModule,
  what: string,
  scope: FlowScope,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const retry = m.retry as z.output<typeof Retry> | undefined;
  for (let failures = 0; ;) {
    try {
      return await attempt(failures + 1);
    } catch (err) {
      if (isCancellation(err)) throw err;
      failures++;
      const seconds = retryDelaySeconds(retry, failures, Math.random()); // the workflow's random: the same on replay
      if (seconds === undefined) throw err;
      if (scope.iteration === undefined) setNode(run, m.id, { attempts: failures + 1 });
      if (seconds > 0) await sleep(Math.round(seconds * 1000), { summary: `${run.spec.id}/${m.id}: retry ${failures} of ${what}` });
    }
  }
}

/**
 * `flow` by path: the sub-flow (from the flows table the CLI read) as a child pipelineWorkflow,
 * its input the step's input transforms, on this run's task queue. As in Windmill, the step's
 * result is the sub-flow's result: `results.<step>` reads it, the sub-flow's own steps stay its own.
 */
export async function runFlowStep(run: FlowRun, m: FlowModule, v: Value<'flow'>, scope: FlowScope): Promise<unknown> {
  const input = await evaluateTransforms(run, m.id, 'input_transforms', v.input_transforms, scope);
  const child: FlowRunInput = {
    id: childFlowId(run.spec.id, m.id),
    openflow: run.flows[v.path]!, // every path was resolved before the run started
    scripts: run.scripts,
    flows: run.flows,
    input,
    task_queues: run.spec.task_queues,
  };
  const done = (await withRetries(run, m, v.path, scope, () =>
    executeChild('pipelineWorkflow', {
      args: [child],
      workflowId: `${run.workflowId}/${m.id}${scope.iteration ?? ''}`,
      taskQueue: workflowInfo().taskQueue,
      staticSummary: `${run.spec.id}/${m.id}: flow ${v.path}`,
      ...(typeof m.timeout === 'number' ? { workflowExecutionTimeout: m.timeout * 1000 } : {}),
      typedSearchAttributes: [{ key: SearchAttr.kind, value: 'pipeline' }],
    }),
  )) as PipelineResult;
  return done.result ?? null;
}

/** `identity`: the previous step's result, unchanged. */
export function runIdentityStep(scope: FlowScope): Promise<unknown> {
  return Promise.resolve(scope.previous_result);
}

/** `branchone`: the first branch whose predicate holds, in order, else the default; gives its last result. */
export async function runBranchOneStep(run: FlowRun, m: FlowModule, v: Value<'branchone'>, scope: FlowScope): Promise<unknown> {
  let branch = -1;
  for (let i = 0; i < v.branches.length && branch < 0; i++) {
    const field = `branches.${i}.expr`;
    if (holds((await evaluate(run, m.id, { [field]: v.branches[i]!.expr }, scope))[field])) branch = i;
  }
  if (scope.iteration === undefined) setNode(run, m.id, { branch });
  return runSteps(run, branch >= 0 ? v.branches[branch]!.modules : v.default, scope);
}

/** `branchall`: every branch, at once unless `parallel: false`; gives the list of their last results. */
export async function runBranchAllStep(run: FlowRun, m: FlowModule, v: Value<'branchall'>, scope: FlowScope): Promise<unknown> {
  const one = async (i: number): Promise<unknown> => {
    const b = v.branches[i]!;
    try {
      return await runSteps(run, b.modules, scope);
    } catch (err) {
      if (!b.skip_failure || isCancellation(err) || err instanceof FlowStopped) throw err;
      return { error: errorObject(err instanceof NodeFailed ? err : new NodeFailed(m.id, String(err), err)) };
    }
  };
  return runBranches(v.branches.length, v.parallel !== false, one);
}

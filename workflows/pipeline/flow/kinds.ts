import { ApplicationFailure, executeChild, isCancellation, sleep, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../../../common/errors.js';
import { childFlowId, type FlowRunInput } from '../../../common/openflow/run.js';
import type { PipelineResult } from '../../../common/pipeline/spec.js';
import { SearchAttr } from '../../../common/search-attributes.js';
import { retryDelaySeconds } from '../../../common/openflow/retry.js';
import type { FlowModule, FlowModuleValue, InputTransform, Retry } from '../../../common/openflow/schema.js';
import { badValue } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import type { z } from 'zod';
import { kindOf, NodeFailed } from '../failures.js';
import { runActivityNode } from '../nodes/activity.js';
import { runWorkflowNode } from '../nodes/workflow.js';
import { setNode } from '../state.js';
import { evaluate, evaluateOne, evaluateTransforms, holds, type FlowRun, type FlowScope } from './scope.js';
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

/** Windmill's `retry` around one attempt: workflow timers between attempts, the waits from its formula. */
async function withRetries(run: FlowRun, m: FlowModule, what: string, scope: FlowScope, attempt: () => Promise<unknown>): Promise<unknown> {
  const retry = m.retry as z.output<typeof Retry> | undefined;
  for (let failures = 0; ;) {
    try {
      return await attempt();
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

/** Every step id inside a list, at any depth. */
function idsIn(modules: FlowModule[]): string[] {
  return modules.flatMap((m) => {
    const v = m.value;
    const inner =
      v.type === 'forloopflow' || v.type === 'whileloopflow'
        ? v.modules
        : v.type === 'branchone'
          ? [...v.branches.flatMap((b) => b.modules), ...v.default]
          : v.type === 'branchall'
            ? v.branches.flatMap((b) => b.modules)
            : [];
    return [m.id, ...idsIn(inner)];
  });
}

/**
 * A for-loop: its body once per element of the iterator, one at a time unless `parallel: true`
 * (then up to `parallelism` at once). The result is the list of the bodies' last results; after
 * it, `results.<inner step>` is that step's list of per-iteration results. The loop's own
 * `stop_after_if` is its break, checked on each iteration's result; a `stop_after_if` inside the
 * body breaks the loop the same way.
 */
export async function runForLoopStep(run: FlowRun, m: FlowModule, v: Value<'forloopflow'>, scope: FlowScope): Promise<unknown> {
  const list = await evaluateOne(run, m.id, 'iterator', v.iterator, scope);
  if (!Array.isArray(list)) throw badValue(m.id, 'iterator', `must give a list, not ${kindOf(list)}`);
  const parallelism =
    v.parallelism === undefined ? undefined : await parallelismOf(run, m, v.parallelism as number | InputTransform, scope);
  const width = v.parallel === true ? Math.min(parallelism ?? list.length, list.length) : Math.min(1, list.length);
  const { results } = await iterate(run, m, v.modules, scope, { values: list, width, skipFailures: v.skip_failures });
  return results;
}

/**
 * A while-loop as Windmill runs it (backend/windmill-worker/src/worker_flow.rs): its body again
 * and again, one iteration at a time, `flow_input.iter` being `{ index: n, value: n }`, until a
 * `stop_after_if` on the loop or inside its body breaks it. Windmill would loop until cancelled;
 * here `max_iterations` (required, checked before the run) bounds it, and reaching it without a
 * break fails the step. The bound also bounds the run's history (common/openflow/run.ts).
 */
export async function runWhileLoopStep(run: FlowRun, m: FlowModule, v: Value<'whileloopflow'>, scope: FlowScope): Promise<unknown> {
  const limit = v.max_iterations!; // required by runProblems before the run started
  const values = Array.from({ length: limit }, (_, i) => i);
  const { results, stopped } = await iterate(run, m, v.modules, scope, { values, width: 1, skipFailures: v.skip_failures });
  if (!stopped)
    throw new NodeFailed(
      m.id,
      `value.max_iterations: ${limit} iterations ran and no stop_after_if broke the loop`,
      ApplicationFailure.nonRetryable(`while loop ${m.id} reached max_iterations (${limit})`, ErrorType.pipelineNodeFailed),
    );
  return results;
}

/**
 * A loop body run once per value, `width` iterations at once, each with its own copy of
 * `results` and `flow_input.iter`. Ends early when a break holds (the loop's `stop_after_if` on
 * an iteration's result, or a `stop_after_if` inside the body); `skip_failures` keeps a failed
 * iteration's error as its result. After it, `results.<inner step>` lists that step per iteration.
 */
async function iterate(
  run: FlowRun,
  m: FlowModule,
  modules: FlowModule[],
  scope: FlowScope,
  o: { values: unknown[]; width: number; skipFailures: boolean },
): Promise<{ results: unknown[]; stopped: boolean }> {
  const { values } = o;
  const shown = scope.iteration === undefined;
  const counts = { done: 0, failed: 0, total: values.length };
  if (shown) setNode(run, m.id, counts);
  const results: unknown[] = new Array<unknown>(values.length).fill(null);
  const perIteration: Record<string, unknown>[] = [];
  const brk = m.stop_after_if as { expr: string } | undefined;
  let next = 0;
  let stopped = false;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (next < values.length && !stopped && failure === undefined) {
      const index = next++;
      const inner: FlowScope = {
        ...scope,
        flow_input: { ...scope.flow_input, iter: { value: values[index], index } },
        results: { ...scope.results },
        previous_result: values[index],
        iteration: `${scope.iteration ?? ''}/${m.id}.${index}`,
      };
      perIteration[index] = inner.results;
      try {
        results[index] = await runSteps(run, modules, inner);
        if (brk) {
          const value = await evaluate(run, m.id, { 'stop_after_if.expr': brk.expr }, inner, { result: results[index] });
          if (holds(value['stop_after_if.expr'])) stopped = true;
        }
      } catch (err) {
        if (err instanceof FlowStopped) {
          results[index] = err.result;
          stopped = true;
        } else if (!o.skipFailures || isCancellation(err)) {
          failure ??= err;
          return;
        } else {
          results[index] = { error: errorObject(err instanceof NodeFailed ? err : new NodeFailed(m.id, String(err), err)) };
          counts.failed++;
        }
      }
      counts.done++;
      if (shown) setNode(run, m.id, counts);
    }
  };
  await Promise.all(Array.from({ length: o.width }, lane));
  if (failure !== undefined) throw failure;
  const ran = stopped ? results.slice(0, counts.done) : results;
  for (const id of idsIn(modules)) scope.results[id] = perIteration.slice(0, ran.length).map((r) => r?.[id] ?? null);
  return { results: ran, stopped };
}

async function parallelismOf(run: FlowRun, m: FlowModule, p: number | InputTransform, scope: FlowScope): Promise<number> {
  const n = typeof p === 'number' ? p : await evaluateOne(run, m.id, 'parallelism', p, scope);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw badValue(m.id, 'parallelism', `must give a whole number from 1, not ${kindOf(n)}`);
  return n;
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
  if (v.parallel === false) {
    const out: unknown[] = [];
    for (let i = 0; i < v.branches.length; i++) out.push(await one(i));
    return out;
  }
  const settled = await Promise.allSettled(v.branches.map((_, i) => one(i)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}

import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { ErrorType } from '../../../common/errors.js';
import { nestedModules, type FlowModule, type FlowModuleValue, type InputTransform } from '../../../common/openflow/schema.js';
import { badValue } from '../../../common/pipeline/node-io.js';
import { kindOf, NodeFailed } from '../failures.js';
import { setNode } from '../state.js';
import { evaluate, evaluateOne, holds, type FlowRun, type FlowScope } from './scope.js';
import { errorObject, FlowStopped, runSteps } from './step.js';

type Value<K extends FlowModuleValue['type']> = Extract<FlowModuleValue, { type: K }>;

/** Every step id inside a list, at any depth. */
function idsIn(modules: FlowModule[]): string[] {
  return modules.flatMap((m) => [m.id, ...idsIn(nestedModules(m.value))]);
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

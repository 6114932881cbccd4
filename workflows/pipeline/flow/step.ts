import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { checkOutputSize } from '../../../common/pipeline/node-io.js';
import type { FlowModule } from '../../../common/openflow/schema.js';
import { ErrorType } from '../../../common/errors.js';
import { innermostFailure, reasonText } from '../../support/failure-reason.js';
import { NodeFailed } from '../failures.js';
import { setNode } from '../state.js';
import { runBranchAllStep, runBranchOneStep, runFlowStep, runIdentityStep, runScriptStep } from './kinds.js';
import { runForLoopStep, runWhileLoopStep } from './loops.js';
import { pauseAfter } from './pause.js';
import { evaluate, holds, type FlowRun, type FlowScope } from './scope.js';

/** A `stop_after_if` that held: the flow (or, inside a loop body, the loop) ends early with this result. */
export class FlowStopped extends Error {
  constructor(
    readonly step: string,
    readonly result: unknown,
    readonly skipped: boolean,
  ) {
    super(`stopped after step ${step}`);
    this.name = 'FlowStopped';
  }
}

/** Windmill's error object, as `continue_on_error` results and the failure module see it. */
export function errorObject(failed: NodeFailed): { message: string; name: string; step_id: string } {
  const original = failed.original;
  const name = original instanceof ApplicationFailure && original.type ? original.type : 'Error';
  return { message: failed.message, name, step_id: failed.node };
}

/** A module list as Windmill runs it: top to bottom, each step's result the next one's previous_result. */
export async function runSteps(run: FlowRun, modules: FlowModule[], scope: FlowScope): Promise<unknown> {
  let at: FlowScope = scope;
  for (const m of modules) at = await runStep(run, m, at);
  return at.previous_result;
}

/**
 * One step: skip_if, its type's work (or its mock), stop_after_if, then suspend and sleep (after
 * the step, as Windmill does), continue_on_error. Gives the scope the next step runs in.
 */
export async function runStep(run: FlowRun, m: FlowModule, scope: FlowScope): Promise<FlowScope> {
  const shown = scope.iteration === undefined;
  const started = Date.now();
  try {
    if (m.skip_if) {
      const skip = await evaluate(run, m.id, { 'skip_if.expr': (m.skip_if as { expr: string }).expr }, scope);
      if (holds(skip['skip_if.expr'])) {
        if (shown) setNode(run, m.id, { status: 'skipped' });
        scope.results[m.id] = null;
        return scope; // previous_result passes over a skipped step
      }
    }
    if (shown) setNode(run, m.id, { kind: m.value.type, status: 'running', startedAt: new Date(started).toISOString() });
    const mock = m.mock as { enabled?: boolean; return_value?: unknown } | undefined;
    const result = mock?.enabled ? (mock.return_value ?? null) : await runType(run, m, scope);
    checkOutputSize(m.id, result);
    scope.results[m.id] = result;
    const stop = m.stop_after_if as { expr: string; skip_if_stopped?: boolean; error_message?: string } | undefined;
    // On a loop, stop_after_if is the loop's break, checked per iteration (kinds.ts); here it stops the flow.
    const loop = m.value.type === 'forloopflow' || m.value.type === 'whileloopflow';
    const stopHere = loop ? m.stop_after_all_iters_if : (stop ?? m.stop_after_all_iters_if);
    if (stopHere) await stopIf(run, m.id, stopHere as NonNullable<typeof stop>, result, scope);
    const next: FlowScope = { ...scope, previous_result: result, ...(await pauseAfter(run, m, scope, result)) };
    if (shown) setNode(run, m.id, { status: 'succeeded', durationMs: Date.now() - started });
    return next;
  } catch (err) {
    if (isCancellation(err) || err instanceof FlowStopped) {
      if (err instanceof FlowStopped && shown) setNode(run, m.id, { status: 'succeeded', durationMs: Date.now() - started });
      throw err;
    }
    const failed = err instanceof NodeFailed ? err : new NodeFailed(m.id, reasonText(err), innermostFailure(err));
    if (shown) setNode(run, m.id, { status: 'failed', durationMs: Date.now() - started, error: failed.message });
    if (!m.continue_on_error) throw failed;
    const result = { error: errorObject(failed) };
    scope.results[m.id] = result;
    return { ...scope, previous_result: result };
  }
}

/** Evaluates a stop condition on a step's result; when it holds the flow stops, or fails with error_message. */
export async function stopIf(
  run: FlowRun,
  step: string,
  stop: { expr: string; skip_if_stopped?: boolean; error_message?: string },
  result: unknown,
  scope: FlowScope,
): Promise<void> {
  const value = await evaluate(run, step, { 'stop_after_if.expr': stop.expr }, scope, { result });
  if (!holds(value['stop_after_if.expr'])) return;
  if (stop.error_message !== undefined) {
    const message = stop.error_message || `flow stopped early by step ${step}`;
    throw new NodeFailed(step, message, ApplicationFailure.nonRetryable(message, ErrorType.pipelineNodeFailed));
  }
  throw new FlowStopped(step, result, stop.skip_if_stopped === true);
}

function runType(run: FlowRun, m: FlowModule, scope: FlowScope): Promise<unknown> {
  const v = m.value;
  switch (v.type) {
    case 'script':
      return runScriptStep(run, m, v, scope);
    case 'flow':
      return runFlowStep(run, m, v, scope);
    case 'identity':
      return runIdentityStep(scope);
    case 'forloopflow':
      return runForLoopStep(run, m, v, scope);
    case 'whileloopflow':
      return runWhileLoopStep(run, m, v, scope);
    case 'branchone':
      return runBranchOneStep(run, m, v, scope);
    case 'branchall':
      return runBranchAllStep(run, m, v, scope);
    default:
      // Refused before the run starts (common/openflow/run.ts); kept for the type's sake.
      throw ApplicationFailure.nonRetryable(`step ${m.id}: value.type '${v.type}' does not run`, ErrorType.invalidInput);
  }
}

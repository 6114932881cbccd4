import { proxyLocalActivities } from '@temporalio/workflow';
import type { createFlowExpressionActivities } from '../../../activities/pipeline/flow-expressions.js';
import type { FlowExpressionContext, FlowTable, ScriptTable } from '../../../common/openflow/run.js';
import type { InputTransform, OpenFlow } from '../../../common/openflow/schema.js';
import type { PipelineRun } from '../state.js';

/** An OpenFlow run: the pipeline run's state (progress, approvals, Web UI) plus the file, its script table and sub-flows. */
export interface FlowRun extends PipelineRun {
  readonly flow: OpenFlow;
  readonly scripts: ScriptTable;
  readonly flows: FlowTable;
}

/** Where a step runs: Windmill's names as its expressions read them. */
export interface FlowScope {
  /** The flow input; inside a for-loop also `iter: { value, index }`. */
  flow_input: Record<string, unknown>;
  /** Results of the steps done so far (shared along a list; a loop iteration has its own copy). */
  results: Record<string, unknown>;
  previous_result: unknown;
  /** The failure module: `{ message, name, step_id }`. */
  error?: unknown;
  /** After a suspended step (Windmill's names): the last resume payload, all of them, and who approved. */
  resume?: unknown;
  resumes?: unknown[];
  approvers?: string[];
  /** Position inside for-loops (`/loop.3`): no per-iteration progress, unique child ids. */
  iteration?: string;
}

export function contextOf(scope: FlowScope, extra: Record<string, unknown> = {}): FlowExpressionContext {
  return {
    flow_input: scope.flow_input,
    results: scope.results,
    previous_result: scope.previous_result,
    ...(scope.error !== undefined ? { error: scope.error } : {}),
    ...(scope.resumes !== undefined ? { resume: scope.resume, resumes: scope.resumes, approvers: scope.approvers } : {}),
    ...extra,
  };
}

/**
 * JavaScript fields of one step, evaluated in QuickJS by a local activity: the values are recorded
 * in the history, so a replay reads them back instead of evaluating again. No fields, no activity.
 */
export async function evaluate(
  run: FlowRun,
  step: string,
  expressions: Record<string, string>,
  scope: FlowScope,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  if (Object.keys(expressions).length === 0) return {};
  const { evaluateFlowExpressions } = proxyLocalActivities<ReturnType<typeof createFlowExpressionActivities>>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 1 }, // the budget is the sandbox's; a failing expression fails its step
    summary: `${run.spec.id}/${step}: ${Object.keys(expressions).join(', ')}`,
  });
  return (await evaluateFlowExpressions({ step, expressions, context: contextOf(scope, extra) })).values;
}

/** Input transforms of a step: static values as written, the JavaScript ones in one evaluation. */
export async function evaluateTransforms(
  run: FlowRun,
  step: string,
  field: string,
  transforms: Record<string, InputTransform>,
  scope: FlowScope,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const expressions: Record<string, string> = {};
  for (const [key, t] of Object.entries(transforms)) {
    if (t.type === 'static') out[key] = t.value ?? null;
    else expressions[`${field}.${key}.expr`] = t.expr;
  }
  const values = await evaluate(run, step, expressions, scope);
  for (const key of Object.keys(transforms)) if (!Object.hasOwn(out, key)) out[key] = values[`${field}.${key}.expr`] ?? null;
  return out;
}

/** One transform (an iterator, a sleep, a parallelism). */
export async function evaluateOne(run: FlowRun, step: string, field: string, t: InputTransform, scope: FlowScope): Promise<unknown> {
  if (t.type === 'static') return t.value ?? null;
  return (await evaluate(run, step, { [`${field}.expr`]: t.expr }, scope))[`${field}.expr`] ?? null;
}

/** JavaScript truthiness, as Windmill reads a predicate's value. */
export function holds(value: unknown): boolean {
  return Boolean(value);
}

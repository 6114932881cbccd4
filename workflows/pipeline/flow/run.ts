import { ApplicationFailure, ContinueAsNew, isCancellation, log } from '@temporalio/workflow';
import { describeIssues, ErrorType } from '../../../common/errors.js';
import { FlowRunInput, runProblems } from '../../../common/openflow/run.js';
import type { FlowModule } from '../../../common/openflow/schema.js';
import { checkFlow } from '../../../common/openflow/validate.js';
import type { PipelineFailureDetails, PipelineResult, PipelineSpec } from '../../../common/pipeline/spec.js';
import { markOutcome } from '../../support/run-lifecycle.js';
import { NodeFailed } from '../failures.js';
import { report } from '../report.js';
import { startRun, type PipelineRun } from '../state.js';
import { holdConcurrencySlot } from './concurrency.js';
import type { FlowRun, FlowScope } from './scope.js';
import { errorObject, FlowStopped, runStep, runSteps } from './step.js';

/**
 * An OpenFlow file run as Windmill runs it (issue 15): its modules top to bottom, `branchall`
 * branches at once unless `parallel: false`, for-loops one iteration at a time unless
 * `parallel: true`. Checked whole before any step starts: the file, every script path against
 * the table, every feature against what runs (common/openflow/features.ts). On failure the
 * failure module runs with `error` ({ message, name, step_id }), and the run still fails.
 */
export async function runOpenFlow(raw: unknown, serve: (run: PipelineRun) => void): Promise<PipelineResult> {
  const run = startFlow(raw);
  serve(run); // progress query, approve update, kind: as for a spec
  const scope: FlowScope = { flow_input: run.spec.input, results: {}, previous_result: run.spec.input };
  report(run);
  const release = await holdConcurrencySlot(run);
  try {
    let result: unknown;
    let stopped: PipelineResult['stopped'];
    try {
      result = await runTopLevel(run, scope);
    } catch (err) {
      if (!(err instanceof FlowStopped)) throw err;
      result = err.skipped ? null : err.result;
      stopped = { step: err.step, skipped: err.skipped };
      for (const m of run.flow.value.modules)
        if (run.progress.nodes[m.id]?.status === 'pending') run.progress.nodes[m.id] = { ...run.progress.nodes[m.id]!, status: 'skipped' };
    }
    const outputs = Object.fromEntries(
      run.flow.value.modules.filter((m) => Object.hasOwn(scope.results, m.id)).map((m) => [m.id, scope.results[m.id]]),
    );
    Object.assign(run.outputs, outputs);
    run.progress.finished = Object.keys(outputs).length;
    run.progress.status = 'succeeded';
    report(run);
    markOutcome('succeeded');
    return { pipeline: run.spec.id, status: 'succeeded', outputs, nodes: run.progress.nodes, result, ...(stopped ? { stopped } : {}) };
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    throw await flowFailed(run, scope, err);
  } finally {
    await release?.();
  }
}

/**
 * The file's module list, as runSteps runs it; past the `early_return` step its result is in the
 * progress query at once, so `flows run` (Windmill: a sync endpoint) returns it while the rest runs on.
 */
async function runTopLevel(run: FlowRun, scope: FlowScope): Promise<unknown> {
  const early = run.flow.value.early_return;
  if (early === undefined) return runSteps(run, run.flow.value.modules, scope);
  let at = scope;
  for (const m of run.flow.value.modules) {
    at = await runStep(run, m, at);
    if (m.id === early) {
      run.progress.earlyReturn = { step: m.id, result: at.results[m.id] ?? null };
      report(run);
    }
  }
  return at.previous_result;
}

/** The input checked as a whole: a file that cannot run as written fails before any step, naming step and field. */
function startFlow(raw: unknown): FlowRun {
  const parsed = FlowRunInput.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid flow run: ${describeIssues(parsed.error)}`, ErrorType.invalidInput);
  const input = parsed.data;
  const check = checkFlow(JSON.parse(JSON.stringify(input.openflow)) as unknown); // checkFlow fills in defaults in place; the input stays as given;
  const problems = check.flow ? [...check.problems, ...runProblems(check.flow, input.scripts, input.flows)] : check.problems;
  if (!check.flow || problems.length > 0)
    throw ApplicationFailure.nonRetryable(`flow ${input.id} cannot run: ${problems.join('; ')}`, ErrorType.invalidInput);
  const flow = check.flow;
  // The pipeline run's state, so progress, approvals and the Web UI work as for a spec.
  const spec = {
    id: input.id,
    summary: flow.summary || undefined,
    input: input.input,
    modules: [],
    task_queues: input.task_queues,
  } as unknown as PipelineSpec;
  const base = startRun(spec, undefined);
  const steps = flow.value.modules.map((m) => ({ id: m.id, ...(m.summary ? { summary: m.summary } : {}) }));
  for (const m of flow.value.modules)
    base.progress.nodes[m.id] = { kind: m.value.type, status: 'pending', ...(m.summary ? { summary: m.summary } : {}) };
  base.progress.total = steps.length;
  return Object.assign(base, { flow, scripts: input.scripts, flows: input.flows, steps });
}

async function flowFailed(run: FlowRun, scope: FlowScope, err: unknown): Promise<ApplicationFailure> {
  const failed = err instanceof NodeFailed ? err : new NodeFailed('(flow)', err instanceof Error ? err.message : String(err), err);
  log.error('flow failed', { flow: run.spec.id, failedStep: failed.node, message: failed.message });
  const handler = run.flow.value.failure_module as FlowModule | undefined;
  if (handler) {
    run.progress.status = 'handling failure';
    report(run);
    const error = errorObject(failed);
    try {
      await runStep(run, handler, { ...scope, previous_result: { error }, error, iteration: '/failure' });
    } catch (handlerErr) {
      log.error('failure module failed', {
        flow: run.spec.id,
        message: handlerErr instanceof Error ? handlerErr.message : String(handlerErr),
      });
    }
  }
  run.progress.status = 'failed';
  report(run);
  markOutcome('failed');
  const details: PipelineFailureDetails = {
    failedNode: failed.node,
    message: failed.message,
    outputs: { ...scope.results },
    runId: run.firstRunId,
  };
  const type = failed.original instanceof ApplicationFailure && failed.original.type ? failed.original.type : ErrorType.pipelineNodeFailed;
  return ApplicationFailure.create({
    message: `step ${failed.node} failed: ${failed.message}`,
    type,
    nonRetryable: true,
    details: [details],
  });
}

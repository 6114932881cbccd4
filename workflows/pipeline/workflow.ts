import {
  ApplicationFailure,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  log,
  setHandler,
} from '@temporalio/workflow';
import { describeIssues, ErrorType } from '../../common/errors.js';
import {
  PipelineSpec,
  unregisteredWorkflows,
  type ApprovalDecision,
  type ApprovalRequest,
  type NodeProgress,
  type PipelineFailureDetails,
  type PipelineProgress,
  type PipelineResult,
} from '../../common/pipeline/spec.js';
import { isFlowRun } from '../../common/openflow/run.js';
import { workflowEntry } from '../../common/workflows.js';
import { markOutcome, tagRun } from '../support/run-lifecycle.js';
import { NodeFailed } from './failures.js';
import { runOpenFlow } from './flow/run.js';
import { runList } from './graph.js';
import { checkDecision, decide } from './nodes/suspend.js';
import { report } from './report.js';
import { startRun, type PipelineRun } from './state.js';

export const pipelineProgressQuery = defineQuery<PipelineProgress>('progress');
/** A person's decision on a `suspend` node: `{ node, by, approved?: true, comment? }`. */
export const approvePipelineNode = defineUpdate<ApprovalDecision, [ApprovalRequest]>('approve');

/** What a pipeline carries into its next run when it continues as new. */
export interface PipelineCarry {
  nodes: Record<string, NodeProgress>;
  finished: number;
  firstRunId: string;
}

/**
 * Runs any pipeline spec: validates it before anything starts, then runs its modules as a graph
 * (each once the nodes it reads or waits for are done, independent ones at once). Tasks are
 * activities (local for cheap steps) or registered workflows as children; containers are
 * for-loops and branches; `suspend` waits for a person's `approve` update. A failed run's
 * failure details carry the outputs of the nodes that succeeded: give them back as
 * `resume_from` to re-run from the failed node.
 *
 * Given `{ id, openflow, scripts, input }` instead, it runs a Windmill OpenFlow file with
 * Windmill's order and meaning (`spokeflow flows run`): see flow/run.ts.
 */
export async function pipelineWorkflow(raw: unknown, carry?: PipelineCarry): Promise<PipelineResult> {
  // An OpenFlow file runs in Windmill's order instead (flow/run.ts). A spec never has this field,
  // so the recorded pipeline histories take the path below, command for command.
  if (isFlowRun(raw)) return runOpenFlow(raw, serve);
  const spec = parseSpec(raw); // the whole spec checked: a bad one fails before any node starts
  const run = startRun(spec, carry); // every node pending, or as the previous run left it
  serve(run);
  report(run);
  try {
    const top = await runList(run, spec.modules, { input: spec.input, nodes: {} }, true);
    if (top.deferred) {
      // nodes_per_run reached: the next run reuses what this one finished.
      const next = { ...(raw as Record<string, unknown>), resume_from: { outputs: run.outputs, run_id: run.firstRunId } };
      await continueAsNew<typeof pipelineWorkflow>(next, {
        nodes: run.progress.nodes,
        finished: run.progress.finished,
        firstRunId: run.firstRunId,
      });
    }
    run.progress.status = 'succeeded';
    report(run);
    markOutcome('succeeded');
    return { pipeline: spec.id, status: 'succeeded', outputs: run.outputs, nodes: run.progress.nodes };
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    throw await failed(run, err);
  }
}

/** The run's progress query and approve update, and its kind for the Web UI's filters: spec or OpenFlow alike. */
function serve(run: PipelineRun): void {
  setHandler(pipelineProgressQuery, () => run.progress);
  setHandler(approvePipelineNode, (request) => decide(run, request), { validator: (request) => checkDecision(run, request) });
  tagRun({ kind: 'pipeline' });
}

function parseSpec(raw: unknown): PipelineSpec {
  const parsed = PipelineSpec.safeParse(raw);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid pipeline spec: ${describeIssues(parsed.error)}`, ErrorType.invalidInput);
  }
  const unknown = unregisteredWorkflows(parsed.data, (name) => workflowEntry(name) !== undefined);
  if (unknown.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `invalid pipeline spec: ${unknown.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`,
      ErrorType.invalidInput,
    );
  }
  return parsed.data;
}

/** Runs the failure_module, then gives the failure whose details `resume_from` takes back. */
async function failed(run: PipelineRun, err: unknown): Promise<ApplicationFailure> {
  const { spec, progress, outputs } = run;
  const failedNode = err instanceof NodeFailed ? err.node : '(pipeline)';
  const message = err instanceof Error ? err.message : String(err);
  log.error('pipeline failed', { pipeline: spec.id, failedNode, message });
  if (spec.failure_module) {
    progress.status = 'handling failure';
    report(run);
    try {
      const error = { node: failedNode, message };
      await runList(run, [spec.failure_module], { input: spec.input, nodes: { ...outputs }, error }, false);
    } catch (handlerErr) {
      log.error('failure module failed', {
        pipeline: spec.id,
        message: handlerErr instanceof Error ? handlerErr.message : String(handlerErr),
      });
    }
  }
  progress.status = 'failed';
  report(run);
  markOutcome('failed');
  const details: PipelineFailureDetails = { failedNode, message, outputs, runId: run.firstRunId };
  const type =
    err instanceof NodeFailed && err.original instanceof ApplicationFailure && err.original.type
      ? err.original.type
      : ErrorType.pipelineNodeFailed;
  return ApplicationFailure.create({ message: `node ${failedNode} failed: ${message}`, type, nonRetryable: true, details: [details] });
}

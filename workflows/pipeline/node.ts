import { ContinueAsNew, isCancellation } from '@temporalio/workflow';
import { truthy } from '../../common/pipeline/expr.js';
import { checkOutputSize, evaluateField } from '../../common/pipeline/node-io.js';
import type { Module } from '../../common/pipeline/spec.js';
import { innermostFailure, reasonText } from '../support/failure-reason.js';
import { NodeFailed, failureOutput } from './failures.js';
import { runActivityNode } from './nodes/activity.js';
import { runBranchAllNode } from './nodes/branchall.js';
import { runBranchOneNode } from './nodes/branchone.js';
import { runChecksNode } from './nodes/checks.js';
import { runForLoopNode } from './nodes/forloopflow.js';
import { runSleepNode } from './nodes/sleep.js';
import { runSuspendNode } from './nodes/suspend.js';
import { runWorkflowNode } from './nodes/workflow.js';
import { setNode, tracked, type PipelineRun, type Scope } from './state.js';

/** One module: skip condition, its kind's work, `continue_on_error`, progress and the output limit. */
export async function runModule(run: PipelineRun, m: Module, scope: Scope): Promise<unknown> {
  const shown = tracked(scope);
  const started = Date.now();
  try {
    if (m.skip_if && truthy(evaluateField(m.id, 'skip_if.expr', m.skip_if.expr, scope))) {
      if (shown) setNode(run, m.id, { status: 'skipped' });
      return null;
    }
    if (shown) setNode(run, m.id, { status: 'running', startedAt: new Date(started).toISOString() });
    const output = await runKind(run, m, scope);
    checkOutputSize(m.id, output);
    if (shown) setNode(run, m.id, { status: 'succeeded', durationMs: Date.now() - started });
    return output ?? null;
  } catch (err) {
    if (isCancellation(err) || err instanceof ContinueAsNew) throw err;
    const failed = err instanceof NodeFailed ? err : new NodeFailed(m.id, reasonText(err), innermostFailure(err));
    if (shown) setNode(run, m.id, { status: 'failed', durationMs: Date.now() - started, error: failed.message });
    if (m.continue_on_error) return failureOutput(failed, failed.node);
    throw failed;
  }
}

// Not async itself: each kind's function is the one async step between runModule and the node's
// work, the same promise chain as the histories recorded before the split (replay depends on it).
function runKind(run: PipelineRun, m: Module, scope: Scope): Promise<unknown> {
  const v = m.value;
  switch (v.type) {
    case 'activity':
      return runActivityNode(run, m, v, scope);
    case 'workflow':
      return runWorkflowNode(run, m, v, scope);
    case 'forloopflow':
      return runForLoopNode(run, m, v, scope);
    case 'branchone':
      return runBranchOneNode(run, m, v, scope);
    case 'branchall':
      return runBranchAllNode(run, m, v, scope);
    case 'suspend':
      return runSuspendNode(run, m, v);
    case 'sleep':
      return runSleepNode(run, m, v, scope);
    case 'checks':
      return runChecksNode(run, m, v, scope);
  }
}

import type { QualityChecksResult } from '../../../common/checks.js';
import { ErrorType } from '../../../common/errors.js';
import { nodeFailure } from '../../../common/pipeline/node-io.js';
import type { InputTransform, Module } from '../../../common/pipeline/spec.js';
import type { NodeValue, PipelineRun, Scope } from '../state.js';
import { runWorkflowNode } from './workflow.js';

/** What a checks node gives the nodes after it: counts and check ids, never rows. */
export interface ChecksNodeOutput {
  /** The qualityChecksWorkflow run: its results are in check_results under this id. */
  runId: string;
  checks: number;
  passed: number;
  failed: number;
  errored: number;
  /** `dataset/check` of every check that did not pass (the first 50). */
  notPassing: string[];
}

const LISTED = 50;

/**
 * Runs the scope's checks as a child qualityChecksWorkflow (retried per the node's `retry`, like
 * a workflow node), then gates on them: a blocking check that failed or errored, or a dataset
 * whose checks could not run at all, fails the node for good. A retry would check the same data.
 */
export async function runChecksNode(run: PipelineRun, m: Module, v: NodeValue<'checks'>, scope: Scope): Promise<ChecksNodeOutput> {
  const input = { dataset: v.dataset, team: v.team, checks: v.checks };
  const child: NodeValue<'workflow'> = {
    type: 'workflow',
    name: 'qualityChecksWorkflow',
    // The pipeline's own child, not quality-checks:<dataset>: the sync just before has most likely
    // started that one (fire-and-forget), and two runs under one id cannot both start.
    workflow_id: { type: 'static', value: `${run.workflowId}/${m.id}${scope.iteration ?? ''}` },
    input_transforms: Object.fromEntries(
      Object.entries(input)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]): [string, InputTransform] => [key, { type: 'static', value }]),
    ),
  };
  const result = (await runWorkflowNode(run, m, child, scope)) as QualityChecksResult;
  const blocking = [...result.blockingFailed, ...result.unchecked.map((u) => `${u.dataset} (not checked: ${u.reason.slice(0, 200)})`)];
  const counts = `${result.checks} checks, ${result.failed} failed, ${result.errored} errored; run ${result.runId}`;
  if (blocking.length > 0) {
    const shown = blocking.slice(0, LISTED).join(', ') + (blocking.length > LISTED ? ` and ${blocking.length - LISTED} more` : '');
    throw nodeFailure(m.id, `blocking checks failed: ${shown} (${counts})`, ErrorType.checksBlocking, true);
  }
  const notPassing = result.datasets.flatMap((d) => d.failedIds.map((id) => `${d.dataset}/${id}`));
  return {
    runId: result.runId,
    checks: result.checks,
    passed: result.passed,
    failed: result.failed,
    errored: result.errored,
    notPassing: notPassing.slice(0, LISTED),
  };
}

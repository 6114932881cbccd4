import { ApplicationFailure, condition } from '@temporalio/workflow';
import { ErrorType } from '../../../common/errors.js';
import type { ApprovalDecision, ApprovalRequest, Module } from '../../../common/pipeline/spec.js';
import { setNode, type NodeValue, type PipelineRun } from '../state.js';

/** Waits for a person's `approve` update, or the timeout; a rejection fails the node unless `continue_on_reject`. */
export async function runSuspendNode(run: PipelineRun, m: Module, v: NodeValue<'suspend'>): Promise<unknown> {
  const { approvals, progress } = run;
  approvals.set(m.id, undefined);
  progress.waitingForApproval.push(m.id);
  setNode(run, m.id, { status: 'waiting' });
  const decided = await condition(() => approvals.get(m.id) !== undefined, v.timeout);
  progress.waitingForApproval = progress.waitingForApproval.filter((n) => n !== m.id);
  const decision: ApprovalDecision = decided
    ? approvals.get(m.id)!
    : { node: m.id, approved: v.on_timeout === 'approve', by: null, timedOut: true, at: new Date().toISOString() };
  approvals.set(m.id, decision);
  setNode(run, m.id, { status: 'running', decidedBy: decision.by });
  if (!decision.approved && !v.continue_on_reject) {
    const who = decision.timedOut ? `nobody decided within ${v.timeout / 1000} s` : `rejected by ${decision.by}`;
    throw ApplicationFailure.nonRetryable(`${who}${decision.comment ? `: ${decision.comment}` : ''}`, ErrorType.pipelineApprovalRejected);
  }
  return decision;
}

/** The `approve` update's validator: a named person, for a node that is waiting, with a payload its resume form accepts. */
export function checkDecision({ approvals, approvalEvents }: PipelineRun, request: ApprovalRequest): void {
  if (typeof request?.by !== 'string' || request.by.trim() === '' || request.by.length > 200) {
    throw new Error('by: who decides, 1 to 200 characters');
  }
  if (!approvals.has(request.node) || approvals.get(request.node) !== undefined) {
    const waiting = [...approvals].filter(([, d]) => d === undefined).map(([n]) => n);
    throw new Error(`node ${String(request.node)} is not waiting for approval (waiting: ${waiting.join(', ') || 'none'})`);
  }
  const check = approvalEvents.get(request.node)?.checkPayload;
  const problems = check && request.approved !== false ? check(request.payload ?? {}) : [];
  if (problems.length > 0) throw new Error(`payload does not fit the resume form of ${request.node}: ${problems.join('; ')}`);
}

/**
 * The `approve` update: records the decision the waiting node reads. A step that needs several
 * events (OpenFlow's `required_events`) is decided by the first rejection or the last approval.
 */
export function decide({ approvals, approvalEvents }: PipelineRun, request: ApprovalRequest): ApprovalDecision {
  const decision: ApprovalDecision = {
    node: request.node,
    approved: request.approved ?? true,
    by: request.by,
    ...(request.comment !== undefined ? { comment: request.comment } : {}),
    ...(request.payload !== undefined ? { payload: request.payload } : {}),
    timedOut: false,
    at: new Date().toISOString(),
  };
  const wait = approvalEvents.get(request.node);
  wait?.events.push(decision);
  if (!wait || !decision.approved || wait.events.length >= wait.required) approvals.set(request.node, decision);
  return decision;
}

import { ApplicationFailure, condition } from '@temporalio/workflow';
import { ErrorType } from '../../../common/errors.js';
import { compileInputSchema } from '../../../common/openflow/input-schema.js';
import type { FlowModule, InputTransform } from '../../../common/openflow/schema.js';
import { badValue } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import { kindOf } from '../failures.js';
import { runSleepNode } from '../nodes/sleep.js';
import { setNode, type ApprovalEvents } from '../state.js';
import { evaluateOne, type FlowRun, type FlowScope } from './scope.js';

/** Windmill's default wait for an approval: 30 minutes. */
const DEFAULT_SUSPEND_SECONDS = 1_800;

/** What the step after a suspended one reads, by Windmill's names. */
export interface Resumed {
  /** The last event's payload (its resume form's values). */
  resume: unknown;
  resumes: unknown[];
  approvers: string[];
}

/** The pipeline node a step option runs as: sleep reuses the pipeline's own node. */
function asNode(m: FlowModule, value: Module['value']): Module {
  return { id: m.id, ...(m.summary ? { summary: m.summary } : {}), after: [], continue_on_error: false, value };
}

interface Suspend {
  required_events?: number;
  timeout?: number;
  resume_form?: { schema?: Record<string, unknown> };
  continue_on_disapprove_timeout?: boolean;
}

/**
 * Windmill's suspend: the step waits for `required_events` approvals (`approve` updates, each
 * payload checked against the resume form) until its timeout. A rejection or the timeout fails
 * the step, or with `continue_on_disapprove_timeout` adds Windmill's `{ error }` as the last
 * resume and goes on.
 */
async function awaitApprovals(run: FlowRun, id: string, suspend: Suspend): Promise<Resumed> {
  const timeoutMs = (suspend.timeout ?? DEFAULT_SUSPEND_SECONDS) * 1000;
  const schema = suspend.resume_form?.schema;
  const wait: ApprovalEvents = {
    required: Math.max(1, suspend.required_events ?? 1),
    events: [],
    ...(schema ? { checkPayload: compileInputSchema(schema) } : {}),
  };
  run.approvalEvents.set(id, wait);
  run.approvals.set(id, undefined);
  run.progress.waitingForApproval.push(id);
  setNode(run, id, { status: 'waiting' });
  const decided = await condition(() => run.approvals.get(id) !== undefined, timeoutMs);
  run.progress.waitingForApproval = run.progress.waitingForApproval.filter((n) => n !== id);
  const approvals = wait.events.filter((e) => e.approved);
  const rejection = wait.events.find((e) => !e.approved);
  const resumes = approvals.map((e) => e.payload ?? {});
  if (!decided) run.approvals.set(id, { node: id, approved: false, by: null, timedOut: true, at: new Date().toISOString() });
  setNode(run, id, { status: 'running', decidedBy: rejection?.by ?? approvals.at(-1)?.by ?? null });
  if (rejection || !decided) {
    const error = rejection
      ? { name: 'SuspendedDisapproved', message: `Disapproved by ${rejection.by}${rejection.comment ? `: ${rejection.comment}` : ''}` }
      : { name: 'SuspendedTimedOut', message: `Timed out waiting to be resumed (${wait.events.length} of ${wait.required} approvals)` };
    if (!suspend.continue_on_disapprove_timeout) throw ApplicationFailure.nonRetryable(error.message, ErrorType.pipelineApprovalRejected);
    resumes.push({ error });
  }
  return { resume: resumes.at(-1), resumes, approvers: approvals.map((e) => e.by ?? 'anonymous') };
}

/**
 * After the step, as Windmill orders them: `suspend` waits for its approvals, then `sleep` waits
 * its seconds. Gives what the next step reads of the approvals, if the step was suspended.
 */
export async function pauseAfter(run: FlowRun, m: FlowModule, scope: FlowScope, result: unknown): Promise<Resumed | undefined> {
  const resumed = m.suspend ? await awaitApprovals(run, m.id, m.suspend as Suspend) : undefined;
  if (m.sleep) {
    const seconds = await evaluateOne(run, m.id, 'sleep', m.sleep as InputTransform, { ...scope, previous_result: result });
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
      throw badValue(m.id, 'sleep', `must give a number of seconds, not ${kindOf(seconds)}`);
    const duration = Math.round(seconds * 1000);
    await runSleepNode(
      run,
      asNode(m, { type: 'sleep', duration }),
      { type: 'sleep', duration },
      {
        input: scope.flow_input,
        nodes: {},
        ...(scope.iteration !== undefined ? { iteration: scope.iteration } : {}),
      },
    );
  }
  return resumed;
}

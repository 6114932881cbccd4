import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createFlowExpressionActivities } from '../../activities/pipeline/flow-expressions.js';
import { readFlow } from '../../cli/flow-files.js';
import type { ApprovalRequest } from '../../common/pipeline/spec.js';
import { eventually, useStubWorker } from './support/environment.js';

// OpenFlow suspends with Windmill's meaning (fixture: test/fixtures/openflow/run/approve-two.yaml,
// which names its sources): required_events, the resume form, resume / resumes / approvers, and
// continue_on_disapprove_timeout.

interface Result {
  outputs: Record<string, { label: string; value: { resume: unknown; resumes: unknown[]; approvers: string[] } }>;
}

describe('OpenFlow approvals', () => {
  const t = useStubWorker(['record'], createFlowExpressionActivities());
  t.use({ record: async (input: { label: string; value?: unknown }) => ({ label: input.label, value: input.value ?? null }) });

  const start = async (id: string) => {
    const r = await readFlow('test/fixtures/openflow/run/approve-two.yaml');
    expect(r.problems).toEqual([]);
    const handle = await t.client.workflow.start('pipelineWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId(`pipeline:${id}`),
      args: [{ id, openflow: structuredClone(r.flow), scripts: { 'f/shop/record': { activity: 'record' } }, input: {} }],
    });
    await eventually(
      () => handle.query<{ waitingForApproval: string[] }>('progress'),
      (p) => p.waitingForApproval.includes('propose'),
      'propose waiting',
    );
    return handle;
  };
  /** The validator's message of an update the workflow refused. */
  const refusal = async (update: Promise<unknown>): Promise<string | undefined> => {
    const err = await update.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message;
  };
  const approve = (by: string, payload: unknown): { args: [ApprovalRequest] } => ({ args: [{ node: 'propose', by, payload }] });

  it('waits for two approvals, refusing a payload its resume form does not accept; the next step reads them all', async () => {
    const handle = await start('discount-approved');
    expect(await refusal(handle.executeUpdate('approve', approve('alice@example.com', { discount: 80 })))).toBe(
      'payload does not fit the resume form of propose: discount: must be <= 50',
    );
    expect(await refusal(handle.executeUpdate('approve', approve('alice@example.com', {})))).toBe(
      "payload does not fit the resume form of propose: discount: must have required property 'discount'",
    );
    await handle.executeUpdate('approve', approve('alice@example.com', { discount: 10 }));
    // One of two: still waiting.
    expect((await handle.query<{ waitingForApproval: string[] }>('progress')).waitingForApproval).toEqual(['propose']);
    await handle.executeUpdate('approve', approve('bob@example.com', { discount: 20 }));
    const result = (await handle.result()) as Result;
    expect(result.outputs.apply!.value).toEqual({
      resume: { discount: 20 },
      resumes: [{ discount: 10 }, { discount: 20 }],
      approvers: ['alice@example.com', 'bob@example.com'],
    });
  });

  it('goes on after a disapproval with continue_on_disapprove_timeout, the error as the last resume', async () => {
    const handle = await start('discount-disapproved');
    await handle.executeUpdate('approve', approve('alice@example.com', { discount: 10 }));
    await handle.executeUpdate('approve', {
      args: [{ node: 'propose', by: 'carol@example.com', approved: false, comment: 'too generous' }],
    });
    const result = (await handle.result()) as Result;
    expect(result.outputs.apply!.value).toEqual({
      resume: { error: { name: 'SuspendedDisapproved', message: 'Disapproved by carol@example.com: too generous' } },
      resumes: [{ discount: 10 }, { error: { name: 'SuspendedDisapproved', message: 'Disapproved by carol@example.com: too generous' } }],
      approvers: ['alice@example.com'],
    });
  });

  it('goes on after the timeout with continue_on_disapprove_timeout, counting the approvals it had', async () => {
    const handle = await start('discount-timeout');
    await handle.executeUpdate('approve', approve('alice@example.com', { discount: 5 }));
    const result = (await handle.result()) as Result; // the time-skipping server skips the hour
    expect(result.outputs.apply!.value).toEqual({
      resume: { error: { name: 'SuspendedTimedOut', message: 'Timed out waiting to be resumed (1 of 2 approvals)' } },
      resumes: [{ discount: 5 }, { error: { name: 'SuspendedTimedOut', message: 'Timed out waiting to be resumed (1 of 2 approvals)' } }],
      approvers: ['alice@example.com'],
    });
  });
});

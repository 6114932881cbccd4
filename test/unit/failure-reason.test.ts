import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureOnTop, reasonOf, reasonText } from '../../workflows/support/failure-reason.js';

const inActivity = (cause: Error, activityType = 'planSync') =>
  new ActivityFailure('Activity task failed', activityType, '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);
const inChild = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'sync-shop.orders', runId: 'r1' },
    'syncWorkflow',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );

describe('the reason on top of a failure', () => {
  it("is an activity's own error type and message, however deep", () => {
    const own = ApplicationFailure.nonRetryable('password authentication failed for user "reader"', 'AuthenticationFailed');
    expect(reasonOf(inChild(inActivity(own)))).toEqual({ type: 'AuthenticationFailed', message: own.message });
    expect(reasonText(inActivity(own))).toBe('AuthenticationFailed: password authentication failed for user "reader"');
  });

  it('names the kind of timeout and the activity that timed out', () => {
    const timedOut = inActivity(new TimeoutFailure(undefined, undefined, 'HEARTBEAT'), 'copyChunk');
    expect(reasonText(timedOut)).toBe('HeartbeatTimeout: activity copyChunk timed out');
    expect(reasonText(inChild(new TerminatedFailure('Terminated')))).toBe('Terminated: child workflow sync-shop.orders was terminated');
  });

  it('says the type once when a failure that already carries it is passed up again', () => {
    const child = ApplicationFailure.nonRetryable('UnknownDataset: no dataset shop.gone', 'UnknownDataset');
    expect(reasonText(inChild(child))).toBe('UnknownDataset: no dataset shop.gone');
  });

  it('ends a workflow with the underlying type, its retryability and details, the chain kept as cause', () => {
    const own = ApplicationFailure.create({ message: 'some recipients refused', type: 'DigestSendFailed', details: [{ refused: 2 }] });
    const wrapped = inActivity(own, 'deliverDigestPage');
    const top = failureOnTop(wrapped) as ApplicationFailure;
    expect(top).toBeInstanceOf(ApplicationFailure);
    expect([top.type, top.message, top.nonRetryable]).toEqual(['DigestSendFailed', 'DigestSendFailed: some recipients refused', false]);
    expect(top.details).toEqual([{ refused: 2 }]);
    expect(top.cause).toBe(wrapped);
    expect((failureOnTop(inActivity(ApplicationFailure.nonRetryable('x', 'MissingTable'))) as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('leaves a cancellation and an error that is no Temporal failure as they are', () => {
    const cancelled = new CancelledFailure('cancelled');
    expect(failureOnTop(cancelled)).toBe(cancelled);
    expect(failureOnTop(inActivity(cancelled))).toBeInstanceOf(ActivityFailure);
    const bug = new TypeError('x is undefined');
    expect(failureOnTop(bug)).toBe(bug);
  });
});

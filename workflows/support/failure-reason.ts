import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  isCancellation,
} from '@temporalio/workflow';

/**
 * Why a step failed, in the words of what failed: an activity's or child's own error rather
 * than "Activity task failed" or "Child Workflow execution failed". Every workflow puts this
 * reason on top of its failure, and every partition and pipeline node records it.
 */
export interface FailureReason {
  /** The error's type: an ApplicationFailure's type, or the kind of timeout or termination. */
  type: string;
  message: string;
}

/** The failure under the activity and child-workflow wrappers. */
export function innermostFailure(err: unknown): unknown {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e;
}

const TIMEOUT_TYPES: Record<string, string> = {
  START_TO_CLOSE: 'StartToCloseTimeout',
  SCHEDULE_TO_START: 'ScheduleToStartTimeout',
  SCHEDULE_TO_CLOSE: 'ScheduleToCloseTimeout',
  HEARTBEAT: 'HeartbeatTimeout',
};

export function reasonOf(err: unknown): FailureReason {
  const inner = innermostFailure(err);
  if (inner instanceof ApplicationFailure) return { type: inner.type ?? 'Error', message: inner.message };
  if (inner instanceof TimeoutFailure) {
    const what =
      err instanceof ActivityFailure
        ? `activity ${err.activityType}`
        : err instanceof ChildWorkflowFailure
          ? `child workflow ${err.execution.workflowId}`
          : 'the step';
    return { type: (inner.timeoutType && TIMEOUT_TYPES[inner.timeoutType]) || 'Timeout', message: `${what} timed out` };
  }
  if (inner instanceof TerminatedFailure) {
    const what = err instanceof ChildWorkflowFailure ? `child workflow ${err.execution.workflowId}` : 'the step';
    return { type: 'Terminated', message: `${what} was terminated` };
  }
  if (inner instanceof Error) return { type: inner.name, message: inner.message };
  return { type: 'Error', message: String(inner) };
}

/** `AuthenticationFailed: password authentication failed for user "reader"` — said once, even when passed up twice. */
export function reasonText(err: unknown): string {
  const { type, message } = reasonOf(err);
  return message.startsWith(`${type}: `) ? message : `${type}: ${message}`;
}

/**
 * The failure a workflow ends with: an ApplicationFailure of the underlying type whose message is
 * the reason, with the whole chain kept as its cause. A cancellation stays one (the run ends
 * cancelled), and an error that is no Temporal failure is returned as it is, so that it fails the
 * workflow task and is retried after a fix rather than failing the run.
 */
export function failureOnTop(err: unknown): unknown {
  if (isCancellation(err) || !(err instanceof TemporalFailure)) return err;
  const inner = innermostFailure(err);
  const { type } = reasonOf(err);
  return ApplicationFailure.create({
    type,
    message: reasonText(err),
    nonRetryable: inner instanceof ApplicationFailure && inner.nonRetryable === true,
    ...(inner instanceof ApplicationFailure && inner.details ? { details: inner.details } : {}),
    cause: err,
  });
}

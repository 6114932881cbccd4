import { Context } from '@temporalio/activity';

/** The running activity's context; undefined outside a worker (a bench or a direct call). */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats when called inside an activity, and does nothing elsewhere. */
export function heartbeat(details: Record<string, unknown>): void {
  activityContext()?.heartbeat(details);
}

import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestServer } from './test-server.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { SUGGEST_CONTINUE_AS_NEW_AT } from './suggest-continue-as-new.js';

type StubFn = (...args: never[]) => Promise<unknown>;
let runtimeInstalled = false;

/**
 * A time-skipping test server of the file's own and one worker of the shared bundle for
 * the test file (hooks registered here). The worker's activities call the stubs the current test gave to `use`, so each
 * test states its own activities without paying for a worker of its own. `unrecorded` activities
 * (the dataset lease, say) serve every test of the file and stay out of its recorded calls.
 */
export function useStubWorker(activityNames: readonly string[], unrecorded: Record<string, StubFn> = {}) {
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let current: Record<string, StubFn> = {};
  const taskQueue = `wf-test-${randomUUID().slice(0, 8)}`;
  const activities = Object.fromEntries([
    ...Object.entries(unrecorded),
    ...activityNames.map((name) => [
      name,
      (...args: never[]) => {
        const stub = current[name];
        if (!stub) throw ApplicationFailure.nonRetryable(`this test gave no stub for ${name}`, 'NoStub');
        return stub(...args);
      },
    ]),
  ]);

  beforeAll(async () => {
    runtimeInstalled ||= (Runtime.install({ logger: new DefaultLogger('ERROR') }), true); // once per process: files may share one
    env = await startTestServer();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities,
      // Heartbeats reach the server at once, so a stub learns of a cancellation within a moment.
      maxHeartbeatThrottleInterval: '50 ms',
      defaultHeartbeatThrottleInterval: '50 ms',
    });
    running = worker.run();
  });
  afterAll(async () => {
    if (env) await terminateOpenRuns(env);
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  let n = 0;
  return {
    taskQueue,
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('the test server is not up yet');
      return env;
    },
    get client(): Client {
      return this.env.client;
    },
    /** A workflow id of its own for each run a test starts. */
    workflowId: (prefix: string) => `${prefix}-${++n}-${randomUUID().slice(0, 6)}`,
    /** The activities of the runs the test starts next: recorded in order, see `recorder`. */
    use<T extends Record<string, StubFn>>(stubs: T) {
      const rec = recorder();
      current = rec.record(stubs);
      return rec;
    },
  };
}

/**
 * Ends every run this file left open. The test server stops skipping time while any workflow or
 * activity task is waiting for a worker, so a run left behind would keep the file's later
 * timers and retry backoffs waiting in real time.
 */
async function terminateOpenRuns(env: TestWorkflowEnvironment): Promise<void> {
  const { executions } = await env.client.workflowService.listOpenWorkflowExecutions({ namespace: 'default', maximumPageSize: 1000 });
  await Promise.all(
    executions.map(
      ({ execution }) =>
        env.client.workflow
          .getHandle(execution?.workflowId ?? '', execution?.runId ?? undefined)
          .terminate('its test file ended')
          .catch(() => undefined), // closed meanwhile
    ),
  );
}

/**
 * Seconds of the server's clock (time skipped included) from the first event carrying `from`
 * attributes to the first carrying `to` (e.g. 'activityTaskScheduledEventAttributes').
 */
export async function serverSecondsBetween(handle: WorkflowHandle, from: string, to: string): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const timeOf = (attributes: string) => {
    const event = events.find((e) => (e as Record<string, unknown>)[attributes]);
    if (!event?.eventTime) throw new Error(`no event with ${attributes} in the history of ${handle.workflowId}`);
    return Number(event.eventTime.seconds) + (event.eventTime.nanos ?? 0) / 1e9;
  };
  return timeOf(to) - timeOf(from);
}

/** The durations, in seconds, of the durable timers a run started, in the order it started them. */
export async function timersStarted(handle: WorkflowHandle): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
    return timeout ? [Number(timeout.seconds ?? 0) + (timeout.nanos ?? 0) / 1e9] : [];
  });
}

/** Start options that make the run see `continueAsNewSuggested` once its history has `events` events. */
export const suggestContinueAsNewAt = (events: number) => ({ memo: { [SUGGEST_CONTINUE_AS_NEW_AT]: events } });

/** Search attributes by their names as an operator types them in the Web UI. */
export const Attr = {
  kind: defineSearchAttributeKey('SpokeflowKind', SearchAttributeType.KEYWORD),
  dataset: defineSearchAttributeKey('SpokeflowDataset', SearchAttributeType.KEYWORD),
  team: defineSearchAttributeKey('SpokeflowTeam', SearchAttributeType.KEYWORD),
  partition: defineSearchAttributeKey('SpokeflowPartition', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('SpokeflowOutcome', SearchAttributeType.KEYWORD),
  rows: defineSearchAttributeKey('SpokeflowRows', SearchAttributeType.INT),
} as const;

/** The run's search attributes, read back from the server. */
export async function searchAttributesOf(handle: WorkflowHandle): Promise<Record<string, unknown>> {
  const { typedSearchAttributes } = await handle.describe();
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(Attr)) {
    const value = typedSearchAttributes.get(key as typeof Attr.kind);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The workflow's failure cause, which an operator reads first. */
export async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** Real time, for stubs that stand for slow work (the test server does not skip time while an activity runs). */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Stub work that lasts until the test lets it go. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** An activity stub's body that heartbeats until its cancellation arrives (then throws it). */
export async function untilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(20);
  }
}

/** Polls `read` (a query, say) until `holds`. */
export async function eventually<T>(read: () => Promise<T>, holds: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await read();
    if (holds(value)) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

/** Stub activities that record every call, by name, in order. */
export function recorder() {
  const calls: { name: string; args: unknown[] }[] = [];
  return {
    calls,
    names: () => calls.map((c) => c.name),
    argsOf: (name: string) => calls.filter((c) => c.name === name).map((c) => c.args),
    /** Wraps stubs so each call is recorded before it runs. */
    record<T extends Record<string, StubFn>>(stubs: T): T {
      return Object.fromEntries(
        Object.entries(stubs).map(([name, fn]) => [
          name,
          (...args: never[]) => {
            calls.push({ name, args: structuredClone(args) });
            return fn(...args);
          },
        ]),
      ) as T;
    },
  };
}

import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { createFlowExpressionActivities } from '../../activities/pipeline/flow-expressions.js';
import { readFlow } from '../../cli/flow-files.js';
import { readFlowTable } from '../../cli/flow-run.js';
import type { FlowTable } from '../../common/openflow/run.js';
import { eventually, failureOf, pause, serverSecondsBetween, timersStarted, useStubWorker } from './support/environment.js';

// OpenFlow files run by pipelineWorkflow with Windmill's order and options, their scripts mapped
// to stub activities. Fixtures: test/fixtures/openflow/run/ (each names the Windmill flow it follows).

interface Result {
  status: 'succeeded';
  outputs: Record<string, unknown>;
  nodes: Record<string, { kind?: string; status: string; branch?: number; attempts?: number }>;
  result: unknown;
  stopped?: { step: string; skipped: boolean };
}

const flowOf = async (name: string): Promise<Record<string, unknown>> => {
  const r = await readFlow(`test/fixtures/openflow/run/${name}`);
  expect(r.problems).toEqual([]);
  return structuredClone(r.flow) as unknown as Record<string, unknown>;
};

/** Each call's start and end, in real time, so a test can tell one-after-another from at-once. */
function timeline() {
  const events: string[] = [];
  const flakyCalls = new Map<string, number>();
  return {
    events,
    starts: () => events.filter((e) => e.startsWith('start ')).map((e) => e.slice(6)),
    stubs: {
      record: async (input: { label: string; value?: unknown }) => {
        events.push(`start ${input.label}`);
        await pause(150);
        events.push(`end ${input.label}`);
        return { label: input.label, value: input.value ?? null };
      },
      maybeFail: async (input: { label: string; fail: boolean }) => {
        events.push(`start ${input.label}`);
        if (input.fail) throw ApplicationFailure.nonRetryable(`${input.label} failed as asked`, 'TestFailure');
        return { label: input.label };
      },
      /** Fails its first `times` calls per key, retryably. */
      flaky: async (input: { key: string; times: number }) => {
        const n = (flakyCalls.get(input.key) ?? 0) + 1;
        flakyCalls.set(input.key, n);
        if (n <= input.times) throw new Error(`flaky ${input.key} attempt ${n}`);
        return { attempts: n };
      },
    },
  };
}

const SCRIPTS = {
  'f/shop/record': { activity: 'record' },
  'f/feed/fetch': { activity: 'flaky' },
  'f/feed/record': { activity: 'record' },
  'f/batch/record': { activity: 'record' },
  'f/report/record': { activity: 'record' },
  'f/report/maybe_fail': { activity: 'maybeFail' },
  'f/ledger/record': { activity: 'record' },
  'f/poll/record': { activity: 'record' },
};

/** True when `a` ended before `b` started. */
const before = (events: string[], a: string, b: string) => events.indexOf(`end ${a}`) < events.indexOf(`start ${b}`);

describe('OpenFlow files on pipelineWorkflow, in Windmill order', () => {
  const t = useStubWorker(['record', 'maybeFail', 'flaky'], createFlowExpressionActivities());
  const start = (id: string, openflow: Record<string, unknown>, input: Record<string, unknown> = {}, flows: FlowTable = {}) =>
    t.client.workflow.start('pipelineWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId(`pipeline:${id}`),
      args: [{ id, openflow, scripts: SCRIPTS, flows, input, task_queues: { ingestion: t.taskQueue } }],
    });
  const WORKSPACE = 'test/fixtures/openflow/workspace';
  const restock = async () => {
    const r = await readFlow(`${WORKSPACE}/f/shop/restock.flow.yaml`);
    expect(r.problems).toEqual([]);
    return { flow: structuredClone(r.flow) as unknown as Record<string, unknown>, flows: await readFlowTable(r.flow!, WORKSPACE) };
  };

  it('runs a list top to bottom, a for-loop one at a time, branchall branches at once, branchone the first match', async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('order', await flowOf('order.yaml'), { shelves: ['a', 'b', 'c'] });
    const result = (await handle.result()) as Result;
    expect(line.starts()).toEqual(['count', 'check', 'fill-a', 'fill-b', 'fill-c', ...line.starts().slice(5, 7), 'many']);
    expect(line.starts().slice(5, 7).sort()).toEqual(['left', 'right']);
    const e = line.events;
    // The list and the loop: each starts after the one before ended (no step names what it waits for).
    for (const [a, b] of [
      ['count', 'check'],
      ['check', 'fill-a'],
      ['fill-a', 'fill-b'],
      ['fill-b', 'fill-c'],
      ['fill-c', 'left'],
      ['fill-c', 'right'],
    ])
      expect(before(e, a!, b!), `${a} before ${b}`).toBe(true);
    // branchall (parallel: true): both branches started before either ended.
    expect(before(e, 'left', 'right') || before(e, 'right', 'left')).toBe(false);
    expect(result.outputs.check).toEqual({ label: 'check', value: 30 }); // previous_result.value * 10
    expect(result.outputs.each_shelf).toEqual([0, 1, 2].map((i) => ({ label: `fill-${'abc'[i]}`, value: i })));
    expect(result.outputs.both_sides).toEqual([
      { label: 'left', value: null },
      { label: 'right', value: null },
    ]);
    expect(result.nodes.route).toMatchObject({ status: 'succeeded', branch: 0 });
    expect(result.nodes.left).toMatchObject({ kind: 'script', status: 'succeeded' }); // a branch's step by its own id and type
    expect(result.outputs.same).toEqual({ label: 'many', value: null }); // identity passes previous_result on
    expect(result.result).toEqual(result.outputs.same);
  });

  it('runs a for-loop at once only with parallel: true (bounded by parallelism), branchall in order with parallel: false', async () => {
    const line = timeline();
    t.use(line.stubs);
    const flow = await flowOf('order.yaml');
    const modules = (flow.value as { modules: { id: string; value: Record<string, unknown> }[] }).modules;
    Object.assign(modules.find((m) => m.id === 'each_shelf')!.value, { parallel: true, parallelism: 2 });
    Object.assign(modules.find((m) => m.id === 'both_sides')!.value, { parallel: false });
    const result = (await (await start('order-parallel', flow, { shelves: ['a', 'b', 'c'] })).result()) as Result;
    const e = line.events;
    expect(before(e, 'fill-a', 'fill-b') || before(e, 'fill-b', 'fill-a')).toBe(false); // two at once
    expect(before(e, 'fill-a', 'fill-c') || before(e, 'fill-b', 'fill-c')).toBe(true); // the third waits for a lane
    expect(before(e, 'left', 'right')).toBe(true);
    expect(result.outputs.each_shelf).toHaveLength(3);
  });

  it("waits between attempts exactly as Windmill's formula says: constant, then multiplier * seconds ^ k", async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('retry', await flowOf('retry-sleep.yaml'), { key: 'r1', failures: 4 });
    const result = (await handle.result()) as Result;
    expect(result.outputs.fetch).toEqual({ attempts: 5 });
    expect(result.nodes.fetch).toMatchObject({ status: 'succeeded', attempts: 5 });
    const events = (await handle.fetchHistory()).events ?? [];
    const secondsOf = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) + (e.eventTime!.nanos ?? 0) / 1e9;
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'flaky').map(secondsOf);
    expect(scheduled).toHaveLength(5); // one Temporal attempt each: the retries are the workflow's
    const gaps = scheduled.slice(1).map((s, i) => s - scheduled[i]!);
    const expected = [5, 5, 2 * 3 ** 1, 2 * 3 ** 2];
    gaps.forEach((g, i) => expect(g, `wait before attempt ${i + 2}`).toBeGreaterThanOrEqual(expected[i]!));
    gaps.forEach((g, i) => expect(g, `wait before attempt ${i + 2}`).toBeLessThan(expected[i]! + 1));
    // sleep: 30 runs after the step, before the next one is scheduled.
    const done = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'record')!;
    expect(secondsOf(done) - scheduled[4]!).toBeGreaterThanOrEqual(30);
  });

  it('fails once the retries are spent, and does not retry a step without retry', async () => {
    const line = timeline();
    t.use(line.stubs);
    const spent = await failureOf((await start('retry-spent', await flowOf('retry-sleep.yaml'), { key: 'r2', failures: 9 })).result());
    expect(spent.message).toMatch(/^step fetch failed: .*flaky r2 attempt 5/);
    const flow = await flowOf('retry-sleep.yaml');
    delete (flow.value as { modules: Record<string, unknown>[] }).modules[0]!.retry;
    const once = await start('retry-none', flow, { key: 'r3', failures: 1 });
    expect((await failureOf(once.result())).message).toMatch(/flaky r3 attempt 1/);
    const attempts = ((await once.fetchHistory()).events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'flaky',
    );
    expect(attempts).toHaveLength(1);
  });

  it('skips a step whose skip_if holds, keeping previous_result, and stops the flow when stop_after_if holds', async () => {
    const line = timeline();
    t.use(line.stubs);
    const flow = await flowOf('stop-skip.yaml');
    const full = (await (await start('stop-none', flow, { items: [1], mode: 'go', audit: false })).result()) as Result;
    expect(line.starts()).toEqual(['list', 'guard', 'process']);
    expect(full.nodes.audit?.status).toBe('skipped');
    expect(full.outputs.audit).toBeNull();
    expect(full.outputs.process).toEqual({ label: 'process', value: 'unaudited' });
    expect(full.stopped).toBeUndefined();

    line.events.length = 0;
    const stopped = (await (await start('stop-empty', flow, { items: [], mode: 'go', audit: true })).result()) as Result;
    expect(line.starts()).toEqual(['list']);
    expect(stopped.stopped).toEqual({ step: 'list', skipped: true });
    expect(stopped.result).toBeNull(); // skip_if_stopped: the flow ends as skipped
    expect(stopped.nodes.process?.status).toBe('skipped');

    line.events.length = 0;
    const failed = await failureOf((await start('stop-error', flow, { items: [1], mode: 'fail' })).result());
    expect(failed.message).toBe('step guard failed: nothing to process'); // error_message: the flow fails with it
    expect(line.starts()).toEqual(['list', 'guard']);
  });

  it('runs the failure module with error and the failed step id; continue_on_error keeps the error as the result', async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('failure', await flowOf('failure-module.yaml'));
    const failure = await failureOf(handle.result());
    expect(failure.message).toBe('step publish failed: TestFailure: publish failed as asked');
    expect(failure.type).toBe('TestFailure');
    expect(line.starts()).toEqual(['draft', 'publish', 'alert']);
    const details = failure.details?.[0] as { failedNode: string; outputs: Record<string, unknown> };
    expect(details.failedNode).toBe('publish');
    expect(details.outputs.draft).toEqual({
      error: { message: 'TestFailure: draft failed as asked', name: 'TestFailure', step_id: 'draft' },
    });
    const alert = line.events.includes('end alert') ? details.outputs.failure : undefined;
    expect(alert).toEqual({ label: 'alert', value: { step: 'publish', message: 'TestFailure: publish failed as asked', seen: 'publish' } });
  });

  it('chains five scripts through results.<id>, as a workspace flow kept in git does', async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('expenses', await flowOf('expenses.yaml'), { receipts: ['cafe:4', 'rail:80', 'shop:12'], max: 2 });
    const result = (await handle.result()) as Result;
    expect(line.starts()).toEqual(['fetch', 'parse', 'categorize', 'upload', 'mark']);
    expect(result.outputs.categorize).toEqual({
      label: 'categorize',
      value: [
        { amount: 4, shop: 'cafe', category: 'small' },
        { amount: 80, shop: 'rail', category: 'large' },
      ],
    });
    expect(result.outputs.upload).toEqual({ label: 'upload', value: 2 });
    expect(result.result).toEqual({ label: 'mark', value: [] }); // results.upload.receipt_ids || []
  });

  it(
    'suspends after the step until approved (the next step reads approvers), and fails when nobody decides in time',
    { timeout: 90_000 },
    async () => {
      const line = timeline();
      t.use(line.stubs);
      const flow = await flowOf('approve.yaml');
      const approved = await start('approve-yes', flow);
      await eventually(
        () => approved.query<{ waitingForApproval: string[] }>('progress'),
        (p) => p.waitingForApproval.includes('review'),
        'review waiting',
      );
      expect(line.starts()).toEqual(['review']); // the step ran first; the wait is after it
      await approved.executeUpdate('approve', { args: [{ node: 'review', by: 'alice@example.com' }] });
      expect(((await approved.result()) as Result).outputs.publish).toEqual({ label: 'publish', value: 'alice@example.com' });

      line.events.length = 0;
      const ignored = await start('approve-nobody', flow);
      const failure = await failureOf(ignored.result());
      expect(
        await serverSecondsBetween(ignored, 'workflowExecutionStartedEventAttributes', 'workflowExecutionFailedEventAttributes'),
      ).toBeGreaterThanOrEqual(7200);
      expect([failure.type, failure.message]).toEqual([
        'PipelineApprovalRejected',
        'step review failed: PipelineApprovalRejected: Timed out waiting to be resumed (0 of 1 approvals)',
      ]);
      expect(line.starts()).toEqual(['review']);
    },
  );

  it('repeats a while loop until a stop_after_if inside it breaks the loop (not the flow), a sleep apart', async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('poll', await flowOf('poll.yaml'), { ready_at: 3 });
    const result = (await handle.result()) as Result;
    expect(line.starts()).toEqual(['check-0', 'check-1', 'check-2', 'check-3', 'report']);
    expect(result.stopped).toBeUndefined(); // the break ended the loop; the flow went on
    expect(result.outputs.poll).toEqual([0, 1, 2, 3].map((i) => ({ label: `check-${i}`, value: i })));
    expect(result.outputs.report).toEqual({ label: 'report', value: [0, 1, 2, 3] }); // results.check: one per iteration
    expect(result.nodes.poll).toMatchObject({ kind: 'whileloopflow', status: 'succeeded', done: 4 });
    // sleep: 60 after each check that did not break (Windmill sleeps before the next step; a break has none).
    expect(await timersStarted(handle)).toEqual([60, 60, 60]);
  });

  it("breaks a while loop on the loop's own stop_after_if, checked on each iteration's result", async () => {
    const line = timeline();
    t.use(line.stubs);
    const flow = await flowOf('poll.yaml');
    const loop = (flow.value as { modules: Record<string, unknown>[] }).modules[0]!;
    const check = (loop.value as { modules: Record<string, unknown>[] }).modules[0]!;
    delete check.stop_after_if;
    delete check.sleep;
    loop.stop_after_if = { expr: 'result.value === 1' };
    const result = (await (await start('poll-break', flow, { ready_at: 0 })).result()) as Result;
    expect(line.starts()).toEqual(['check-0', 'check-1', 'report']);
    expect(result.outputs.report).toEqual({ label: 'report', value: [0, 1] });
  });

  it('fails a while loop that reaches max_iterations without a break, naming the field', async () => {
    const line = timeline();
    t.use(line.stubs);
    const flow = await flowOf('poll.yaml');
    const loop = (flow.value as { modules: { value: Record<string, unknown> }[] }).modules[0]!;
    loop.value.max_iterations = 3;
    const failure = await failureOf((await start('poll-limit', flow, { ready_at: 99 })).result());
    expect(failure.message).toBe('step poll failed: value.max_iterations: 3 iterations ran and no stop_after_if broke the loop');
    expect(line.starts()).toEqual(['check-0', 'check-1', 'check-2']);
  });

  it('refuses to start a while loop without max_iterations, naming the step and field', async () => {
    t.use(timeline().stubs);
    const flow = await flowOf('poll.yaml');
    delete (flow.value as { modules: { value: Record<string, unknown> }[] }).modules[0]!.value.max_iterations;
    const handle = await start('poll-unbounded', flow, { ready_at: 1 });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toContain("step 'poll': value.max_iterations: a while loop runs only with an iteration limit");
    expect(((await handle.fetchHistory()).events ?? []).some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  });

  it("runs a flow step by path as a child pipelineWorkflow whose result is the step's, once per loop iteration", async () => {
    const line = timeline();
    t.use(line.stubs);
    const { flow, flows } = await restock();
    expect(Object.keys(flows)).toEqual(['f/shop/refill']);
    const handle = await start('restock', flow, { shelves: ['a', 'b'] }, flows);
    const result = (await handle.result()) as Result;
    expect(line.starts()).toEqual(['fill-a', 'confirm-a', 'fill-b', 'confirm-b', 'total']);
    // The sub-flow's result (its last step's) is results.refill; its own steps are not the parent's results.
    expect(result.outputs.each).toEqual([
      { label: 'confirm-a', value: 'fill-a' },
      { label: 'confirm-b', value: 'fill-b' },
    ]);
    expect(result.outputs.total).toEqual({ label: 'total', value: { refills: ['fill-a', 'fill-b'], inner: 'undefined' } });
    const children = ((await handle.fetchHistory()).events ?? [])
      .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
      .filter((a) => a !== null && a !== undefined);
    expect(children.map((c) => [c.workflowType?.name, c.workflowId])).toEqual([
      ['pipelineWorkflow', `${handle.workflowId}/refill/each.0`],
      ['pipelineWorkflow', `${handle.workflowId}/refill/each.1`],
    ]);
    const child = await t.client.workflow.getHandle(`${handle.workflowId}/refill/each.1`).result();
    expect((child as Result).outputs.fill).toEqual({ label: 'fill-b', value: 'b' }); // the child's own results
  });

  it('fails the flow step when its sub-flow fails, and refuses a sub-flow path that resolves to nothing', async () => {
    const line = timeline();
    t.use({
      ...line.stubs,
      record: async (input: { label: string }) => {
        if (input.label === 'confirm-b') throw ApplicationFailure.nonRetryable('shelf b is jammed', 'TestFailure');
        return line.stubs.record(input);
      },
    });
    const { flow, flows } = await restock();
    const failure = await failureOf((await start('restock-jam', flow, { shelves: ['b'] }, flows)).result());
    expect(failure.message).toMatch(/^step refill failed: .*shelf b is jammed/);
    expect(line.starts()).toEqual(['fill-b']);

    const unresolved = await start('restock-missing', flow, { shelves: ['a'] });
    const refused = await failureOf(unresolved.result());
    expect(refused.type).toBe('InvalidInput');
    expect(refused.message).toContain("step 'refill': flow path 'f/shop/refill' resolves to no flow file");
  });

  it('runs a squashed for-loop over a literal iterator one iteration at a time, each body given the whole iter', async () => {
    const line = timeline();
    t.use(line.stubs);
    const result = (await (await start('squash', await flowOf('squash-loop.yaml'))).result()) as Result;
    expect(line.starts()).toEqual(['scale', 'scale', 'scale']);
    const e = line.events;
    expect(e.slice(0, 6)).toEqual(['start scale', 'end scale', 'start scale', 'end scale', 'start scale', 'end scale']);
    expect(result.outputs.batches).toEqual([5, 6, 7].map((value, index) => ({ label: 'scale', value: { value, index } })));
  });

  it('refuses to start a flow whose script path is not in the table, naming the step', async () => {
    t.use(timeline().stubs);
    const flow = await flowOf('order.yaml');
    const handle = await t.client.workflow.start('pipelineWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('pipeline:unmapped'),
      args: [{ id: 'unmapped', openflow: flow, scripts: {}, input: { shelves: [] } }],
    });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toContain("step 'count': script path 'f/shop/record' is not in the scripts table");
    expect(failure.message).toContain("step 'fill': script path 'f/shop/record' is not in the scripts table");
    expect(((await handle.fetchHistory()).events ?? []).some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  });

  it('records each JavaScript evaluation in the history: a replay with no activities at all matches it', async () => {
    const line = timeline();
    t.use(line.stubs);
    const handle = await start('recorded', await flowOf('order.yaml'), { shelves: ['a', 'b'] });
    await handle.result();
    const history = await handle.fetchHistory();
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
    expect(markers.length).toBeGreaterThanOrEqual(5); // the evaluations, as local-activity markers
    // The replay worker has no evaluator: every value comes back from the markers, or it fails.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, handle.workflowId);
  });

  it('replays a while loop broken by its body and a flow step run as child workflows from their recorded histories', async () => {
    const line = timeline();
    t.use(line.stubs);
    const poll = await start('recorded-poll', await flowOf('poll.yaml'), { ready_at: 2 });
    await poll.result();
    const { flow, flows } = await restock();
    const parent = await start('recorded-restock', flow, { shelves: ['a', 'b'] }, flows);
    await parent.result();
    for (const handle of [poll, parent])
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        await handle.fetchHistory(),
        handle.workflowId,
      );
  });
});

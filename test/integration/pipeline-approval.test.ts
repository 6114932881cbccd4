import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import type { ApprovalDecision, PipelineProgress, PipelineResult, PipelineSpecInput } from '../../common/pipeline/spec.js';
import { createClients, type Clients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { pipelinePlugin } from '../../workers/pipeline-plugin.js';
import { createTestActivities, pipelineTestBundle } from '../support/pipeline-worker.js';

const TEST_SERVER = fileURLToPath(new URL('../../.stack/bin/temporal-test-server', import.meta.url));

describe('pipeline approvals and sleeps on the time-skipping server', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-pipeline-time-${tag}`;
  const acts = createTestActivities();
  let env: TestWorkflowEnvironment;
  let clients: Clients;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
    // The test server knows no custom search attributes until told (IndexedValueType KEYWORD = 2, INT = 3).
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === SearchAttributeType.INT ? 3 : 2])),
    });
    const config = loadConfig();
    clients = createClients(config);
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await pipelineTestBundle(),
      plugins: [pipelinePlugin({ config, clients, registerWorkflows: false, activities: acts.activities })],
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await clients?.close();
  });

  let n = 0;
  const value = (v: unknown) => ({ type: 'static' as const, value: v });
  function approvalSpec(onTimeout: 'approve' | 'reject' = 'reject', extra: Record<string, unknown> = {}): PipelineSpecInput {
    return {
      id: `approve-${tag}`,
      modules: [
        { id: 'prepare', value: { type: 'activity', name: 'record', local: true, input_transforms: { label: value(`prepare-${tag}`) } } },
        {
          id: 'go',
          after: ['prepare'],
          value: { type: 'suspend', timeout: '2h', on_timeout: onTimeout, message: 'publish tonight?', ...extra },
        },
        {
          id: 'publish',
          value: {
            type: 'activity',
            name: 'record',
            input_transforms: { label: value(`publish-${tag}`), value: { type: 'expr', expr: 'nodes.go.by' } },
          },
        },
      ],
    };
  }
  const start = (spec: PipelineSpecInput) =>
    env.client.workflow.start('pipelineWorkflow', { taskQueue, workflowId: `test-time-${tag}-${++n}`, args: [spec] });

  async function waitingFor(handle: Awaited<ReturnType<typeof start>>, node: string): Promise<PipelineProgress> {
    for (let i = 0; i < 200; i++) {
      const p = await handle.query<PipelineProgress>('progress');
      if (p.waitingForApproval.includes(node)) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${node} never waited for approval`);
  }

  async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause as ApplicationFailure;
  }

  it('waits for an approval update carrying who approved, then goes on', async () => {
    const handle = await start(approvalSpec());
    const waiting = await waitingFor(handle, 'go');
    expect(waiting.nodes.go?.status).toBe('waiting');
    expect(acts.count(`publish-${tag}`)).toBe(0);

    const decision = await handle.executeUpdate<ApprovalDecision, [{ node: string; by: string; comment: string }]>('approve', {
      args: [{ node: 'go', by: 'alice@example.com', comment: 'ship it' }],
    });
    expect(decision).toMatchObject({ node: 'go', approved: true, by: 'alice@example.com', comment: 'ship it', timedOut: false });

    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.go).toMatchObject({ approved: true, by: 'alice@example.com' });
    expect(result.outputs.publish).toEqual({ label: `publish-${tag}`, value: 'alice@example.com' });
    expect(result.nodes.go?.decidedBy).toBe('alice@example.com');
  });

  it('refuses an approval for a node that is not waiting, naming the ones that are', async () => {
    const handle = await start(approvalSpec());
    await waitingFor(handle, 'go');
    const refused = await handle.executeUpdate('approve', { args: [{ node: 'publish', by: 'mallory' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refused as WorkflowUpdateFailedError).cause?.message)).toContain(
      'node publish is not waiting for approval (waiting: go)',
    );
    const anonymous = await handle.executeUpdate('approve', { args: [{ node: 'go', by: ' ' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((anonymous as WorkflowUpdateFailedError).cause?.message)).toContain('by: who decides');
    await handle.executeUpdate('approve', { args: [{ node: 'go', by: 'alice' }] });
    await handle.result();
  });

  it('fails at the node when a person rejects it, with who and why', async () => {
    const handle = await start(approvalSpec());
    await waitingFor(handle, 'go');
    await handle.executeUpdate('approve', { args: [{ node: 'go', approved: false, by: 'bob@example.com', comment: 'not tonight' }] });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('PipelineApprovalRejected');
    expect(failure.message).toBe('node go failed: PipelineApprovalRejected: rejected by bob@example.com: not tonight');
    expect((failure.details?.[0] as { outputs: Record<string, unknown> }).outputs).toHaveProperty('prepare');
  });

  it('gives a rejection as the output with continue_on_reject, so a branch can act on it', async () => {
    const spec: PipelineSpecInput = {
      id: `approve-branch-${tag}`,
      modules: [
        { id: 'go', value: { type: 'suspend', timeout: '1h', continue_on_reject: true } },
        {
          id: 'route',
          value: {
            type: 'branchone',
            branches: [
              {
                expr: 'nodes.go.approved',
                modules: [
                  { id: 'yes', value: { type: 'activity', name: 'record', local: true, input_transforms: { label: value('yes') } } },
                ],
              },
            ],
            default: [
              {
                id: 'no',
                value: {
                  type: 'activity',
                  name: 'record',
                  local: true,
                  input_transforms: { label: value(`no-${tag}`), value: { type: 'expr', expr: 'nodes.go.by' } },
                },
              },
            ],
          },
        },
      ],
    };
    const handle = await start(spec);
    await waitingFor(handle, 'go');
    await handle.executeUpdate('approve', { args: [{ node: 'go', approved: false, by: 'carol' }] });
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.route).toEqual({ label: `no-${tag}`, value: 'carol' });
  });

  it('rejects by default when nobody decides within the timeout', async () => {
    const before = acts.count(`publish-${tag}`);
    const handle = await start(approvalSpec('reject'));
    const failure = await failureOf(handle.result()); // the test server skips the 2 hours
    expect(failure.message).toBe('node go failed: PipelineApprovalRejected: nobody decided within 7200 s');
    expect(acts.count(`publish-${tag}`)).toBe(before);
  });

  it('approves by default when the spec says so, recording that nobody decided', async () => {
    const before = acts.count(`publish-${tag}`);
    const handle = await start(approvalSpec('approve'));
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.go).toMatchObject({ approved: true, by: null, timedOut: true });
    expect(result.outputs.publish).toEqual({ label: `publish-${tag}`, value: null });
    expect(acts.count(`publish-${tag}`)).toBe(before + 1);
  });

  it('sleeps for a duration and until a time, in workflow time', async () => {
    // The server's clock is ahead of the wall clock by what earlier tests skipped.
    const wake = new Date((await env.currentTimeMs()) + 3 * 86_400_000).toISOString();
    const spec: PipelineSpecInput = {
      id: `sleep-${tag}`,
      input: { wake },
      modules: [
        { id: 'week', value: { type: 'sleep', duration: '7d' } },
        { id: 'until', after: ['week'], value: { type: 'sleep', until: 'input.wake' } },
        { id: 'later', after: ['week'], value: { type: 'sleep', until: "'2000-01-01T00:00:00Z'" } },
      ],
    };
    const result = (await (await start(spec)).result()) as PipelineResult; // the test server skips the week
    expect(result.outputs.week).toEqual({ sleptMs: 7 * 86_400_000 });
    expect(result.outputs.later).toEqual({ sleptMs: 0 }); // already past: no timer
    expect((result.outputs.until as { sleptMs: number }).sleptMs).toBe(0); // 7 days later, 3 days from the start is past
  });

  it('sleeps until a future time', async () => {
    const wake = new Date((await env.currentTimeMs()) + 2 * 86_400_000).toISOString();
    const handle = await start({
      id: `until-${tag}`,
      input: { wake },
      modules: [{ id: 'nap', value: { type: 'sleep', until: 'input.wake' } }],
    });
    const result = (await handle.result()) as PipelineResult;
    const slept = (result.outputs.nap as { sleptMs: number }).sleptMs;
    expect(slept).toBeGreaterThan(2 * 86_400_000 - 120_000);
    expect(slept).toBeLessThanOrEqual(2 * 86_400_000);
  });
});

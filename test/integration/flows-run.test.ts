import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { openPipelineDevWorker, type PipelineDevWorker } from '../support/pipeline-dev-worker.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineProgress, PipelineResult } from '../../common/pipeline/spec.js';
import { createTestActivities } from '../support/pipeline-worker.js';

// Asynchronous on purpose: the worker runs in this process, and a blocking spawn would starve it.
const exec = promisify(execFile);

/** The CLI as an operator runs it: exit code and both streams, whether it succeeds or not. */
async function spokeflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, ['bin/spokeflow.js', ...args])) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const FLOW = 'test/fixtures/openflow/run/shelf-audit.yaml';
const SCRIPTS = 'test/fixtures/openflow/run/shelf-audit.scripts.yaml';

describe('spokeflow flows run on the dev server', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-flows-run-${tag}`;
  const acts = createTestActivities();
  let client: Client;
  let dev: PipelineDevWorker;

  beforeAll(async () => {
    dev = await openPipelineDevWorker(taskQueue, acts);
    ({ client } = dev);
  });

  afterAll(async () => {
    await dev?.close();
  });

  it('runs a list, a skip_if, a branchall, a for-loop and mapped scripts in Windmill order, and prints the result', async () => {
    const id = `shelf-audit-${tag}`;
    const input = JSON.stringify({ shelves: ['a', 'b', 'c'] });
    const out = await spokeflow('flows', 'run', FLOW, '--scripts', SCRIPTS, '--input', input, '--id', id, '--task-queue', taskQueue);
    expect(out.stderr).toContain(`started pipeline:${id}`);
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as PipelineResult & { result: unknown };
    expect(result.status).toBe('succeeded');
    expect(result.result).toEqual({ label: 'done', value: { shelves: 3, filled: [0, 1, 2], audited: false } });
    expect(result.outputs.each).toEqual(['a', 'b', 'c'].map((s, i) => ({ label: `fill-${s}`, value: i })));

    // What the worker ran, in order: the list top to bottom, both branches before the loop, the loop one at a time.
    const labels = acts.calls.map((c) => c.label);
    expect(labels.slice(0, 1)).toEqual(['count']);
    expect(labels.slice(1, 3).sort()).toEqual(['back', 'front']);
    expect(labels.slice(3)).toEqual(['fill-a', 'fill-b', 'fill-c', 'done']);

    // The run as the server keeps it: the progress query (top-level steps by their OpenFlow ids, started in
    // file order, the skipped one skipped) and the history (one scheduled activity per script call).
    const handle = client.workflow.getHandle(`pipeline:${id}`);
    const progress = await handle.query<PipelineProgress>('progress');
    expect(progress.status).toBe('succeeded');
    expect(progress.nodes.audit?.status).toBe('skipped');
    const started = ['count', 'sides', 'each', 'done'].map((step) => {
      expect(progress.nodes[step], step).toMatchObject({ status: 'succeeded' });
      return Date.parse(progress.nodes[step]!.startedAt!);
    });
    expect([...started].sort((x, y) => x - y)).toEqual(started);
    expect(progress.nodes.each).toMatchObject({ kind: 'forloopflow', done: 3, total: 3 });
    const scheduled = ((await handle.fetchHistory()).events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'record',
    );
    expect(scheduled).toHaveLength(7);
  });

  it('runs a flow step as a child pipelineWorkflow, its file read from the --flows folder', async () => {
    const id = `restock-${tag}`;
    const folder = await mkdtemp(join(tmpdir(), 'flows-run-'));
    const scripts = join(folder, 'scripts.yaml');
    await writeFile(scripts, 'f/shop/record: { activity: record }\n');
    const workspace = 'test/fixtures/openflow/workspace';
    const out = await spokeflow(
      'flows',
      'run',
      `${workspace}/f/shop/restock.flow.yaml`,
      '--flows',
      workspace,
      '--scripts',
      scripts,
      '--input',
      '{"shelves":["x"]}',
      '--id',
      id,
      '--task-queue',
      taskQueue,
    );
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as PipelineResult & { result: unknown };
    expect(result.outputs.each).toEqual([{ label: 'confirm-x', value: 'fill-x' }]);
    const child = await client.workflow.getHandle(`pipeline:${id}/refill/each.0`).describe();
    expect([child.type, child.status.name, child.parentExecution?.workflowId]).toEqual(['pipelineWorkflow', 'COMPLETED', `pipeline:${id}`]);
  });

  it('refuses an input the flow schema rejects, naming the field, and starts nothing', async () => {
    const id = `shelf-refused-${tag}`;
    const before = acts.calls.length;
    const out = await spokeflow(
      'flows',
      'run',
      FLOW,
      '--scripts',
      SCRIPTS,
      '--input',
      '{"shelves":["a",7]}',
      '--id',
      id,
      '--task-queue',
      taskQueue,
    );
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(`invalid input for ${FLOW}:`);
    expect(out.stderr).toContain('shelves.1: must be string');
    const started = await client.workflow
      .getHandle(`pipeline:${id}`)
      .describe()
      .then(
        () => true,
        () => false,
      );
    expect(started).toBe(false);
    expect(acts.calls.length).toBe(before);
  });
});

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineProgress } from '../../common/pipeline/spec.js';
import { openPipelineDevWorker, type PipelineDevWorker } from '../support/pipeline-dev-worker.js';
import { createTestActivities } from '../support/pipeline-worker.js';

/** Polls `read` until `holds`, for a run on the dev server (real time). */
async function until<T>(read: () => Promise<T>, holds: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (holds(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Asynchronous on purpose: the worker runs in this process, and a blocking spawn would starve it.
const exec = promisify(execFile);

// Windmill's flow concurrency limit across runs, on the dev server with the catalog's slots:
// a second run of the key waits for the first, whether it ends or is terminated.
describe('OpenFlow run options on the dev server: concurrency limits across runs, early return', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-flow-concurrency-${tag}`;
  const acts = createTestActivities();
  let client: Client;
  let dev: PipelineDevWorker;

  // One step that records the run, then waits for an approval: the run holds its slot meanwhile.
  const flow = (window = 0) => ({
    summary: 'restock one shop at a time',
    value: {
      concurrent_limit: 1,
      concurrency_key: `test-${tag}-$args[shop]`,
      concurrency_time_window_s: window,
      modules: [
        {
          id: 'restock',
          value: {
            type: 'script',
            path: 'f/it/record',
            input_transforms: { label: { type: 'javascript', expr: "'restock-' + flow_input.run" } },
          },
          suspend: { required_events: 1, timeout: 600 },
        },
      ],
    },
    schema: { type: 'object', properties: {} },
  });
  const start = (run: string, shop: string, openflow = flow()) =>
    client.workflow.start('pipelineWorkflow', {
      taskQueue,
      workflowId: `pipeline:conc-${tag}-${run}`,
      args: [{ id: `conc-${tag}`, openflow, scripts: { 'f/it/record': { activity: 'record' } }, input: { run, shop } }],
    });
  const progress = (h: WorkflowHandle) => h.query<PipelineProgress>('progress');
  const recorded = (run: string) => acts.calls.filter((c) => c.label === `restock-${run}`).length;
  const slots = async () =>
    (
      await dev.clients.catalog.query(
        `SELECT workflow_id, finished_at IS NULL AS open FROM flow_concurrency_slots WHERE concurrency_key LIKE ? ORDER BY started_at`,
        [`test-${tag}-%`],
      )
    )[0] as { workflow_id: string; open: number }[];

  beforeAll(async () => {
    dev = await openPipelineDevWorker(taskQueue, acts);
    ({ client } = dev);
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('runs a second run of the key only after the first ends; another key is not held back', { timeout: 90_000 }, async () => {
    const first = await start('a1', 'north');
    await until(
      () => progress(first),
      (p) => p.waitingForApproval.includes('restock'),
      'a1 waiting for approval',
    );
    const second = await start('a2', 'north');
    const other = await start('b1', 'south');
    await until(
      () => progress(other),
      (p) => p.waitingForApproval.includes('restock'),
      'b1 (another key) running',
    );
    const queued = await until(
      () => progress(second),
      (p) => p.queuedFor !== undefined,
      'a2 queued',
    );
    expect(queued.queuedFor).toEqual({ key: `test-${tag}-north`, held: 1 });
    expect(recorded('a2')).toBe(0);

    await first.executeUpdate('approve', { args: [{ node: 'restock', by: 'alice@example.com' }] });
    await first.result();
    await until(
      () => progress(second),
      (p) => p.waitingForApproval.includes('restock'),
      'a2 running after a1 ended',
    );
    expect(recorded('a2')).toBe(1);
    expect((await progress(second)).queuedFor).toBeUndefined();
    for (const h of [second, other]) await h.executeUpdate('approve', { args: [{ node: 'restock', by: 'alice@example.com' }] });
    await Promise.all([second.result(), other.result()]);
    // Every slot released; a1's, outside its (zero) window, was cleared by a2's claim.
    expect((await slots()).map((s) => [s.workflow_id.replace(`pipeline:conc-${tag}-`, ''), s.open])).toEqual([
      ['b1', 0],
      ['a2', 0],
    ]);
  });

  it('frees the slot of a run that was terminated without releasing it', { timeout: 90_000 }, async () => {
    const first = await start('t1', 'east');
    await until(
      () => progress(first),
      (p) => p.waitingForApproval.includes('restock'),
      't1 waiting',
    );
    const second = await start('t2', 'east');
    await until(
      () => progress(second),
      (p) => p.queuedFor !== undefined,
      't2 queued',
    );
    await first.terminate('an operator stops it');
    await until(
      () => progress(second),
      (p) => p.waitingForApproval.includes('restock'),
      't2 running after t1 was terminated',
    );
    await second.executeUpdate('approve', { args: [{ node: 'restock', by: 'alice@example.com' }] });
    await second.result();
  });

  it('counts a finished run against the time window', { timeout: 90_000 }, async () => {
    const windowed = flow(4);
    const first = await start('w1', 'west', windowed);
    await until(
      () => progress(first),
      (p) => p.waitingForApproval.includes('restock'),
      'w1 waiting',
    );
    await first.executeUpdate('approve', { args: [{ node: 'restock', by: 'alice@example.com' }] });
    await first.result();
    // w1 ended, but started less than 4 s ago: w2 waits for the window to pass it.
    const second = await start('w2', 'west', windowed);
    const queued = await until(
      () => progress(second),
      (p) => p.queuedFor !== undefined,
      'w2 queued by the window',
    );
    expect(queued.queuedFor).toEqual({ key: `test-${tag}-west`, held: 1 });
    await until(
      () => progress(second),
      (p) => p.waitingForApproval.includes('restock'),
      'w2 running once the window passed',
    );
    await second.executeUpdate('approve', { args: [{ node: 'restock', by: 'alice@example.com' }] });
    await second.result();
  });
  it("returns the early_return step's result from flows run while the run goes on", { timeout: 90_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flows-early-'));
    const file = join(dir, 'quote.yaml');
    await writeFile(
      file,
      [
        'summary: Answer at once, then file the quote once someone approves',
        'value:',
        '  early_return: quote',
        '  modules:',
        '    - id: quote',
        '      value: { type: script, path: f/it/record, input_transforms: { label: { type: static, value: quote }, value: { type: static, value: 42 } } }',
        '    - id: file',
        '      value: { type: script, path: f/it/record, input_transforms: { label: { type: static, value: file } } }',
        '      suspend: { required_events: 1, timeout: 600 }',
        'schema: { type: object, properties: {} }',
      ].join('\n'),
    );
    const scripts = join(dir, 'scripts.yaml');
    await writeFile(scripts, 'scripts:\n  f/it/record: { activity: record }\n');
    const id = `early-${tag}`;
    const out = await exec(process.execPath, [
      'bin/spokeflow.js',
      'flows',
      'run',
      file,
      '--scripts',
      scripts,
      '--input',
      '{}',
      '--id',
      id,
      '--task-queue',
      taskQueue,
    ]);
    expect(JSON.parse(out.stdout)).toEqual({ status: 'running', early_return: 'quote', result: { label: 'quote', value: 42 } });
    expect(out.stderr).toContain(`early return at step quote: the run goes on (pipeline:${id})`);
    const run = client.workflow.getHandle(`pipeline:${id}`);
    await until(
      () => progress(run),
      (p) => p.waitingForApproval.includes('file'),
      'the rest of the run going on',
    );
    await run.executeUpdate('approve', { args: [{ node: 'file', by: 'alice@example.com' }] });
    expect(((await run.result()) as { outputs: Record<string, unknown> }).outputs.file).toEqual({ label: 'file', value: null });
  });
});

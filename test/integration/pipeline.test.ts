import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { openPipelineDevWorker, type PipelineDevWorker } from '../support/pipeline-dev-worker.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  resumeInput,
  type PipelineFailureDetails,
  type PipelineProgress,
  type PipelineResult,
  type PipelineSpecInput,
} from '../../common/pipeline/spec.js';
import { rerunFailedPipeline } from '../../cli/pipeline-rerun.js';
import { readInput, runWorkflow } from '../../cli/run.js';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import type { Clients } from '../../runtime/clients.js';
import { DOMAIN_PLUGINS } from '../../workers/plugins.js';
import type { SpokeflowConfig } from '../../runtime/config.js';
import { createTestActivities } from '../support/pipeline-worker.js';
import { SearchAttr } from '../../common/search-attributes.js';

describe('pipelineWorkflow on the dev server', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-pipeline-${tag}`;
  const acts = createTestActivities();
  let clients: Clients;
  let client: Client;
  let dev: PipelineDevWorker;
  let config: SpokeflowConfig;

  beforeAll(async () => {
    dev = await openPipelineDevWorker(taskQueue, acts);
    ({ client, clients, config } = dev);
  });

  afterAll(async () => {
    await dev?.close();
  });

  let n = 0;
  function start(spec: PipelineSpecInput) {
    return client.workflow.start('pipelineWorkflow', { taskQueue, workflowId: `test-pipeline-${tag}-${++n}`, args: [spec] });
  }
  async function run(spec: PipelineSpecInput): Promise<PipelineResult> {
    return (await start(spec)).result() as Promise<PipelineResult>;
  }
  async function failureOf(spec: PipelineSpecInput): Promise<{ failure: ApplicationFailure; details: PipelineFailureDetails }> {
    const err = await run(spec).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    return { failure, details: failure.details?.[0] as PipelineFailureDetails };
  }
  const expr = (e: string) => ({ type: 'expr' as const, expr: e });
  const value = (v: unknown) => ({ type: 'static' as const, value: v });
  const record = (label: string, extra: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
    id: label,
    ...rest,
    value: { type: 'activity' as const, name: 'record', input_transforms: { label: value(label), ...extra } },
  });

  it('runs independent nodes at once and a node after the nodes it reads', async () => {
    acts.resetConcurrency();
    const result = await run({
      id: `graph-${tag}`,
      input: { a: 2 },
      modules: [
        {
          id: 'left',
          value: {
            type: 'activity',
            name: 'record',
            task_queue: taskQueue,
            input_transforms: { label: value('left'), value: expr('input.a'), ms: value(300) },
          },
        },
        {
          id: 'right',
          value: { type: 'activity', name: 'record', input_transforms: { label: value('right'), value: value(3), ms: value(300) } },
        },
        {
          id: 'sum',
          value: {
            type: 'activity',
            name: 'add',
            local: true,
            input_transforms: { a: expr('nodes.left.value'), b: expr('nodes.right.value') },
          },
        },
      ],
    });
    expect(result.outputs.sum).toEqual({ sum: 5 });
    expect(acts.maxRunning()).toBe(2); // left and right overlapped
    expect(result.nodes.sum?.status).toBe('succeeded');
  });

  it('starts a workflow of another team as a child, with its summary and a deterministic id', async () => {
    const handle = await start({
      id: `child-${tag}`,
      input: { n: 21 },
      modules: [
        {
          id: 'twice',
          value: { type: 'workflow', name: 'pipelineTestChild', task_queue: taskQueue, input_transforms: { n: expr('input.n') } },
        },
      ],
    });
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.twice).toEqual({ doubled: 42 });
    const child = await client.workflow.getHandle(`${handle.workflowId}/twice`).describe();
    expect(child.status.name).toBe('COMPLETED');
    expect(await child.staticSummary()).toBe(`child-${tag}/twice: pipelineTestChild`);
  });

  it('takes the first branchone branch whose expression holds, else the default', async () => {
    const spec = (size: number): PipelineSpecInput => ({
      id: `branch-${tag}`,
      input: { size },
      modules: [
        {
          id: 'route',
          value: {
            type: 'branchone',
            branches: [
              { expr: 'input.size > 100', modules: [record('big')] },
              { expr: 'input.size > 10', modules: [record('medium')] },
            ],
            default: [record('small')],
          },
        },
      ],
    });
    expect(((await run(spec(50))).outputs.route as { label: string }).label).toBe('medium');
    const small = await run(spec(1));
    expect((small.outputs.route as { label: string }).label).toBe('small');
    expect(small.nodes.route?.branch).toBe(-1);
    expect(acts.count('big')).toBe(0);
  });

  it('runs every branchall branch at once; a branch with skip_failure yields its error instead of failing', async () => {
    acts.resetConcurrency();
    const result = await run({
      id: `all-${tag}`,
      modules: [
        {
          id: 'fan',
          value: {
            type: 'branchall',
            branches: [
              { modules: [record('b1', { ms: value(300) })] },
              { modules: [record('b2', { ms: value(300) })] },
              {
                skip_failure: true,
                modules: [
                  { id: 'b3', value: { type: 'activity', name: 'maybeFail', input_transforms: { label: value('b3'), fail: value(true) } } },
                ],
              },
            ],
          },
        },
      ],
    });
    const fan = result.outputs.fan as unknown[];
    expect(fan.slice(0, 2)).toEqual([
      { label: 'b1', value: null },
      { label: 'b2', value: null },
    ]);
    expect((fan[2] as { error: string }).error).toContain('b3 failed as asked');
    expect(acts.maxRunning()).toBe(2);
  });

  it('runs a forloopflow over a list with at most `parallelism` iterations at once, results in order', async () => {
    acts.resetConcurrency();
    const result = await run({
      id: `loop-${tag}`,
      input: { items: Array.from({ length: 12 }, (_, i) => i) },
      modules: [
        {
          id: 'each',
          value: {
            type: 'forloopflow',
            iterator: expr('input.items'),
            parallel: true,
            parallelism: 3,
            modules: [
              {
                id: 'rec',
                value: {
                  type: 'activity',
                  name: 'record',
                  local: true,
                  input_transforms: { label: value('loop'), value: expr('item * 10 + index'), ms: value(100) },
                },
              },
              {
                id: 'plus',
                value: { type: 'activity', name: 'add', local: true, input_transforms: { a: expr('nodes.rec.value'), b: value(1) } },
              },
            ],
          },
        },
        {
          id: 'total',
          value: {
            type: 'activity',
            name: 'add',
            local: true,
            input_transforms: { a: expr("sum(pluck(nodes.each, 'sum'))"), b: value(0) },
          },
        },
      ],
    });
    expect((result.outputs.each as { sum: number }[]).map((r) => r.sum)).toEqual(Array.from({ length: 12 }, (_, i) => i * 11 + 1));
    expect(acts.maxRunning()).toBe(3);
    expect(result.outputs.total).toEqual({ sum: 12 + 11 * 66 });
    expect(result.nodes.each).toMatchObject({ done: 12, total: 12, failed: 0 });
  });

  it('gives counts and the first errors instead of every result with collect: counts', async () => {
    const result = await run({
      id: `counts-${tag}`,
      input: { items: Array.from({ length: 30 }, (_, i) => i) },
      modules: [
        {
          id: 'each',
          value: {
            type: 'forloopflow',
            iterator: expr('input.items'),
            parallel: true,
            parallelism: 10,
            skip_failures: true,
            collect: 'counts',
            modules: [
              {
                id: 'try',
                value: {
                  type: 'activity',
                  name: 'maybeFail',
                  local: true,
                  input_transforms: { label: expr("'item ' + string(item)"), fail: expr('item % 3 == 0') },
                },
              },
            ],
          },
        },
      ],
    });
    const each = result.outputs.each as {
      total: number;
      succeeded: number;
      failed: number;
      errors: { index: number; node: string; error: string }[];
    };
    expect([each.total, each.succeeded, each.failed, each.errors.length]).toEqual([30, 20, 10, 10]);
    expect(each.errors.map((e) => e.index).sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(each.errors.find((e) => e.index === 3)).toEqual({
      index: 3,
      item: 3,
      node: 'try',
      error: 'TestFailure: item 3 failed as asked',
    });
  });

  it('skips a node whose skip_if holds, and its dependants read null', async () => {
    const result = await run({
      id: `skip-${tag}`,
      input: { dry: true },
      modules: [
        record('maybe', {}, { skip_if: { expr: 'input.dry' } }),
        {
          id: 'after',
          value: {
            type: 'activity',
            name: 'add',
            local: true,
            input_transforms: { a: expr('coalesce(nodes.maybe.value, 7)'), b: value(0) },
          },
        },
      ],
    });
    expect(result.nodes.maybe?.status).toBe('skipped');
    expect(result.outputs.maybe).toBeNull();
    expect(result.outputs.after).toEqual({ sum: 7 });
  });

  it('retries a task by its retry policy', async () => {
    const key = `k${tag}`;
    const result = await run({
      id: `retry-${tag}`,
      modules: [
        {
          id: 'shaky',
          retry: { constant: { attempts: 3, seconds: 0.1 } },
          value: { type: 'activity', name: 'flaky', input_transforms: { key: value(key), times: value(2) } },
        },
      ],
    });
    expect(result.outputs.shaky).toEqual({ attempts: 3 });
  });

  it('runs the failure_module with the failed node and message, then fails naming the node', async () => {
    const { failure, details } = await failureOf({
      id: `fail-${tag}`,
      modules: [
        record('ok1'),
        {
          id: 'boom',
          after: ['ok1'],
          value: { type: 'activity', name: 'maybeFail', input_transforms: { label: value('boom'), fail: value(true) } },
        },
        record('never', { value: expr('nodes.boom') }),
      ],
      failure_module: {
        id: 'on_failure',
        value: {
          type: 'activity',
          name: 'record',
          local: true,
          input_transforms: { label: value(`handler-${tag}`), value: expr("error.node + ': ' + error.message") },
        },
      },
    });
    expect(failure.message).toBe('node boom failed: TestFailure: boom failed as asked');
    expect(details.failedNode).toBe('boom');
    expect(Object.keys(details.outputs)).toEqual(['ok1']);
    const handled = acts.calls.filter((c) => c.label === `handler-${tag}`);
    expect(handled.map((c) => (c.input as { value: string }).value)).toEqual(['boom: TestFailure: boom failed as asked']);
    expect(acts.count('never')).toBe(0);
  });

  it('re-runs from the failed node, keeping the outputs of the nodes that succeeded', async () => {
    const spec = (failB: boolean): PipelineSpecInput => ({
      id: `rerun-${tag}`,
      input: { fail_b: failB },
      modules: [
        record(`a-${tag}`.replace(/-/g, '_'), { value: value('from a') }),
        {
          id: 'b',
          value: { type: 'activity', name: 'maybeFail', input_transforms: { label: value(`b-${tag}`), fail: expr('input.fail_b') } },
        },
        {
          id: 'c',
          value: {
            type: 'activity',
            name: 'record',
            input_transforms: {
              label: value(`c-${tag}`),
              value: expr(`nodes.a_${tag.replace(/-/g, '_')}.value + ' then ' + nodes.b.label`),
            },
          },
        },
      ],
    });
    const a = `a_${tag}`;
    const { details } = await failureOf(spec(true));
    expect(details.outputs).toEqual({ [a]: { label: a, value: 'from a' } });

    const rerun = resumeInput({ ...spec(false) }, details);
    const result = await run(rerun);
    expect(acts.count(a)).toBe(1); // not run again
    expect(result.nodes[a]?.status).toBe('reused');
    expect(acts.count(`b-${tag}`)).toBe(2);
    expect(result.outputs.c).toEqual({ label: `c-${tag}`, value: `from a then b-${tag}` });
  });

  it('re-runs a failed pipeline from its failed node by its workflow id (cli/pipeline-rerun.ts)', async () => {
    const label = `once_${tag}`;
    const spec: PipelineSpecInput = {
      id: `rerun-cli-${tag}`,
      modules: [
        record(label),
        {
          id: 'flaky',
          after: [label],
          retry: { constant: { attempts: 0 } },
          value: { type: 'activity', name: 'flaky', input_transforms: { key: value(`cli-${tag}`), times: value(2) } },
        },
      ],
    };
    const first = await client.workflow.start('pipelineWorkflow', { taskQueue, workflowId: `pipeline:rerun-cli-${tag}`, args: [spec] });
    await expect(first.result()).rejects.toThrow();
    await expect(rerunFailedPipeline(client, first.workflowId)).resolves.toMatchObject({ failedNode: 'flaky', reused: [label] });
    // Fails again (the activity fails its first two calls), then succeeds on the third run.
    await expect(client.workflow.getHandle(first.workflowId).result()).rejects.toThrow();
    const third = await rerunFailedPipeline(client, first.workflowId);
    const result = (await third.handle.result()) as PipelineResult;
    expect(result.outputs.flaky).toEqual({ attempts: 3 });
    expect(acts.count(label)).toBe(1);
    expect(await (await third.handle.describe()).staticSummary()).toMatch(/^re-run from flaky: /);
  });

  it('continues as new after nodes_per_run nodes, carrying the outputs', async () => {
    const chain = Array.from({ length: 6 }, (_, i) => ({
      id: `n${i}`,
      value: {
        type: 'activity' as const,
        name: 'add',
        local: true,
        input_transforms: { a: i === 0 ? value(0) : expr(`nodes.n${i - 1}.sum`), b: value(1) },
      },
    }));
    const handle = await start({ id: `can-${tag}`, nodes_per_run: 2, modules: chain });
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.n5).toEqual({ sum: 6 });
    expect(Object.keys(result.outputs)).toHaveLength(6);
    const last = await handle.describe();
    expect(last.runId).not.toBe(handle.firstExecutionRunId);
    // Three runs of two nodes each.
    const first = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(result.nodes.n0?.status).toBe('succeeded');
  });

  it('shows per-node progress through the progress query and the Web UI current details', async () => {
    const handle = await start({
      id: `progress-${tag}`,
      modules: [record('quick'), record('slow', { ms: value(1500) }, { after: ['quick'], summary: 'takes a while' })],
    });
    let p: PipelineProgress | undefined;
    for (let i = 0; i < 100; i++) {
      p = await handle.query<PipelineProgress>('progress');
      if (p.nodes.slow?.status === 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(p?.nodes.quick?.status).toBe('succeeded');
    expect(p?.nodes.slow).toMatchObject({ status: 'running', summary: 'takes a while' });
    expect(p?.finished).toBe(1);
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain('`slow` activity **running**');
    await handle.result();
  });

  it('refuses an invalid spec at once, naming the node and field', async () => {
    const { failure } = await failureOf({
      id: `bad-${tag}`,
      modules: [{ id: 'x', value: { type: 'activity', name: 'record', input_transforms: { label: expr('nodes.nowhere.name') } } }],
    });
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toContain('node x: value.input_transforms.label.expr: unknown node nowhere');
  });

  it('fails a node whose expression gives the wrong kind of value at run time, naming node and field', async () => {
    const { failure } = await failureOf({
      id: `runtime-${tag}`,
      input: { items: 'not a list', n: 'three' },
      modules: [
        { id: 'each', value: { type: 'forloopflow', iterator: expr('input.items'), modules: [record('never_inside')] } },
        record('cmp', {}, { skip_if: { expr: 'input.n > 2' }, after: ['each'] }),
      ],
    });
    expect(failure.type).toBe('PipelineBadValue');
    expect(failure.message).toBe('node each failed: PipelineBadValue: iterator: must give a list, not string "not a list"');
    const second = await failureOf({
      id: `runtime2-${tag}`,
      input: { n: 'three' },
      modules: [record('cmp', {}, { skip_if: { expr: 'input.n > 2' } })],
    });
    expect(second.failure.message).toBe(
      'node cmp failed: PipelineBadValue: skip_if.expr: cannot compare string "three" > number 2: both sides must be numbers or both strings',
    );
  });

  it('fails a node whose output is too large to keep in history', async () => {
    const { failure } = await failureOf({
      id: `huge-${tag}`,
      modules: [{ id: 'h', value: { type: 'activity', name: 'huge', local: true } }],
    });
    expect(failure.type).toBe('PipelineOutputTooLarge');
    expect(failure.message).toMatch(/^node h failed: PipelineOutputTooLarge: output is \d+ bytes/);
  });

  it('runs a YAML spec through `spokeflow run pipelineWorkflow`, under the id pipeline:<id> with its summary', async () => {
    const yaml = [
      `id: cli-${tag}`,
      'summary: a pipeline from the command line',
      'input: { n: 4 }',
      'modules:',
      '  - id: twice',
      '    value:',
      '      type: workflow',
      '      name: pipelineTestChild',
      `      task_queue: ${taskQueue}`,
      '      input_transforms:',
      '        n: { type: expr, expr: input.n }',
    ].join('\n');
    const result = (await runWorkflow('pipelineWorkflow', await readInput({ input: yaml }), {
      follow: true,
      taskQueue,
      config,
    })) as PipelineResult;
    expect(result.outputs.twice).toEqual({ doubled: 8 });
    const described = await client.workflow.getHandle(`pipeline:cli-${tag}`).describe();
    expect(await described.staticSummary()).toBe('a pipeline from the command line');
    expect(described.typedSearchAttributes.get(SearchAttr.kind)).toBe('pipeline');
  });

  it('runs a chain of local nodes in one local activity with batch_local, outputs and progress per node', async () => {
    const chain = (failAt?: number): PipelineSpecInput => ({
      id: `batch-${tag}-${failAt ?? 'ok'}`,
      batch_local: true,
      modules: [
        { id: 'first', value: { type: 'activity', name: 'add', local: true, input_transforms: { a: value(1), b: value(1) } } },
        {
          id: 'second',
          value: { type: 'activity', name: 'add', local: true, input_transforms: { a: expr('nodes.first.sum'), b: value(10) } },
        },
        {
          id: 'third',
          value: {
            type: 'activity',
            name: 'maybeFail',
            local: true,
            input_transforms: { label: expr("'third ' + string(nodes.second.sum)"), fail: value(failAt === 3) },
          },
        },
        { id: 'apart', value: { type: 'activity', name: 'add', input_transforms: { a: expr('nodes.second.sum'), b: value(0) } } },
      ],
    });
    const handle = await start(chain());
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs).toMatchObject({ first: { sum: 2 }, second: { sum: 12 }, third: { label: 'third 12' }, apart: { sum: 12 } });
    expect(result.nodes.third?.status).toBe('succeeded');
    // first → second is one chain (second has two dependants, so third and apart run on their own).
    const markers = (await handle.fetchHistory()).events?.filter((e) => e.markerRecordedEventAttributes).length;
    expect(markers).toBe(2);

    const { failure, details } = await failureOf({
      ...chain(3),
      modules: (chain(3).modules as { id: string }[]).filter((m) => m.id !== 'apart'),
    });
    expect(failure.message).toBe('node third failed: TestFailure: third 12 failed as asked');
    expect(details.failedNode).toBe('third');
  });

  it('runs on the ingestion worker of the pack, whose plugin carries the runner and listDatasets', async () => {
    const team = `pipe-${tag}`;
    const names = [`pipe_${tag}.b`, `pipe_${tag}.a`];
    const catalog = createDatasetCatalog(clients.catalog);
    for (const name of names) {
      await catalog.upsert({
        name,
        source: { kind: 'postgres', connection: 'local-postgres', table: 'public.nowhere', primaryKey: ['id'] },
        target: { table: name.replace('.', '_') },
        owner: 'ops@example.com',
        team,
      });
    }
    const ingestionQueue = `${taskQueue}-ingestion`;
    const ingestion = await Worker.create({
      connection: dev.workerConnection,
      namespace: config.temporal.namespace,
      taskQueue: ingestionQueue,
      plugins: [DOMAIN_PLUGINS.ingestion!({ config, clients })],
    });
    try {
      const result = await ingestion.runUntil(
        client.workflow.execute('pipelineWorkflow', {
          taskQueue: ingestionQueue,
          workflowId: `test-pipeline-${tag}-ingestion`,
          args: [
            {
              id: `ingestion-${tag}`,
              input: { team },
              modules: [
                {
                  id: 'datasets',
                  value: { type: 'activity', name: 'listDatasets', local: true, input_transforms: { team: expr('input.team') } },
                },
              ],
            },
          ],
        }) as Promise<PipelineResult>,
      );
      expect(result.outputs.datasets).toEqual({ names: [...names].sort(), count: 2 });
    } finally {
      await clients.catalog.query('DELETE FROM datasets WHERE team = ?', [team]);
    }
  });
});

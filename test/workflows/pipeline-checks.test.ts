import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { DatasetChecksArgs } from '../../activities/quality/checks.js';
import type { DatasetChecksSummary } from '../../common/checks.js';
import { failureOf, searchAttributesOf, useStubWorker } from './support/environment.js';

// The shapes as an operator writes and reads them (kept local, as in pipeline.test.ts).
type Spec = { id: string; modules: unknown[] } & Record<string, unknown>;
interface Progress {
  status: string;
  nodes: Record<string, { status: string; error?: string }>;
}
interface Result {
  status: 'succeeded';
  outputs: Record<string, unknown>;
}

const value = (v: unknown) => ({ type: 'static' as const, value: v });
const expr = (e: string) => ({ type: 'expr' as const, expr: e });
const record = (id: string, more: Record<string, unknown> = {}, transforms: Record<string, unknown> = {}) => ({
  id,
  ...more,
  value: { type: 'activity', name: 'record', input_transforms: { label: value(id), ...transforms } },
});

/** What each dataset's checks come to in these tests. */
const OUTCOMES: Record<string, Omit<DatasetChecksSummary, 'dataset'>> = {
  // A blocking check fails, beside a warning.
  'shop.orders': {
    checks: 3,
    passed: 1,
    failed: 2,
    errored: 0,
    blockingFailed: ['orders_id_unique'],
    failedIds: ['orders_id_unique', 'orders_fresh'],
  },
  // Failing and errored checks, none of them blocking.
  'shop.items': { checks: 3, passed: 1, failed: 1, errored: 1, blockingFailed: [], failedIds: ['items_price_range', 'items_owner_sql'] },
  'shop.customers': { checks: 2, passed: 2, failed: 0, errored: 0, blockingFailed: [], failedIds: [] },
};

function stubs(datasets: Record<string, string[]>) {
  return {
    planChecks: async ({ input }: { input: { dataset?: string; team?: string } }) => ({
      datasets: input.dataset ? [input.dataset] : datasets[input.team ?? 'all']!,
    }),
    runDatasetChecks: async (args: DatasetChecksArgs): Promise<DatasetChecksSummary> => {
      const outcome = OUTCOMES[args.dataset];
      if (!outcome) throw ApplicationFailure.nonRetryable(`unknown dataset "${args.dataset}"`, 'UnknownDataset');
      return { dataset: args.dataset, ...outcome };
    },
    record: async (input: { label: string; value?: unknown }) => ({ label: input.label, value: input.value ?? null }),
  };
}

describe('pipelineWorkflow checks nodes, with stub check activities', () => {
  const t = useStubWorker(['planChecks', 'runDatasetChecks', 'record']);
  const start = (spec: Spec) =>
    t.client.workflow.start('pipelineWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId(`pipeline:${spec.id}`),
      args: [{ task_queues: { quality: t.taskQueue }, ...spec }],
    });
  const labels = (rec: ReturnType<typeof t.use>) =>
    rec.calls.filter((c) => c.name === 'record').map((c) => (c.args[0] as { label: string }).label);
  const gated = (id: string, gate: Record<string, unknown>, more: Record<string, unknown> = {}): Spec => ({
    id,
    modules: [
      { id: 'gate', ...more, value: { type: 'checks', ...gate } },
      record('downstream', { after: ['gate'] }, { value: expr('nodes.gate') }),
      record('beside'), // depends on nothing: runs whatever the checks say
    ],
  });

  it('fails the node on a failing blocking check, naming it, and the nodes after it do not run', async () => {
    const rec = t.use(stubs({}));
    const handle = await start(gated('blocked', { dataset: 'shop.orders' }));
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('BlockingChecksFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      /^node gate failed: BlockingChecksFailed: blocking checks failed: shop\.orders\/orders_id_unique \(3 checks, 2 failed, 0 errored; run [0-9a-f-]{36}\)$/,
    );
    expect(failure.details?.[0]).toMatchObject({ failedNode: 'gate', outputs: { beside: { label: 'beside', value: null } } });
    expect(labels(rec)).toEqual(['beside']);
    const progress = await handle.query<Progress>('progress');
    expect([progress.nodes.gate?.status, progress.nodes.downstream?.status, progress.nodes.beside?.status]).toEqual([
      'failed',
      'blocked',
      'succeeded',
    ]);
    // The checks ran once, as the pipeline's own child on the quality queue, with its kind and dataset.
    expect(rec.names().filter((n) => n === 'runDatasetChecks')).toHaveLength(1);
    const child = t.client.workflow.getHandle(`${handle.workflowId}/gate`);
    expect(await searchAttributesOf(child)).toEqual({ kind: 'quality-checks', dataset: 'shop.orders', outcome: 'succeeded' });
  });

  it('with continue_on_error marks the node failed and the nodes after it run, reading its error', async () => {
    const rec = t.use(stubs({}));
    const handle = await start(gated('marked', { dataset: 'shop.orders' }, { continue_on_error: true }));
    const result = (await handle.result()) as Result;
    expect(result.outputs.gate).toEqual({
      error: expect.stringMatching(/^BlockingChecksFailed: blocking checks failed: shop\.orders\/orders_id_unique /),
      node: 'gate',
    });
    expect(result.outputs.downstream).toEqual({ label: 'downstream', value: result.outputs.gate });
    expect(labels(rec).sort()).toEqual(['beside', 'downstream']);
    const progress = await handle.query<Progress>('progress');
    expect(progress.status).toBe('succeeded');
    expect(progress.nodes.gate).toMatchObject({ status: 'failed', error: expect.stringContaining('shop.orders/orders_id_unique') });
  });

  it('passes on failing and errored checks that do not block, giving the counts and their ids downstream', async () => {
    const rec = t.use(stubs({ all: ['shop.customers', 'shop.items'] }));
    const handle = await start(gated('warned', {}));
    const result = (await handle.result()) as Result;
    const { runId } = await t.client.workflow.getHandle(`${handle.workflowId}/gate`).describe();
    const counts = {
      runId,
      checks: 5,
      passed: 3,
      failed: 1,
      errored: 1,
      notPassing: ['shop.items/items_price_range', 'shop.items/items_owner_sql'],
    };
    expect(result.outputs.gate).toEqual(counts);
    expect(result.outputs.downstream).toEqual({ label: 'downstream', value: counts });
    expect(labels(rec).sort()).toEqual(['beside', 'downstream']);
    expect(rec.argsOf('planChecks')[0]).toEqual([{ input: {} }]); // neither dataset nor team: every dataset with checks
  });

  it("blocks when a dataset of the scope could not be checked: its blocking checks' verdict is unknown", async () => {
    const rec = t.use(stubs({ commerce: ['shop.customers', 'shop.gone'] }));
    const handle = await start(gated('unchecked', { team: 'commerce' }));
    const failure = await failureOf(handle.result());
    expect(failure.message).toContain('blocking checks failed: shop.gone (not checked: UnknownDataset: unknown dataset "shop.gone")');
    expect(labels(rec)).toEqual(['beside']);
  });

  it('refuses a checks node with a bad scope before anything runs, naming the node and field', async () => {
    const rec = t.use(stubs({}));
    const handle = await start({
      id: 'bad-checks',
      modules: [
        { id: 'both', value: { type: 'checks', dataset: 'shop.orders', team: 'commerce' } },
        { id: 'typo', value: { type: 'checks', dataset: 'shop.orders', check: ['orders_id_unique'] } },
      ],
    });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toContain('node both: give dataset or team, not both');
    expect(failure.message).toContain('node typo:');
    expect(rec.calls).toEqual([]);
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ChecksActivities, DatasetChecksArgs } from '../../activities/quality/checks.js';
import type { DatasetChecksSummary, QualityChecksProgress, QualityChecksResult } from '../../common/checks.js';
import { eventually, failureOf, gate, searchAttributesOf, useStubWorker } from './support/environment.js';

type Stubs = Pick<ChecksActivities, 'planChecks' | 'runDatasetChecks'>;

/** What a dataset's checks came to, by dataset: the counts the stub activity reports. */
const OUTCOMES: Record<string, Omit<DatasetChecksSummary, 'dataset'>> = {
  'shop.orders': {
    checks: 4,
    passed: 2,
    failed: 2,
    errored: 0,
    blockingFailed: ['orders_id_unique'],
    failedIds: ['orders_id_unique', 'orders_fresh'],
  },
  'shop.customers': { checks: 2, passed: 2, failed: 0, errored: 0, blockingFailed: [], failedIds: [] },
  'shop.items': { checks: 3, passed: 2, failed: 0, errored: 1, blockingFailed: [], failedIds: ['items_owner_sql'] },
};

function stubs(datasets: string[], over: Partial<Stubs> = {}): Stubs {
  return {
    planChecks: async () => ({ datasets }),
    runDatasetChecks: async (args: DatasetChecksArgs) => ({ dataset: args.dataset, ...OUTCOMES[args.dataset]! }),
    ...over,
  };
}

describe('qualityChecksWorkflow with stub activities', () => {
  const t = useStubWorker(['planChecks', 'runDatasetChecks'] satisfies (keyof Stubs)[]);
  const start = (input: object) =>
    t.client.workflow.start('qualityChecksWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('quality-checks:test'),
      args: [input],
    });

  it("plans, runs each dataset's checks under the run's id and returns counts only", async () => {
    const rec = t.use(stubs(['shop.orders']));
    const handle = await start({ dataset: 'shop.orders', checks: ['orders_id_unique', 'orders_fresh'] });
    const result = (await handle.result()) as QualityChecksResult;
    const { runId } = await handle.describe();

    expect(rec.names()).toEqual(['planChecks', 'runDatasetChecks']);
    expect(rec.argsOf('planChecks')[0]).toEqual([{ input: { dataset: 'shop.orders', checks: ['orders_id_unique', 'orders_fresh'] } }]);
    const [args] = rec.argsOf('runDatasetChecks')[0] as [DatasetChecksArgs];
    expect(args).toMatchObject({ runId, dataset: 'shop.orders', checks: ['orders_id_unique', 'orders_fresh'] });
    expect(args.startedAtMs).toBe((await handle.describe()).startTime.getTime());
    expect(result).toEqual({
      runId,
      datasets: [{ dataset: 'shop.orders', ...OUTCOMES['shop.orders'] }],
      checks: 4,
      passed: 2,
      failed: 2,
      errored: 0,
      blockingFailed: ['shop.orders/orders_id_unique'],
      unchecked: [],
    });
    // Failing checks are the data's news, not the run's: every check was evaluated.
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'quality-checks', dataset: 'shop.orders', outcome: 'succeeded' });
  });

  it('checks a team dataset by dataset; one that cannot be checked leaves the run partial, the rest go on', async () => {
    const rec = t.use(
      stubs(['shop.customers', 'shop.gone', 'shop.items', 'shop.orders'], {
        runDatasetChecks: async (args: DatasetChecksArgs) => {
          if (args.dataset === 'shop.gone') throw ApplicationFailure.nonRetryable('unknown dataset "shop.gone"', 'UnknownDataset');
          return { dataset: args.dataset, ...OUTCOMES[args.dataset]! };
        },
      }),
    );
    const handle = await start({ team: 'commerce' });
    const result = (await handle.result()) as QualityChecksResult;
    expect(
      rec
        .argsOf('runDatasetChecks')
        .map(([a]) => (a as DatasetChecksArgs).dataset)
        .sort(),
    ).toEqual(['shop.customers', 'shop.gone', 'shop.items', 'shop.orders']);
    expect(result.datasets.map((d) => d.dataset)).toEqual(['shop.customers', 'shop.items', 'shop.orders']);
    expect([result.checks, result.passed, result.failed, result.errored]).toEqual([9, 6, 2, 1]);
    expect(result.unchecked).toEqual([{ dataset: 'shop.gone', reason: 'UnknownDataset: unknown dataset "shop.gone"' }]);
    expect(await handle.query<QualityChecksProgress>('progress')).toMatchObject({ phase: 'done', datasets: 4, datasetsDone: 4 });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'quality-checks', team: 'commerce', outcome: 'partial' });
  });

  it('shows how far it is while datasets are checked', async () => {
    const slow = gate();
    t.use(
      stubs(['shop.customers', 'shop.orders'], {
        runDatasetChecks: async (args: DatasetChecksArgs) => {
          if (args.dataset === 'shop.orders') await slow.opened;
          return { dataset: args.dataset, ...OUTCOMES[args.dataset]! };
        },
      }),
    );
    const handle = await start({});
    const during = await eventually(
      () => handle.query<QualityChecksProgress>('progress'),
      (p) => p.datasetsDone === 1,
      'one dataset checked',
    );
    expect(during).toMatchObject({ phase: 'checking', datasets: 2, checks: 2, passed: 2 });
    slow.open();
    await handle.result();
  });

  it("fails with the dataset's own error when the one dataset named cannot be checked", async () => {
    const rec = t.use(
      stubs(['shop.orders'], {
        planChecks: async () => {
          throw ApplicationFailure.nonRetryable('dataset shop.orders declares no checks: add a `checks:` list', 'InvalidInput');
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders' });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual([
      'InvalidInput',
      'InvalidInput: dataset shop.orders declares no checks: add a `checks:` list',
    ]);
    expect(rec.names()).toEqual(['planChecks']);
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'quality-checks', dataset: 'shop.orders', outcome: 'failed' });

    const rec2 = t.use(
      stubs(['shop.orders'], {
        runDatasetChecks: async () => {
          throw ApplicationFailure.nonRetryable('MySQL silver at db:3306/silver: no such table', 'MissingTable');
        },
      }),
    );
    const second = await start({ dataset: 'shop.orders' });
    expect((await failureOf(second.result())).type).toBe('MissingTable');
    expect(rec2.names()).toEqual(['planChecks', 'runDatasetChecks']);
  });
});

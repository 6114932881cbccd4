import { readFileSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import type { VectorActivities } from '../../activities/vectors/index.js';
import type { EmbeddingRefreshProgress, EmbeddingRefreshResult, RefreshPageInput, RefreshPageResult } from '../../common/knowledge.js';
import { eventually, failureOf, searchAttributesOf, untilCancelled, useStubWorker } from './support/environment.js';

type Stubs = Pick<VectorActivities, 'planRefresh' | 'refreshPage' | 'finishRefresh'>;

/** A catalog of `pages` pages named `page-1` …: page n embeds n entries and has `failed` refused ones. */
function page(input: RefreshPageInput, pages: number, failed = 0): RefreshPageResult {
  const n = input.after === null ? 1 : Number(input.after.slice('page-'.length)) + 1;
  return { scanned: 10, embedded: n, unchanged: 10 - n, failed, skipped: 0, removed: 0, last: `page-${n}`, done: n === pages };
}

function stubs(pages: number, over: Partial<Stubs> = {}): Stubs {
  return {
    planRefresh: async ({ refreshId }) => ({ refreshId, model: 'bge-small', modelVersion: 'v1.5', entries: 10 * pages }),
    refreshPage: async (input) => page(input, pages),
    finishRefresh: async () => undefined,
    ...over,
  };
}

describe('embeddingRefreshWorkflow with stub activities', () => {
  const t = useStubWorker(['planRefresh', 'refreshPage', 'finishRefresh'] satisfies (keyof Stubs)[]);
  const start = (input: object) =>
    t.client.workflow.start('embeddingRefreshWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('embedding-refresh'),
      args: [input],
    });
  const afters = (rec: ReturnType<typeof t.use>) => rec.argsOf('refreshPage').map(([p]) => (p as RefreshPageInput).after);

  it('pages through the catalog from the last key of each page, then records the refresh', async () => {
    const rec = t.use(stubs(3));
    const handle = await start({ pageSize: 10, batchSize: 4 });
    const result = (await handle.result()) as EmbeddingRefreshResult;

    expect(rec.names()).toEqual(['planRefresh', 'refreshPage', 'refreshPage', 'refreshPage', 'finishRefresh']);
    expect(rec.argsOf('planRefresh')[0]![0]).toMatchObject({ refreshId: handle.firstExecutionRunId });
    expect(afters(rec)).toEqual([null, 'page-1', 'page-2']);
    expect(rec.argsOf('refreshPage')[1]![0]).toMatchObject({
      plan: { refreshId: handle.firstExecutionRunId, model: 'bge-small' },
      pageSize: 10,
      batchSize: 4,
      maxEntryAttempts: 3,
      reembed: false,
      totalsBefore: { scanned: 10, embedded: 1 }, // what earlier pages did, for the activity's heartbeat
    });
    const totals = { scanned: 30, embedded: 6, unchanged: 24, failed: 0, skipped: 0, removed: 0 };
    expect(rec.argsOf('finishRefresh')).toEqual([
      [{ refreshId: handle.firstExecutionRunId, cursor: 'page-3', totals, status: 'succeeded' }],
    ]);
    expect(result).toEqual({
      refreshId: handle.firstExecutionRunId,
      model: 'bge-small',
      modelVersion: 'v1.5',
      pages: 3,
      outcome: 'succeeded',
      ...totals,
    });
    expect(await handle.query<EmbeddingRefreshProgress>('progress')).toMatchObject({
      phase: 'done',
      model: 'bge-small v1.5',
      entries: 30,
      pages: 3,
      cursor: 'page-3',
    });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'embedding-refresh', outcome: 'succeeded', rows: 6 });
  });

  it('ends partial when the model refused entries', async () => {
    const rec = t.use(stubs(2, { refreshPage: async (input) => page(input, 2, 1) }));
    const handle = await start({});
    expect(await handle.result()).toMatchObject({ outcome: 'partial', failed: 2 });
    expect(rec.argsOf('finishRefresh')[0]![0]).toMatchObject({ status: 'partial' });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'partial' });
  });

  it('continues as new every pagesPerRun pages, carrying the cursor, the page count and the totals', async () => {
    const rec = t.use(stubs(5));
    const handle = await start({ pagesPerRun: 2 });
    const result = (await handle.result()) as EmbeddingRefreshResult;
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planRefresh')).toHaveLength(1);
    expect(afters(rec)).toEqual([null, 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(rec.argsOf('refreshPage')[4]![0]).toMatchObject({
      plan: { refreshId: handle.firstExecutionRunId },
      totalsBefore: { scanned: 40, embedded: 10 },
    });
    expect(result).toMatchObject({ refreshId: handle.firstExecutionRunId, pages: 5, scanned: 50, embedded: 15 });
  });

  it("fails with the page's own error and records the refresh as failed at its checkpoint", async () => {
    const rec = t.use(
      stubs(3, {
        refreshPage: async (input) => {
          if (input.after === 'page-1')
            throw ApplicationFailure.nonRetryable('pgvector: dimension 384 expected, got 768', 'DimensionMismatch');
          return page(input, 3);
        },
      }),
    );
    const handle = await start({});
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['DimensionMismatch', 'DimensionMismatch: pgvector: dimension 384 expected, got 768']);
    expect(rec.argsOf('finishRefresh')).toEqual([
      [
        {
          refreshId: handle.firstExecutionRunId,
          cursor: 'page-1',
          totals: expect.objectContaining({ embedded: 1 }),
          status: 'failed',
          error: 'DimensionMismatch: pgvector: dimension 384 expected, got 768',
        },
      ],
    ]);
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'embedding-refresh', outcome: 'failed' });
  });

  it('records a cancelled refresh as cancelled', async () => {
    const rec = t.use(stubs(2, { refreshPage: untilCancelled }));
    const handle = await start({});
    await eventually(
      async () => rec.names(),
      (names) => names.includes('refreshPage'),
      'refreshing started',
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(CancelledFailure);
    expect(rec.argsOf('finishRefresh')[0]![0]).toMatchObject({ status: 'cancelled', cursor: null });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'cancelled' });
  });

  it('fails at once on bad input, naming the field', async () => {
    const rec = t.use(stubs(1));
    const failure = await failureOf((await start({ pageSize: 0, reembed: 'yes' })).result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/^invalid embedding refresh input: /);
    expect(failure.message).toContain('pageSize: ');
    expect(failure.message).toContain('reembed: ');
    expect(rec.calls).toEqual([]);
  });
});

describe('embeddingRefreshWorkflow histories recorded by earlier versions', () => {
  it('replays a refresh of sequential pages (recorded before parallel pages) without a determinism error', async () => {
    // Recorded by `npx tsx test/support/record-embedding-refresh-history.ts` on the sequential version.
    const fixture = new URL('../fixtures/embedding-refresh-history.json', import.meta.url);
    const history = historyFromJSON(JSON.parse(readFileSync(fixture, 'utf8')));
    const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).toEqual(['planRefresh', 'refreshPage', 'refreshPage', 'refreshPage', 'finishRefresh']);
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, 'recorded-embedding-refresh');
  });
});

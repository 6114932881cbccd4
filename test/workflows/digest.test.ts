import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { DigestActivities } from '../../activities/notify/digest.js';
import type { DigestPage, DigestProgress, DigestResult, DigestTotals } from '../../common/digest.js';
import { failureOf, searchAttributesOf, useStubWorker } from './support/environment.js';

type Stubs = Pick<DigestActivities, 'planDigest' | 'deliverDigestPage' | 'finishDigest'>;

/** Recipients paged by key: page i starts at bounds[i]. */
const bounds = (pages: number) => Array.from({ length: pages }, (_, i) => `owner:${String.fromCharCode(97 + i)}`);
/** Each page has 3 recipients: 2 sent, 1 with nothing to report; `refused` of them refused instead. */
const delivered = (refused = 0): DigestTotals => ({
  recipients: 3,
  sent: 2 - refused,
  resent: 0,
  alreadyDone: 0,
  empty: 1,
  failed: refused,
  objects: 3,
});

function stubs(pages: number, over: Partial<Stubs> = {}): Stubs {
  return {
    planDigest: async ({ spec }) => ({ spec, recipients: 3 * pages, bounds: bounds(pages) }),
    deliverDigestPage: async () => delivered(),
    finishDigest: async () => undefined,
    ...over,
  };
}

describe('digestWorkflow with stub activities', () => {
  const t = useStubWorker(['planDigest', 'deliverDigestPage', 'finishDigest'] satisfies (keyof Stubs)[]);
  const start = (input: object) =>
    t.client.workflow.start('digestWorkflow', { taskQueue: t.taskQueue, workflowId: t.workflowId('digest:test'), args: [input] });
  const pagesOf = (rec: ReturnType<typeof t.use>) => rec.argsOf('deliverDigestPage').map(([p]) => p as DigestPage);

  it('plans the recipients as pages of keys and delivers every page between its bounds', async () => {
    const rec = t.use(stubs(3));
    const input = {
      period: { kind: 'daily', date: '2025-01-30' },
      scope: { team: 'commerce' },
      channels: ['email', 'webhook'],
      recipientsPerActivity: 3,
      parallelism: 2,
    };
    const handle = await start(input);
    const result = (await handle.result()) as DigestResult;

    expect(rec.argsOf('planDigest')[0]![0]).toEqual({
      spec: {
        period: {
          kind: 'daily',
          key: 'daily:2025-01-30',
          label: '2025-01-30',
          fromMs: Date.parse('2025-01-30T00:00:00Z'),
          toMs: Date.parse('2025-01-31T00:00:00Z'),
        },
        audience: 'owners',
        scope: { team: 'commerce' },
        channels: ['email', 'webhook'],
        sendEmpty: false,
        asOfMs: Date.parse('2025-01-31T00:00:00Z'), // a period that is over: its end
        workflowId: handle.workflowId,
        digestRunId: handle.firstExecutionRunId,
      },
      recipientsPerPage: 3,
    });
    expect(
      pagesOf(rec)
        .map((p) => [p.index, p.from, p.to])
        .sort(),
    ).toEqual([
      [0, 'owner:a', 'owner:b'],
      [1, 'owner:b', 'owner:c'],
      [2, 'owner:c', null], // the last page is open-ended
    ]);
    expect(result).toEqual({
      period: 'daily:2025-01-30',
      pages: 3,
      recipients: 9,
      sent: 6,
      resent: 0,
      alreadyDone: 0,
      empty: 3,
      failed: 0,
      objects: 9,
    });
    expect(await handle.query<DigestProgress>('progress')).toMatchObject({
      phase: 'done',
      pages: 3,
      pagesDone: 3,
      plannedRecipients: 9,
      sent: 6,
    });
    expect(await searchAttributesOf(handle)).toEqual({
      kind: 'digest',
      team: 'commerce',
      partition: 'daily:2025-01-30',
      outcome: 'succeeded',
      rows: 6,
    });
    expect(rec.argsOf('finishDigest')).toEqual([
      [{ digestRunId: handle.firstExecutionRunId, status: 'succeeded', totals: expect.objectContaining({ recipients: 9, sent: 6 }) }],
    ]);
  });

  it('ends partial when some deliveries were refused', async () => {
    const rec = t.use(stubs(2, { deliverDigestPage: async (p) => delivered(p.index === 1 ? 1 : 0) }));
    const handle = await start({ period: { date: '2025-01-30' } });
    expect(await handle.result()).toMatchObject({ sent: 3, failed: 1 });
    expect(rec.argsOf('finishDigest')[0]![0]).toMatchObject({ status: 'partial', totals: { failed: 1 } });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'partial', rows: 3 });
  });

  it('continues as new every pagesPerRun pages, carrying the plan, the pages done and the totals', async () => {
    const rec = t.use(stubs(5));
    const handle = await start({ period: { kind: 'weekly', date: '2025-01-30' }, pagesPerRun: 2, parallelism: 3 });
    const result = (await handle.result()) as DigestResult;
    expect(rec.argsOf('finishDigest').map(([f]) => (f as { digestRunId: string }).digestRunId)).toEqual([handle.firstExecutionRunId]);
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planDigest')).toHaveLength(1);
    expect(
      pagesOf(rec)
        .map((p) => p.index)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4]); // each page once
    expect(new Set(pagesOf(rec).map((p) => p.spec.digestRunId))).toEqual(new Set([handle.firstExecutionRunId]));
    expect(result).toMatchObject({ period: 'weekly:2025-W05', pages: 5, recipients: 15, sent: 10 });
    expect(await searchAttributesOf(handle)).toMatchObject({
      kind: 'digest',
      partition: 'weekly:2025-W05',
      outcome: 'succeeded',
      rows: 10,
    });
  });

  it("fails with the page's own error type and message on top and records the run failed", async () => {
    const rec = t.use(
      stubs(2, {
        deliverDigestPage: async () => Promise.reject(ApplicationFailure.nonRetryable('SMTP 535: authentication failed', 'SmtpAuth')),
      }),
    );
    const handle = await start({ period: { date: '2025-01-30' }, parallelism: 1 });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['SmtpAuth', 'SmtpAuth: SMTP 535: authentication failed']);
    expect(rec.argsOf('finishDigest')[0]![0]).toMatchObject({
      digestRunId: handle.firstExecutionRunId,
      status: 'failed',
      error: 'SmtpAuth: SMTP 535: authentication failed',
    });
    expect(await handle.query<DigestProgress>('progress')).toMatchObject({ phase: 'failed', pagesDone: 0 });
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'digest', outcome: 'failed' });
  });

  it('fails at once on bad input, naming the field', async () => {
    const rec = t.use(stubs(1));
    const bad = await failureOf((await start({ channels: [], audience: 'everyone' })).result());
    expect(bad.type).toBe('InvalidInput');
    expect(bad.message).toMatch(/^invalid digest input: /);
    expect(bad.message).toContain('channels: ');
    expect(bad.message).toContain('audience: ');
    const future = await failureOf((await start({ period: { date: '2999-01-01' } })).result());
    expect(future.type).toBe('InvalidInput');
    expect(future.message).toContain('period.date: must not be after today');
    expect(rec.calls).toEqual([]);
  });
});

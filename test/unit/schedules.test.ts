import type { IntervalSpecDescription } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { SearchAttr } from '../../common/search-attributes.js';
import { changedFields, createOptionsOf, liveRecordOf, recordOf, updateOptionsOf, type LiveSchedule } from '../../schedules/compile.js';
import { formatDiff } from '../../schedules/command.js';
import { PLATFORM_SCHEDULES, SCHEDULABLE_WORKFLOW_TYPES, syncSchedules } from '../../schedules/registry.js';
import { ScheduleDeclaration, parseScheduleDeclarations, type ScheduleDeclarationInput } from '../../schedules/schema.js';
import { durationMs, formatDuration } from '../../common/time.js';

const ordersSync: ScheduleDeclarationInput = {
  id: 'sync:shop.orders',
  workflowType: 'syncWorkflow',
  team: 'commerce',
  input: { dataset: 'shop.orders' },
  spec: { every: '15m', offset: '7m' },
};

/** The message a set of declarations is rejected with. */
function rejection(...declarations: unknown[]): string {
  try {
    parseScheduleDeclarations(declarations);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the declarations to be rejected');
}

/** What Temporal's describe() returns for a schedule created from the declaration, with its own normalisations. */
function asTemporalDescribesIt(declaration: ScheduleDeclaration, scheduleId: string): LiveSchedule {
  const created = createOptionsOf(declaration, scheduleId);
  return {
    spec: {
      calendars: (created.spec.cronExpressions ?? []).map((cron) => ({
        second: [{ start: 0, end: 0, step: 1 }],
        minute: [],
        hour: [],
        dayOfMonth: [],
        month: [],
        year: [],
        dayOfWeek: [],
        comment: cron.split(' # ')[1]!,
      })),
      // Temporal leaves out a zero offset (whatever the SDK's type says) and a zero jitter.
      intervals: (created.spec.intervals ?? []).map(
        (i) => ({ every: Number(i.every), ...(i.offset ? { offset: Number(i.offset) } : {}) }) as IntervalSpecDescription,
      ),
      skip: [],
      timezone: declaration.spec.timezone,
      ...(declaration.spec.jitter ? { jitter: declaration.spec.jitter } : {}),
    },
    action: {
      ...created.action,
      typedSearchAttributes: new TypedSearchAttributes(created.action.typedSearchAttributes as never),
    } as LiveSchedule['action'],
    policies: { overlap: declaration.overlap, catchupWindow: declaration.catchupWindow, pauseOnFailure: declaration.pauseOnFailure },
  };
}

describe('schedule declarations', () => {
  it('fills the defaults: UTC, the domain task queue, BUFFER_ONE for syncs, a summary of the run', () => {
    const declaration = ScheduleDeclaration.parse(ordersSync);
    expect(declaration).toMatchObject({
      taskQueue: 'spokeflow-ingestion',
      overlap: 'BUFFER_ONE',
      spec: { every: 15 * 60_000, offset: 7 * 60_000, timezone: 'UTC', jitter: 0 },
      catchupWindow: 3_600_000,
      pauseOnFailure: false,
      paused: false,
      summary: 'sync shop.orders',
      kind: 'sync',
      dataset: 'shop.orders',
    });
  });

  it("checks the input against the workflow's own schema and names the field", () => {
    expect(rejection({ ...ordersSync, input: { dataset: 'Bad Name' } })).toMatch(
      /schedule sync:shop\.orders: input\.dataset: must be lower-case words/,
    );
    expect(rejection({ ...ordersSync, input: { dataset: 'shop.orders', pageRows: 0, extra: 1 } })).toMatch(
      /input\.pageRows: .*input: .*extra/,
    );
    expect(rejection({ ...ordersSync, input: undefined })).toMatch(/sync:shop\.orders: input: /);
  });

  it('accepts only workflow types the registry lists', () => {
    expect(SCHEDULABLE_WORKFLOW_TYPES).toEqual([
      'syncWorkflow',
      'anomalyScanWorkflow',
      'healthScoringWorkflow',
      'qualityChecksWorkflow',
      'embeddingRefreshWorkflow',
      'digestWorkflow',
      'pipelineWorkflow',
    ]);
    expect(rejection({ ...ordersSync, workflowType: 'dropEverythingWorkflow' })).toContain('workflowType: must be one of syncWorkflow');
  });

  it('names each bad field of the spec and the policies', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ spec: { every: '15m', cron: ['0 3 * * *'] } }, 'spec.every: give exactly one of every and cron'],
      [{ spec: {} }, 'spec.every: give exactly one of every and cron'],
      [{ spec: { every: 'soon' } }, 'spec.every: must be a duration like 15m'],
      [{ spec: { every: '15m', offset: '15m' } }, 'spec.offset: must be shorter than every'],
      [{ spec: { cron: ['0 3 * * *'], offset: '1m' } }, 'spec.offset: only goes with every'],
      [{ spec: { cron: ['CRON_TZ=Europe/Paris 0 3 * * *'] } }, 'spec.cron.0: must be a cron expression'],
      [{ spec: { cron: ['@every 5m'] } }, 'spec.cron.0: must be a cron expression'],
      [{ spec: { every: '15m', timezone: 'Mars/Olympus_Mons' } }, 'spec.timezone: must be an IANA time zone name'],
      [{ overlap: 'SOMETIMES' }, 'overlap:'],
      [{ catchupWindow: '1s' }, 'catchupWindow: must be at least 10s'],
      [{ paused: true }, 'note: say why the schedule is paused'],
      [{ id: 'Sync Orders' }, 'id: must be a slug'],
      [{ surprise: true }, 'surprise'],
    ];
    for (const [patch, message] of cases) expect(rejection({ ...ordersSync, ...patch })).toContain(message);
  });

  it('refuses two declarations with one id', () => {
    expect(rejection(ordersSync, ordersSync)).toContain('sync:shop.orders: declared twice');
  });

  it('reads and writes durations in their shortest form', () => {
    expect(durationMs('1h30m')).toBe(5_400_000);
    expect(durationMs('90m')).toBe(5_400_000);
    expect(durationMs('')).toBeUndefined();
    expect(durationMs('15 minutes')).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(86_400_000 + 1_000)).toBe('1d1s');
  });
});

describe('the registry', () => {
  const declared = parseScheduleDeclarations(PLATFORM_SCHEDULES);

  it('syncs every demo dataset every 15 minutes in UTC, each at its own minute', () => {
    const syncs = declared.filter((d) => d.workflowType === 'syncWorkflow');
    expect(syncs.map((d) => d.id).sort()).toEqual([
      'sync:shop.customers',
      'sync:shop.order_lines',
      'sync:shop.orders',
      'sync:shop.products',
    ]);
    for (const d of syncs) {
      expect(d).toMatchObject({ workflowType: 'syncWorkflow', overlap: 'BUFFER_ONE', spec: { every: 15 * 60_000, timezone: 'UTC' } });
    }
    const offsets = syncs.map((d) => d.spec.offset);
    expect(new Set(offsets).size).toBe(syncs.length);
  });

  it('runs the nightly pipeline of pipelines/nightly.yaml at 01:30 UTC, its spec checked like any input', () => {
    const nightly = declared.find((d) => d.id === 'pipeline:nightly');
    expect(nightly).toMatchObject({ workflowType: 'pipelineWorkflow', spec: { cron: ['30 1 * * *'], timezone: 'UTC' } });
    expect((nightly!.input as { modules: { id: string }[] }).modules.map((m) => m.id)).toEqual([
      'datasets',
      'sync',
      'quality_checks',
      'anomaly_scan',
      'health',
      'embeddings',
      'digest',
    ]);
  });

  it('staggers the syncs of a team in list order and wraps around the interval', () => {
    const schedules = syncSchedules({
      team: 'commerce',
      datasets: ['a.one', 'a.two', 'a.three'],
      every: '10m',
      offset: '4m',
      stagger: '3m',
    });
    expect(schedules.map((s) => s.spec.offset)).toEqual(['4m', '7m', '0s']);
    expect(schedules.map((s) => s.id)).toEqual(['sync:a.one', 'sync:a.two', 'sync:a.three']);
  });
});

describe('comparing a declaration with the schedule Temporal holds', () => {
  const nightly = ScheduleDeclaration.parse({
    id: 'sync-full:shop.customers',
    workflowType: 'syncWorkflow',
    team: 'growth',
    input: { mode: 'full', dataset: 'shop.customers' },
    spec: { cron: ['30  2 * * MON-FRI'], timezone: 'Europe/Paris', jitter: '5m' },
  });
  const orders = ScheduleDeclaration.parse(ordersSync);

  it('finds no change in an unchanged declaration, whatever Temporal normalised', () => {
    const hourly = ScheduleDeclaration.parse({ ...ordersSync, spec: { every: '1h' } });
    for (const declaration of [orders, nightly, hourly]) {
      const live = asTemporalDescribesIt(declaration, `spokeflow:${declaration.id}`);
      expect(changedFields(recordOf(declaration), live.action.memo?.['spokeflow-declaration'], liveRecordOf(live))).toEqual([]);
    }
  });

  it('names exactly the changed field', () => {
    const live = asTemporalDescribesIt(orders, 'spokeflow:sync:shop.orders');
    const every30 = ScheduleDeclaration.parse({ ...ordersSync, spec: { every: '30m', offset: '7m' } });
    expect(changedFields(recordOf(every30), live.action.memo?.['spokeflow-declaration'], liveRecordOf(live))).toEqual(['spec.every']);
    const paused = ScheduleDeclaration.parse({ ...ordersSync, paused: true, note: 'source migration' });
    expect(changedFields(recordOf(paused), live.action.memo?.['spokeflow-declaration'], liveRecordOf(live))).toEqual(['paused', 'note']);
  });

  it('treats equal inputs and cron texts as equal, whatever their key order and spacing', () => {
    const reordered = ScheduleDeclaration.parse({ ...ordersSync, input: { pageRows: 10, dataset: 'shop.orders' } });
    const sameInput = ScheduleDeclaration.parse({ ...ordersSync, input: { dataset: 'shop.orders', pageRows: 10 } });
    expect(recordOf(reordered)).toEqual(recordOf(sameInput));
    expect(recordOf(nightly)['spec.cron']).toEqual(['30 2 * * MON-FRI']);
  });

  it('sees a change made on the server even when the declaration is the same as last applied', () => {
    const live = asTemporalDescribesIt(orders, 'spokeflow:sync:shop.orders');
    const drifted = {
      ...live,
      policies: { ...live.policies, overlap: 'SKIP' as const },
      action: { ...live.action, taskQueue: 'elsewhere' },
    };
    expect(changedFields(recordOf(orders), live.action.memo?.['spokeflow-declaration'], liveRecordOf(drifted))).toEqual([
      'taskQueue',
      'overlap',
    ]);
  });

  it("keeps an operator's pause on update unless the declaration changes paused", () => {
    const byOperator = { state: { paused: true, note: 'ops: incident 42' } };
    expect(updateOptionsOf(orders, 'spokeflow:sync:shop.orders', byOperator, ['spec.every']).state).toMatchObject({
      paused: true,
      note: 'ops: incident 42',
    });
    expect(updateOptionsOf(orders, 'spokeflow:sync:shop.orders', byOperator, ['paused']).state).toMatchObject({ paused: false, note: '' });
  });

  it('starts runs with a deterministic workflow id and the dataset, team and kind search attributes', () => {
    const { action } = createOptionsOf(orders, 'spokeflow:sync:shop.orders');
    expect(action.workflowId).toBe('spokeflow:sync:shop.orders');
    expect(action.typedSearchAttributes).toEqual([
      { key: SearchAttr.dataset, value: 'shop.orders' },
      { key: SearchAttr.team, value: 'commerce' },
      { key: SearchAttr.kind, value: 'sync' },
    ]);
  });
});

describe('the printed diff', () => {
  it('shows each schedule with its changed fields, and says when nothing changed', () => {
    const text = formatDiff(
      {
        create: ['spokeflow:a'],
        update: [{ id: 'spokeflow:b', changes: ['spec.every', 'overlap'] }],
        delete: [],
        unchanged: ['spokeflow:c'],
        conflicts: [],
      },
      { dryRun: true, prune: true },
    );
    expect(text).toContain('+ create     spokeflow:a');
    expect(text).toContain('~ update     spokeflow:b  (spec.every, overlap)');
    expect(text).toContain('dry run, nothing changed: would create 1, update 1, delete 0; 1 unchanged');
  });
});

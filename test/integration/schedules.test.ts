import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SearchAttr } from '../../common/search-attributes.js';
import { applySchedules, listManagedSchedules } from '../../schedules/apply.js';
import { syncSchedules } from '../../schedules/registry.js';
import type { ScheduleDeclarationInput } from '../../schedules/schema.js';
import { loadConfig } from '../../runtime/config.js';
import { connectClient } from '../../runtime/temporal.js';

// A prefix of this run's own: prune is limited to it, so the demo's schedules are never touched.
const prefix = `test-${randomUUID().slice(0, 8)}:`;
// Paused, so no test schedule ever starts a run.
const neverFires = { paused: true, note: 'integration test schedule' };

const syncs = (changes: { ordersEvery?: string; without?: string } = {}): ScheduleDeclarationInput[] =>
  syncSchedules({
    team: 'commerce',
    datasets: ['shop.orders', 'shop.order_lines', 'shop.products'],
    every: '15m',
    offset: '1m',
    declare: neverFires,
  })
    .filter((d) => d.id !== changes.without)
    .map((d) => (d.id === 'sync:shop.orders' && changes.ordersEvery ? { ...d, spec: { ...d.spec, every: changes.ordersEvery } } : d));

const nightlyFull: ScheduleDeclarationInput = {
  id: 'sync-full:shop.customers',
  workflowType: 'syncWorkflow',
  team: 'growth',
  input: { dataset: 'shop.customers', mode: 'full' },
  spec: { cron: ['30 2 * * MON-FRI'], timezone: 'Europe/Paris', jitter: '5m' },
  ...neverFires,
};

const id = (declarationId: string) => `${prefix}${declarationId}`;

let connection: Connection;
let client: Client;
const touched = new Set<string>();

async function describeSchedule(scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** Revision of a schedule: Temporal bumps the conflict token on every update. */
async function revision(scheduleId: string): Promise<string> {
  const description = await describeSchedule(scheduleId);
  return Buffer.from(description!.raw.conflictToken ?? []).toString('hex');
}

/** Schedule listing is eventually consistent: wait until it shows what prune must see. */
async function untilListed(ids: string[]): Promise<void> {
  for (;;) {
    const listed = new Set<string>();
    for await (const s of client.schedule.list()) listed.add(s.scheduleId);
    if (ids.every((i) => listed.has(i))) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  const config = loadConfig();
  ({ client, connection } = await connectClient(config));
});

afterAll(async () => {
  for (const scheduleId of touched) {
    if (await describeSchedule(scheduleId)) await client.schedule.getHandle(scheduleId).delete();
  }
  await connection?.close();
});

describe('applySchedules against the Temporal dev server', () => {
  it('creates every declared schedule with deterministic ids, the declared spec and policies, and search attributes on the runs', async () => {
    const diff = await applySchedules(client, [...syncs(), nightlyFull], { prefix });
    diff.create.forEach((i) => touched.add(i));

    expect(diff).toEqual({
      create: [id('sync:shop.orders'), id('sync:shop.order_lines'), id('sync:shop.products'), id('sync-full:shop.customers')],
      update: [],
      delete: [],
      unchanged: [],
      conflicts: [],
    });
    const orders = (await describeSchedule(id('sync:shop.orders')))!;
    expect(orders.spec.intervals).toEqual([{ every: 15 * 60_000, offset: 60_000 }]);
    expect(orders.spec.timezone).toBe('UTC');
    expect(orders.policies.overlap).toBe('BUFFER_ONE');
    expect(orders.state).toMatchObject({ paused: true, note: 'integration test schedule' });
    expect(orders.memo).toMatchObject({ 'spokeflow-managed': true });
    expect(orders.action).toMatchObject({
      workflowType: 'syncWorkflow',
      taskQueue: 'spokeflow-ingestion',
      workflowId: id('sync:shop.orders'),
      args: [{ dataset: 'shop.orders' }],
      staticSummary: 'sync shop.orders',
    });
    const runAttributes = orders.action.typedSearchAttributes as TypedSearchAttributes;
    expect([SearchAttr.dataset, SearchAttr.team, SearchAttr.kind].map((key) => runAttributes.get(key))).toEqual([
      'shop.orders',
      'commerce',
      'sync',
    ]);
    const lines = (await describeSchedule(id('sync:shop.order_lines')))!;
    expect(lines.spec.intervals).toEqual([{ every: 15 * 60_000, offset: 3 * 60_000 }]); // staggered after orders

    const nightly = (await describeSchedule(id('sync-full:shop.customers')))!;
    expect(nightly.spec).toMatchObject({ timezone: 'Europe/Paris', jitter: 5 * 60_000 });
    expect(nightly.spec.calendars).toHaveLength(1);
    expect(nightly.spec.calendars![0]).toMatchObject({
      hour: [{ start: 2, end: 2 }],
      minute: [{ start: 30, end: 30 }],
      comment: '30 2 * * MON-FRI',
    });
  });

  it('changes nothing when applied again: every schedule unchanged, none updated on the server', async () => {
    const ids = [id('sync:shop.orders'), id('sync:shop.order_lines'), id('sync:shop.products'), id('sync-full:shop.customers')];
    const before = await Promise.all(ids.map(async (i) => ({ revision: await revision(i), description: await describeSchedule(i) })));

    const diff = await applySchedules(client, [...syncs(), nightlyFull], { prefix });

    expect(diff).toEqual({ create: [], update: [], delete: [], unchanged: ids, conflicts: [] });
    for (const [index, scheduleId] of ids.entries()) {
      const after = (await describeSchedule(scheduleId))!;
      expect(await revision(scheduleId)).toBe(before[index]!.revision);
      expect(after.info.lastUpdatedAt).toEqual(before[index]!.description!.info.lastUpdatedAt);
      expect(after.action.memo).toEqual(before[index]!.description!.action.memo);
    }
  });

  it('updates exactly the schedule whose interval changed, naming the field, and keeps its paused state', async () => {
    const diff = await applySchedules(client, [...syncs({ ordersEvery: '30m' }), nightlyFull], { prefix });

    expect(diff.create).toEqual([]);
    expect(diff.update).toEqual([{ id: id('sync:shop.orders'), changes: ['spec.every'] }]);
    expect(diff.unchanged).toHaveLength(3);
    const orders = (await describeSchedule(id('sync:shop.orders')))!;
    expect(orders.spec.intervals).toEqual([{ every: 30 * 60_000, offset: 60_000 }]);
    expect(orders.state.paused).toBe(true);

    const again = await applySchedules(client, [...syncs({ ordersEvery: '30m' }), nightlyFull], { prefix });
    expect(again.update).toEqual([]);
    expect(again.unchanged).toHaveLength(4);
  });

  it("leaves an operator's pause note alone, and restores a policy someone changed on the server", async () => {
    const orders = client.schedule.getHandle(id('sync:shop.orders'));
    await orders.pause('ops: source maintenance until Friday');
    await orders.update((previous) => ({ ...previous, policies: { ...previous.policies, overlap: 'SKIP' } }));

    const diff = await applySchedules(client, [...syncs({ ordersEvery: '30m' }), nightlyFull], { prefix });

    expect(diff.update).toEqual([{ id: id('sync:shop.orders'), changes: ['overlap'] }]);
    const after = await orders.describe();
    expect(after.policies.overlap).toBe('BUFFER_ONE');
    expect(after.state).toMatchObject({ paused: true, note: 'ops: source maintenance until Friday' });
  });

  it('reports in a dry run what would change and changes nothing', async () => {
    const products = id('sync:shop.products');
    const productsRevision = await revision(products);
    const added: ScheduleDeclarationInput = {
      ...nightlyFull,
      id: 'sync-full:shop.products',
      input: { dataset: 'shop.products', mode: 'full' },
    };
    const declarations = [...syncs({ ordersEvery: '30m' }), nightlyFull, added].map((d) =>
      d.id === 'sync:shop.products' ? { ...d, spec: { ...d.spec, jitter: '30s' } } : d,
    );

    const diff = await applySchedules(client, declarations, { prefix, dryRun: true, prune: true });

    expect(diff.create).toEqual([id('sync-full:shop.products')]);
    expect(diff.update).toEqual([{ id: products, changes: ['spec.jitter'] }]);
    expect(await describeSchedule(id('sync-full:shop.products'))).toBeUndefined();
    expect(await revision(products)).toBe(productsRevision);
  });

  it('prunes only managed schedules that are no longer declared, and never touches one it does not manage', async () => {
    const foreign = id('hand-made');
    const squatter = id('sync:shop.customers'); // a declared id, taken by a schedule spokeflow did not create
    for (const scheduleId of [foreign, squatter]) {
      touched.add(scheduleId);
      await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1h' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'syncWorkflow',
          taskQueue: 'spokeflow-ingestion',
          args: [{ dataset: 'shop.customers' }],
        },
        state: { paused: true, note: 'made by hand' },
      });
    }
    const squatterRevision = await revision(squatter);
    await untilListed([foreign, squatter, id('sync:shop.products')]);
    const customers = syncSchedules({ team: 'growth', datasets: ['shop.customers'], every: '15m', declare: neverFires });

    const diff = await applySchedules(
      client,
      [...syncs({ ordersEvery: '30m', without: 'sync:shop.products' }), nightlyFull, ...customers],
      {
        prefix,
        prune: true,
      },
    );

    expect(diff.delete).toEqual([id('sync:shop.products')]);
    expect(diff.conflicts).toEqual([{ id: squatter, reason: expect.stringContaining('not created by spokeflow') }]);
    expect(diff.unchanged).toEqual([id('sync:shop.orders'), id('sync:shop.order_lines'), id('sync-full:shop.customers')]);
    expect(await describeSchedule(id('sync:shop.products'))).toBeUndefined();
    expect(await describeSchedule(foreign)).toBeDefined();
    expect(await revision(squatter)).toBe(squatterRevision);
    expect((await listManagedSchedules(client, prefix)).map((s) => s.id)).not.toContain(foreign);
  });

  it('rejects a declaration with a bad input, naming the field, before creating anything', async () => {
    const good = syncSchedules({ team: 'commerce', datasets: ['shop.refunds'], every: '1h', declare: neverFires });
    const bad = syncSchedules({ team: 'commerce', datasets: ['Bad Name'], every: '1h', declare: neverFires });

    await expect(applySchedules(client, [...good, ...bad], { prefix })).rejects.toThrow(
      /schedule sync:Bad Name: id: must be a slug.*input\.dataset: must be lower-case words/,
    );
    expect(await describeSchedule(id('sync:shop.refunds'))).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workers/plugins.js';
import { TRACING_WORKFLOW_MODULES } from '../../workers/plugin-options.js';
import { openHarness, type Harness } from '../support/harness.js';

const FIXTURE = new URL('../fixtures/sync-history.json', import.meta.url);
/** Recorded by `npx tsx test/support/record-history-before-key-ranges.ts <older workflows/index.ts>`. */
const BEFORE_KEY_RANGES = new URL('../fixtures/sync-history-before-key-ranges.json', import.meta.url);

describe('replaying sync histories against the current workflow code', () => {
  let h: Harness;
  const tag = `t${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(async () => {
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.replay_${tag}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`replay_${tag}\``);
    await h.close();
  });

  it('replays the recorded history of an earlier version without a determinism error', async () => {
    // Recorded by `npx tsx test/support/record-history.ts`: a change to syncWorkflow that would
    // break running workflows fails here.
    const history = historyFromJSON(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    expect(history.events?.length).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'recorded-sync');
  });

  it('replays it with tracing on: a worker that starts tracing can take over runs started without', async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    await Worker.runReplayHistory(
      {
        workflowsPath: WORKFLOWS_PATH,
        interceptors: { workflowModules: TRACING_WORKFLOW_MODULES },
        sinks: { exporter: { export: { fn: () => undefined } } }, // the span sink a tracing worker has
      },
      history,
      'recorded-sync-traced',
    );
  });

  it('replays a run begun before key ranges whose plan asks for them (planned by a newer worker): it copies chunk after chunk', async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(BEFORE_KEY_RANGES, 'utf8')));
    const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled.filter((name) => name === 'copyChunk')).toHaveLength(3);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'recorded-sync-before-key-ranges');
  });

  it('replays a fresh multi-chunk history', async () => {
    await h.postgres.query(`CREATE TABLE public.replay_${tag} AS SELECT g AS id, now() AS at FROM generate_series(1, 2500) g`);
    await h.declarePublicTable(`replay.${tag}`, `replay_${tag}`);
    const workflowId = `test-replay-${tag}`;
    await h.client.workflow.execute('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ dataset: `replay.${tag}`, pageRows: 500, pagesPerChunk: 2 }],
    });
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    expect(scheduled).toBe(7); // take the lease, plan, 3 chunks (2 + 2 + 1 pages), finish, release
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, workflowId);
  });
});

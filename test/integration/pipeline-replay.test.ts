import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { openPipelineDevWorker, type PipelineDevWorker } from '../support/pipeline-dev-worker.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineProgress, PipelineResult } from '../../common/pipeline/spec.js';
import { WORKFLOWS_PATH } from '../../workers/plugins.js';
import { everyKindSpec, pipelineTestBundle } from '../support/pipeline-worker.js';

const FIXTURE = new URL('../fixtures/pipeline-history.json', import.meta.url);

describe('replaying pipeline histories against the current workflow code', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-pipeline-replay-${tag}`;
  let client: Client;
  let dev: PipelineDevWorker;

  beforeAll(async () => {
    dev = await openPipelineDevWorker(taskQueue);
    ({ client } = dev);
  });

  afterAll(async () => {
    await dev?.close();
  });

  it('replays the recorded history of an earlier version without a determinism error', async () => {
    // Recorded by `npx tsx test/support/record-pipeline-history.ts`: every node kind, an approval
    // update, local activities (markers), a child and timers. A change to pipelineWorkflow that
    // would break running pipelines fails here.
    const history = historyFromJSON(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    const kinds = new Set((history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes'))));
    for (const k of [
      'markerRecordedEventAttributes',
      'startChildWorkflowExecutionInitiatedEventAttributes',
      'timerStartedEventAttributes',
      'workflowExecutionUpdateAcceptedEventAttributes',
    ]) {
      expect(kinds).toContain(k);
    }
    // Child ids derive from the pipeline's workflow id: replay under the id it was recorded with.
    const child = history.events?.find(
      (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
    )?.startChildWorkflowExecutionInitiatedEventAttributes;
    const workflowId = String(child?.workflowId).replace(/\/child$/, '');
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, workflowId);
  });

  it('replays a fresh history of every node kind', async () => {
    const workflowId = `test-pipeline-replay-${tag}`;
    const handle = await client.workflow.start('pipelineWorkflow', {
      taskQueue,
      workflowId,
      args: [everyKindSpec(`replay-${tag}`, taskQueue)],
    });
    for (let i = 0; i < 400; i++) {
      if ((await handle.query<PipelineProgress>('progress')).waitingForApproval.includes('go')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await handle.executeUpdate('approve', { args: [{ node: 'go', by: 'replayer' }] });
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.done).toEqual({ sum: 2 * (2 + 3 + 4 + 5) + 2 });
    expect((result.outputs.both as unknown[])[1]).toMatchObject({ error: expect.stringContaining('oops failed as asked') });
    expect(result.outputs.gate).toMatchObject({ checks: 2, passed: 2, failed: 0, notPassing: [] });
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await pipelineTestBundle() }, history, workflowId);
  });
});

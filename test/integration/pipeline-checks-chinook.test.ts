import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckResultStore } from '../../activities/catalog/check-results.js';
import type { PipelineFailureDetails, PipelineProgress, PipelineResult, PipelineSpecInput } from '../../common/pipeline/spec.js';
import { qualityChecksWorkflowId } from '../../common/workflow-ids.js';
import { chinookFixture } from '../support/chinook.js';
import { openHarness, type Harness } from '../support/harness.js';

describe('a blocking check on a Chinook table stops the pipeline node after it', () => {
  const tag = `p${randomUUID().slice(0, 8)}`;
  const team = `music-${tag}`;
  const chinook = chinookFixture(tag, team);
  const customer = chinook.dataset('customer');
  let h: Harness; // ingestion worker: the pipeline runner, syncs and listDatasets
  let q: Harness; // quality worker: the checks
  let n = 0;

  // sync → checks → a node that reads what the sync brought in (here: the team's catalog).
  const spec = (): PipelineSpecInput => ({
    id: `checks-${tag}`,
    input: { team },
    task_queues: { ingestion: h.taskQueue, quality: q.taskQueue },
    modules: [
      {
        id: 'sync',
        value: {
          type: 'workflow',
          name: 'syncWorkflow',
          input_transforms: { dataset: { type: 'static', value: customer }, mode: { type: 'static', value: 'full' } },
        },
      },
      { id: 'gate', after: ['sync'], value: { type: 'checks', dataset: customer } },
      {
        id: 'downstream',
        after: ['gate'],
        value: { type: 'activity', name: 'listDatasets', local: true, input_transforms: { team: { type: 'expr', expr: 'input.team' } } },
      },
    ],
  });
  const start = () =>
    h.client.workflow.start('pipelineWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-pipeline-checks-${tag}-${++n}`,
      args: [spec()],
    });

  beforeAll(async () => {
    h = await openHarness();
    q = await openHarness({ domain: 'quality' });
    await chinook.load(h.postgres);
    await h.datasets.upsert(
      chinook.declaration('customer', [
        { id: 'customer_email_unique', kind: 'unique', severity: 'error', blocking: true, columns: ['email'] },
        { id: 'customer_first_name_not_null', kind: 'not_null', severity: 'error', column: 'first_name' },
      ]),
    );
    // A failing check that does not block, in both runs.
    await h.postgres.query(
      `SET search_path TO "${chinook.schema}"; ALTER TABLE customer ALTER COLUMN first_name DROP NOT NULL; UPDATE customer SET first_name = NULL WHERE customer_id = 5;`,
    );
  }, 120_000);

  afterAll(async () => {
    if (!h) return;
    // The syncs started the dataset's own checks on the shared quality queue (fire-and-forget): not this file's to leave running.
    await h.client.workflow
      .getHandle(qualityChecksWorkflowId({ dataset: customer }))
      .terminate('its test file ended')
      .catch(() => undefined);
    await chinook.drop(h.postgres, h.warehouse, ['customer']);
    await q?.close();
    await h.close();
  });

  it('fails the checks node naming the planted duplicate, and the downstream node does not run', async () => {
    await h.postgres.query(
      `SET search_path TO "${chinook.schema}"; UPDATE customer SET email = (SELECT email FROM customer WHERE customer_id = 1) WHERE customer_id = 2;`,
    );
    const handle = await start();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('BlockingChecksFailed');
    expect(failure.message).toMatch(
      new RegExp(
        `^node gate failed: BlockingChecksFailed: blocking checks failed: ${customer}/customer_email_unique \\(2 checks, 2 failed, 0 errored; run `,
      ),
    );
    const details = failure.details?.[0] as PipelineFailureDetails;
    expect(details.failedNode).toBe('gate');
    expect(Object.keys(details.outputs)).toEqual(['sync']);
    expect(details.outputs.sync).toMatchObject({ dataset: customer, rows: 59 });
    const progress = await handle.query<PipelineProgress>('progress');
    expect([progress.nodes.sync?.status, progress.nodes.gate?.status, progress.nodes.downstream?.status]).toEqual([
      'succeeded',
      'failed',
      'blocked',
    ]);
    // The gate's own run of the checks recorded what it found, against silver as the sync left it.
    const { runId } = await h.client.workflow.getHandle(`${handle.workflowId}/gate`).describe();
    const stored = await createCheckResultStore(q.clients.catalog).ofRun(runId);
    expect(Object.fromEntries(stored.map((r) => [r.checkId, [r.status, r.failing]]))).toEqual({
      customer_email_unique: ['failed', 2],
      customer_first_name_not_null: ['failed', 1],
    });
  });

  it('runs the downstream node once the violation is gone, a failing non-blocking check notwithstanding', async () => {
    await h.postgres.query(
      `SET search_path TO "${chinook.schema}"; UPDATE customer SET email = 'leonekohler@surfeu.de' WHERE customer_id = 2;`,
    );
    const handle = await start();
    const result = (await handle.result()) as PipelineResult;
    expect(result.outputs.gate).toEqual({
      runId: expect.any(String),
      checks: 2,
      passed: 1,
      failed: 1,
      errored: 0,
      notPassing: [`${customer}/customer_first_name_not_null`],
    });
    expect(result.outputs.downstream).toEqual({ names: [customer], count: 1 });
    expect(result.nodes.downstream?.status).toBe('succeeded');
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError, validateInput } from '../../cli/run.js';
import { WORKFLOW_TYPES } from '../../common/workflows.js';
import { failureOf, useStubWorker } from './support/environment.js';

/**
 * Malformed inputs of every workflow, each with the field its refusal must name. Every one is
 * refused twice: by the CLI before anything connects, and by the workflow itself when a client
 * other than ours starts it (the Web UI, `temporal workflow start`), non-retryably, before any
 * activity runs.
 */
const CASES: [workflow: string, input: unknown, field: string][] = [
  // sync
  ['syncWorkflow', {}, 'dataset'],
  ['syncWorkflow', { dataset: 'Shop Orders' }, 'dataset'],
  ['syncWorkflow', { dataset: 'shop.orders', mode: 'sideways' }, 'mode'],
  ['syncWorkflow', { dataset: 'shop.orders', pageRows: 0 }, 'pageRows'],
  ['syncWorkflow', { dataset: 'shop.orders', pageRows: 2.5 }, 'pageRows'],
  ['syncWorkflow', { dataset: 'shop.orders', pageRows: '100' }, 'pageRows'],
  ['syncWorkflow', { dataset: 'shop.orders', pagesPerChunk: -1 }, 'pagesPerChunk'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: '2024-02-30', to: '2024-03-02' } }, 'window.from'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: '2024-03-01', to: '2024-03-01T25:00' } }, 'window.to'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: '2024-03-02', to: '2024-03-01' } }, 'window.to'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: '2024-03-01', to: 100 } }, 'window.to'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: 'yesterday', to: 'today' } }, 'window.from'],
  ['syncWorkflow', { dataset: 'shop.orders', window: { from: '2024-03-01' } }, 'window.to'],
  ['syncWorkflow', { dataset: 'shop.orders', colour: 'blue' }, '(input)'], // an unknown key
  // backfill
  ['backfillWorkflow', { from: '2024-03-01', to: '2024-03-02' }, 'dataset'],
  ['backfillWorkflow', { dataset: 'shop.orders', to: '2024-03-02' }, 'from'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-13-01', to: '2024-14-01' }, 'from'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2023-02-29', to: '2023-03-02' }, 'from'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-01' }, 'to'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-02T00:00+01:00', to: '2024-03-01T22:00Z' }, 'to'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-02', granularity: 'weekly' }, 'granularity'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-02', mode: 'some' }, 'mode'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-02', concurrency: 0 }, 'concurrency'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-02', partitionsPerRun: 0 }, 'partitionsPerRun'],
  ['backfillWorkflow', { dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-02', offset: 3 }, '(input)'],
  // anomaly scan
  ['anomalyScanWorkflow', { datasets: [] }, 'datasets'],
  ['anomalyScanWorkflow', { datasets: ['Not A Name'] }, 'datasets.0'],
  ['anomalyScanWorkflow', { team: 'Commerce Team' }, 'team'],
  ['anomalyScanWorkflow', { metrics: ['temperature'] }, 'metrics.0'],
  ['anomalyScanWorkflow', { window: { from: '2025-01-01T00:00:00Z' } }, 'window.to'],
  ['anomalyScanWorkflow', { window: { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' } }, 'window.to'],
  ['anomalyScanWorkflow', { window: { from: '2025-02-30T00:00:00Z', to: '2025-03-01T00:00:00Z' } }, 'window.from'],
  ['anomalyScanWorkflow', { window: { from: '2025-01-01', to: '2025-01-02' } }, 'window.from'],
  ['anomalyScanWorkflow', { window: { lastHours: 0 } }, 'window.lastHours'],
  ['anomalyScanWorkflow', { window: { lastHours: 24, from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' } }, 'window.lastHours'],
  ['anomalyScanWorkflow', { trainingDays: 0 }, 'trainingDays'],
  ['anomalyScanWorkflow', { detector: { sensitivity: 2 } }, 'detector.sensitivity'],
  ['anomalyScanWorkflow', { detector: { direction: 'sideways' } }, 'detector.direction'],
  ['anomalyScanWorkflow', { parallelism: 100 }, 'parallelism'],
  // health scoring
  ['healthScoringWorkflow', { day: '2025-02-29' }, 'day'],
  ['healthScoringWorkflow', { day: '31/01/2025' }, 'day'],
  ['healthScoringWorkflow', { team: '' }, 'team'],
  ['healthScoringWorkflow', { weights: { freshness: -1 } }, 'weights.freshness'],
  ['healthScoringWorkflow', { weights: { freshness: 101 } }, 'weights.freshness'],
  // quality checks
  ['qualityChecksWorkflow', { dataset: 'Shop Orders' }, 'dataset'],
  ['qualityChecksWorkflow', { dataset: 'shop.orders', team: 'commerce' }, 'team'],
  ['qualityChecksWorkflow', { dataset: 'shop.orders', checks: [] }, 'checks'],
  ['qualityChecksWorkflow', { dataset: 'shop.orders', checks: ['Orders-Unique'] }, 'checks.0'],
  // embedding refresh
  ['embeddingRefreshWorkflow', { pageSize: 0 }, 'pageSize'],
  ['embeddingRefreshWorkflow', { batchSize: 1000 }, 'batchSize'],
  ['embeddingRefreshWorkflow', { reembed: 'yes' }, 'reembed'],
  // digest
  ['digestWorkflow', { period: { kind: 'monthly' } }, 'period.kind'],
  ['digestWorkflow', { period: { kind: 'daily', date: '2025-04-31' } }, 'period.date'],
  ['digestWorkflow', { audience: 'everyone' }, 'audience'],
  ['digestWorkflow', { scope: { owners: [] } }, 'scope.owners'],
  ['digestWorkflow', { channels: ['pigeon'] }, 'channels.0'],
  ['digestWorkflow', { channels: [] }, 'channels'],
  ['digestWorkflow', { parallelism: 0 }, 'parallelism'],
  // pipeline
  ['pipelineWorkflow', { modules: [] }, 'id'],
  ['pipelineWorkflow', { id: 'p', modules: 'sync everything' }, 'modules'],
];

/** `field:` as a pattern. */
const named = (field: string) => `${field.replace(/[.()]/g, (c) => `\\${c}`)}:`;

describe('malformed inputs are refused at once, naming the field', () => {
  const t = useStubWorker([]);
  const started: string[] = [];

  it('covers every workflow with at least 50 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(CASES.map(([workflow]) => workflow))).toEqual(new Set(WORKFLOW_TYPES));
  });

  it.each(CASES)('%s %j: the CLI refuses it before anything starts, naming %s', (workflow, input, field) => {
    let refusal: unknown;
    try {
      validateInput(workflow, input);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toMatch(new RegExp(`^invalid ${workflow} input: (.*; )?${named(field)}`));
  });

  it.each(CASES)('%s %j: the workflow fails non-retryably, naming %s', async (workflow, input, field) => {
    const handle = await t.client.workflow.start(workflow, {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('malformed'),
      args: [input],
    });
    started.push(handle.workflowId);
    const failure = await failureOf(handle.result());
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(new RegExp(`(: |; )${named(field)}`));
    // It failed on its first workflow task: no activity was ever scheduled.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
  });

  it('leaves nothing running', async () => {
    expect(started).toHaveLength(CASES.length);
    const statuses = await Promise.all(started.map(async (id) => (await t.client.workflow.getHandle(id).describe()).status.name));
    expect(statuses.filter((s) => s !== 'FAILED')).toEqual([]);
  });
});

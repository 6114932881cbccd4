import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../support/harness.js';

// Asynchronous on purpose: the worker runs in this process, and a blocking spawn would starve it.
const run = promisify(execFile);
const TEMPORAL_CLI = process.env.TEMPORAL_CLI_PATH ?? new URL('../../.stack/py/bin/temporal', import.meta.url).pathname;

describe('starting the quality workflows as an operator does', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const team = `entry-${tag}`;
  let h: Harness;

  beforeAll(async () => {
    h = await openHarness({ domain: 'quality' });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Workflow ids of the runs a Web UI query finds (visibility lags a moment behind a run). */
  async function findRuns(query: string, expected: number): Promise<string[]> {
    for (let i = 0; ; i++) {
      const ids: string[] = [];
      for await (const w of h.client.workflow.list({ query })) ids.push(w.workflowId);
      if (ids.length >= expected || i > 100) return ids.sort();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it.each([
    ['healthScoringWorkflow', 'health-scoring', { team }],
    ['anomalyScanWorkflow', 'anomaly-scan', { team, window: { lastHours: 24 } }],
  ])(
    'runs %s from the spokeflow CLI and from `temporal workflow execute`, both found by their search attributes',
    async (type, kind, input) => {
      const cli = await run(process.execPath, [
        'bin/spokeflow.js',
        'run',
        type,
        '--input',
        JSON.stringify(input),
        '--task-queue',
        h.taskQueue,
      ]);
      expect(cli.stderr).toBe('');
      expect(cli.stdout).toContain(`started ${kind}:${team}`);

      const workflowId = `test-${kind}-${tag}`;
      // execFile rejects on a non-zero exit, which fails the test with the CLI's own output.
      await run(TEMPORAL_CLI, [
        'workflow',
        'execute',
        '--address',
        h.config.temporal.address,
        '--task-queue',
        h.taskQueue,
        '--type',
        type,
        '--workflow-id',
        workflowId,
        '--input',
        JSON.stringify(input),
      ]);

      const found = await findRuns(`SpokeflowKind = '${kind}' AND SpokeflowTeam = '${team}'`, 2);
      expect(found).toEqual([`${kind}:${team}`, workflowId].sort());
    },
  );
});

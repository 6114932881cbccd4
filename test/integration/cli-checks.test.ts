import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../support/harness.js';

// Asynchronous on purpose: the worker runs in this process, and a blocking spawn would starve it.
const run = promisify(execFile);

/** The CLI as an operator runs it: exit code and both streams, whether it succeeds or not. */
async function spokeflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run(process.execPath, ['bin/spokeflow.js', ...args])) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the CLI checks a run before it starts it', () => {
  const tag = `c${randomUUID().slice(0, 8)}`;
  const dataset = `${tag}.orders`;
  let h: Harness;

  beforeAll(async () => {
    h = await openHarness({ domain: 'ingestion' });
    await h.datasets.upsert({
      name: dataset,
      source: { kind: 'postgres', connection: 'local-postgres', table: `${tag}.orders`, primaryKey: ['id'], cursor: 'updated_at' },
      target: { table: `${tag}_orders` },
      owner: 'cli@example.com',
      team: 'cli-checks',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Whether any run was ever started under this workflow id. */
  const everStarted = (workflowId: string) =>
    h.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => true,
        () => false,
      );

  it('names the declared dataset a mistyped name most likely meant, and starts nothing', async () => {
    const typo = await spokeflow(
      'run',
      'syncWorkflow',
      '--input',
      JSON.stringify({ dataset: `${tag}.ordres` }),
      '--task-queue',
      h.taskQueue,
    );
    expect(typo.code).toBe(1);
    expect(typo.stderr.trim()).toBe(
      `spokeflow: unknown dataset "${tag}.ordres": did you mean ${dataset}? (\`spokeflow datasets list\` shows the catalog)`,
    );
    const unknown = await spokeflow('backfill', `${tag}x.nothing_like_it`, '--from', '2024-03-01', '--to', '2024-03-02');
    expect(unknown.stderr).toContain(`unknown dataset "${tag}x.nothing_like_it": declare it with \`spokeflow datasets apply <file>\``);
    expect(await everStarted(`sync:${tag}.ordres`)).toBe(false);
    expect(await everStarted(`backfill:${tag}x.nothing_like_it`)).toBe(false);
  });

  it('says when no worker polls the task queue, and --no-wait starts the run anyway', async () => {
    const idleQueue = `idle-${tag}`;
    const input = JSON.stringify({ dataset });
    const refused = await spokeflow('run', 'syncWorkflow', '--input', input, '--task-queue', idleQueue, '--no-follow');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`spokeflow: no worker polls the task queue ${idleQueue}: start its worker, or pass --no-wait`);
    expect(await everStarted(`sync:${dataset}`)).toBe(false);

    const started = await spokeflow('run', 'syncWorkflow', '--input', input, '--task-queue', idleQueue, '--no-follow', '--no-wait');
    expect(started.stderr).toBe('');
    expect(started.stdout).toContain(`started sync:${dataset}`);
    const handle = h.client.workflow.getHandle(`sync:${dataset}`);
    expect((await handle.describe()).status.name).toBe('RUNNING'); // waiting in its queue for a worker
    await handle.terminate('test done');
  });

  it('starts at once when a worker polls the queue, and prints its version', async () => {
    for (let i = 0; i < 100; i++) {
      const { pollers } = await h.client.workflowService.describeTaskQueue({
        namespace: h.config.temporal.namespace,
        taskQueue: { name: h.taskQueue },
        taskQueueType: 1, // workflow tasks
      });
      if ((pollers ?? []).length > 0) break;
      await new Promise((r) => setTimeout(r, 100)); // the harness's worker polls a moment after it starts
    }
    const started = await spokeflow(
      'run',
      'syncWorkflow',
      '--input',
      JSON.stringify({ dataset }),
      '--task-queue',
      h.taskQueue,
      '--no-follow',
    );
    expect(started.stderr).toBe('');
    expect(started.stdout).toContain(`started sync:${dataset}`);
    await h.client.workflow
      .getHandle(`sync:${dataset}`)
      .terminate('test done')
      .catch(() => undefined); // it may already have failed: its source table does not exist

    const version = await spokeflow('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

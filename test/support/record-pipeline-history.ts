import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { PipelineProgress } from '../../common/pipeline/spec.js';
import { createClients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { pipelinePlugin } from '../../workers/pipeline-plugin.js';
import { createTestActivities, everyKindSpec, pipelineTestBundle } from './pipeline-worker.js';
import { connectClient, connectWorker } from '../../runtime/temporal.js';

// Records the history of a pipeline using every node kind into test/fixtures/pipeline-history.json:
// the determinism guard the replay test runs against later versions of pipelineWorkflow.
async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const clients = createClients(config);
  const { client, connection } = await connectClient(config);
  const workerConnection = await connectWorker(config);
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `record-pipeline-${tag}`;
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowBundle: await pipelineTestBundle(),
    plugins: [pipelinePlugin({ config, clients, registerWorkflows: false, activities: createTestActivities().activities })],
  });
  const running = worker.run();
  try {
    const workflowId = `record-pipeline-${tag}`;
    const handle = await client.workflow.start('pipelineWorkflow', { taskQueue, workflowId, args: [everyKindSpec('recorded', taskQueue)] });
    for (;;) {
      const p = await handle.query<PipelineProgress>('progress');
      if (p.waitingForApproval.includes('go')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.executeUpdate('approve', { args: [{ node: 'go', by: 'recorder' }] });
    await handle.result();
    // The Temporal CLI writes the canonical JSON form that historyFromJSON reads back.
    const cli = process.env.TEMPORAL_CLI_PATH ?? new URL('../../.stack/py/bin/temporal', import.meta.url).pathname;
    const json = execFileSync(
      cli,
      ['workflow', 'show', '--address', config.temporal.address, '--workflow-id', workflowId, '--output', 'json'],
      { encoding: 'utf8' },
    );
    writeFileSync(new URL('../fixtures/pipeline-history.json', import.meta.url), json);
    console.log(`recorded ${(JSON.parse(json) as { events: unknown[] }).events.length} events of ${workflowId}`);
  } finally {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await connection.close();
    await clients.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

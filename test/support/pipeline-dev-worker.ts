import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createClients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { connectClient, connectWorker } from '../../runtime/temporal.js';
import { pipelinePlugin } from '../../workers/pipeline-plugin.js';
import { createTestActivities, pipelineTestBundle } from './pipeline-worker.js';

/**
 * A pipeline worker on the local dev server, on the test's own queue: spokeflow's pipeline
 * plugin with "another team's" test activities and child workflow instead of the registered ones.
 */
export async function openPipelineDevWorker(taskQueue: string, acts = createTestActivities()) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const clients = createClients(config);
  const { client, connection } = await connectClient(config);
  const workerConnection = await connectWorker(config);
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: await pipelineTestBundle(),
    plugins: [pipelinePlugin({ config, clients, registerWorkflows: false, activities: acts.activities })],
  });
  const running = worker.run();
  return {
    config,
    clients,
    client,
    /** For a second worker the test starts beside this one. */
    workerConnection,
    async close() {
      worker.shutdown();
      await running;
      await workerConnection.close();
      await connection.close();
      await clients.close();
    },
  };
}
export type PipelineDevWorker = Awaited<ReturnType<typeof openPipelineDevWorker>>;

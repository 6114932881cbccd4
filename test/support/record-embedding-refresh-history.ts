import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SearchAttributeType } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { RefreshPageInput } from '../../common/knowledge.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { WORKFLOWS_PATH } from '../../workers/plugins.js';

// Records one embedding refresh of three pages, run by stub activities on the time-skipping test
// server, into test/fixtures/embedding-refresh-history.json: the replay test holds later versions
// of the workflow to the command sequence of the one recorded (the sequential pages, before
// `parallel-embedding-pages`).
async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = fileURLToPath(new URL('../../.stack/bin/temporal-test-server', import.meta.url));
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: server } } });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === SearchAttributeType.INT ? 3 : 2])),
    });
    const taskQueue = 'record-embedding-refresh';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: {
        planRefresh: async ({ refreshId }: { refreshId: string }) => ({ refreshId, model: 'bge-small', modelVersion: 'v1.5', entries: 30 }),
        refreshPage: async (input: RefreshPageInput) => {
          const n = input.after === null ? 1 : Number(input.after.slice('page-'.length)) + 1;
          return { scanned: 10, embedded: n, unchanged: 10 - n, failed: 0, skipped: 0, removed: 0, last: `page-${n}`, done: n === 3 };
        },
        finishRefresh: async () => undefined,
      },
    });
    const workflowId = 'record-embedding-refresh';
    await worker.runUntil(
      env.client.workflow.execute('embeddingRefreshWorkflow', { taskQueue, workflowId, args: [{ pageSize: 10, batchSize: 4 }] }),
    );
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(new URL('../fixtures/embedding-refresh-history.json', import.meta.url), historyToJSON(history));
    console.log(`recorded ${history.events?.length ?? 0} events of ${workflowId}`);
  } finally {
    await env.teardown();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

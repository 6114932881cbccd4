import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createEmbedder } from '../../activities/vectors/providers.js';
import { createSemanticSearch } from '../../activities/vectors/search.js';
import type { EmbeddingRefreshResult } from '../../common/knowledge.js';
import { SearchAttr } from '../../common/search-attributes.js';
import { TaskQueue } from '../../common/task-queues.js';
import { WORKFLOWS } from '../../common/workflows.js';
import type { Clients } from '../../runtime/clients.js';
import type { SpokeflowConfig } from '../../runtime/config.js';
import { knowledgePlugin } from '../../workers/knowledge-plugin.js';
import { formatHits } from '../../cli/search.js';
import { connectWorker } from '../../runtime/temporal.js';

export const DEMO_QUERY = 'personal data of customers used by marketing';

/**
 * The knowledge part of the demo: refreshes the catalog's semantic index (a knowledge worker runs
 * in this process for it unless `startWorker` is false), then answers one search. Returns the lines
 * to print. A second demo run embeds nothing: every entry's text is unchanged.
 */
export async function showKnowledge(args: {
  client: Client;
  clients: Clients;
  config: SpokeflowConfig;
  query?: string;
  startWorker?: boolean;
}): Promise<string[]> {
  const { client, clients, config } = args;
  const query = args.query ?? DEMO_QUERY;
  const connection = args.startWorker === false ? undefined : await connectWorker(config);
  const worker = connection
    ? await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: TaskQueue.knowledge,
        plugins: [knowledgePlugin({ config, clients })],
      })
    : undefined;
  const running = worker?.run();
  try {
    const entry = WORKFLOWS.embeddingRefreshWorkflow!;
    const started = Date.now();
    const result: EmbeddingRefreshResult = await client.workflow.execute('embeddingRefreshWorkflow', {
      taskQueue: TaskQueue.knowledge,
      workflowId: entry.workflowIdOf({}),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{}],
      staticSummary: entry.summaryOf({}),
      typedSearchAttributes: [{ key: SearchAttr.kind, value: entry.kind }],
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const embedder = createEmbedder(config, { thread: false });
    try {
      const hits = await createSemanticSearch({
        catalog: clients.catalog,
        postgres: clients.postgres,
        schema: config.vectors.schema,
        embedder,
      }).search(query, { limit: 5 });
      return [
        `semantic index (${result.model} ${result.modelVersion}, pgvector): ${result.scanned} catalog entries in ${seconds} s — ` +
          `embedded ${result.embedded}, unchanged ${result.unchanged}, removed ${result.removed}, failed ${result.failed}`,
        `search "${query}"  (npx spokeflow search "${query}")`,
        ...formatHits(hits)
          .split('\n')
          .map((l) => `  ${l}`),
      ];
    } finally {
      await embedder.close();
    }
  } finally {
    worker?.shutdown();
    await running;
    await connection?.close();
  }
}

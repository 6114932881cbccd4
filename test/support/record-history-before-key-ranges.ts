import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Worker } from '@temporalio/worker';
import { connectWorker } from '../../runtime/temporal.js';
import { DOMAIN_PLUGINS } from '../../workers/plugins.js';
import { openHarness } from './harness.js';

// Records test/fixtures/sync-history-before-key-ranges.json: a run of the workflow code of a version
// before key ranges (its workflows/index.ts given as the argument, e.g. a checkout of 3c02d70) whose
// activities, planSync included, are this version's, as in a rolling deploy. Its plan asks for key
// ranges; the workflow that made the history copied chunk after chunk, and so must every replay.
async function run(): Promise<void> {
  const olderWorkflows = process.argv[2];
  if (!olderWorkflows) throw new Error('usage: record-history-before-key-ranges.ts <workflows/index.ts of the version before>');
  const h = await openHarness({ inProcessWorker: false });
  const tag = `r${randomUUID().slice(0, 8)}`;
  const connection = await connectWorker(h.config);
  const worker = await Worker.create({
    connection,
    namespace: h.config.temporal.namespace,
    taskQueue: h.taskQueue,
    workflowsPath: olderWorkflows,
    plugins: [DOMAIN_PLUGINS.ingestion!({ config: h.config, clients: h.clients, registerWorkflows: false })],
  });
  const running = worker.run();
  try {
    await h.postgres.query(`CREATE TABLE public.record_${tag} AS SELECT g AS id, now() AS at FROM generate_series(1, 2500) g`);
    await h.datasets.upsert({
      name: `record.${tag}`,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.record_${tag}`, primaryKey: ['id'], cursor: 'at' },
      target: { table: `record_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
      parallelRanges: 2,
    });
    const workflowId = `record-sync-before-key-ranges-${tag}`;
    await h.client.workflow.execute('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ dataset: `record.${tag}`, mode: 'full', pageRows: 500, pagesPerChunk: 2 }],
    });
    const cli = process.env.TEMPORAL_CLI_PATH ?? new URL('../../.stack/py/bin/temporal', import.meta.url).pathname;
    const json = execFileSync(
      cli,
      ['workflow', 'show', '--address', h.config.temporal.address, '--workflow-id', workflowId, '--output', 'json'],
      { encoding: 'utf8' },
    );
    writeFileSync(new URL('../fixtures/sync-history-before-key-ranges.json', import.meta.url), json);
    console.log(`recorded ${(JSON.parse(json) as { events: unknown[] }).events.length} events of ${workflowId}`);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await h.postgres.query(`DROP TABLE IF EXISTS public.record_${tag}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`record_${tag}\``);
    await h.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { openHarness } from './harness.js';

// Records the history of one sync into test/fixtures/sync-history.json: the determinism guard
// that the replay test runs against later versions of the workflow code.
async function run(): Promise<void> {
  const h = await openHarness();
  const tag = `r${randomUUID().slice(0, 8)}`;
  try {
    await h.postgres.query(
      `CREATE TABLE public.record_${tag} AS SELECT g AS id, timestamp '2024-01-01' + g * interval '1 minute' AS at FROM generate_series(1, 1200) g`,
    );
    await h.declarePublicTable(`record.${tag}`, `record_${tag}`);
    const workflowId = `record-sync-${tag}`;
    await h.client.workflow.execute('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ dataset: `record.${tag}`, pageRows: 500, pagesPerChunk: 2 }],
    });
    // The Temporal CLI writes the canonical JSON form that historyFromJSON reads back.
    const cli = process.env.TEMPORAL_CLI_PATH ?? new URL('../../.stack/py/bin/temporal', import.meta.url).pathname;
    const json = execFileSync(
      cli,
      ['workflow', 'show', '--address', h.config.temporal.address, '--workflow-id', workflowId, '--output', 'json'],
      { encoding: 'utf8' },
    );
    writeFileSync(new URL('../fixtures/sync-history.json', import.meta.url), json);
    console.log(`recorded ${(JSON.parse(json) as { events: unknown[] }).events.length} events of ${workflowId}`);
  } finally {
    await h.postgres.query(`DROP TABLE IF EXISTS public.record_${tag}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`record_${tag}\``);
    await h.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

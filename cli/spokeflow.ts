import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Command } from 'commander';
import { BackfillInput, backfillWorkflowId, type BackfillProgress } from '../common/backfill.js';
import { parseInput } from '../common/errors.js';
import { TaskQueue } from '../common/task-queues.js';
import { runScheduleCommand } from '../schedules/command.js';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { readDatasetFile } from '../infra/datasets-file.js';
import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../workers/clients.js';
import { loadConfig } from '../workers/config.js';

/** Opens the stores, runs `work`, and always closes them again. */
async function withCatalog<T>(work: (catalog: ReturnType<typeof createDatasetCatalog>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const clients = createClients(config);
  try {
    await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config });
    return await work(createDatasetCatalog(clients.catalog));
  } finally {
    await clients.close();
  }
}

const program = new Command('spokeflow').description('durable data-platform workflows on Temporal');

const datasets = program.command('datasets').description('declare and list the datasets of the catalog');
datasets
  .command('apply')
  .argument('<file>', 'YAML or JSON file with one dataset declaration or a list of them')
  .description('declare or update the datasets of a file in the catalog (idempotent)')
  .action(async (file: string) => {
    const declarations = await readDatasetFile(file);
    await withCatalog(async (catalog) => {
      for (const d of declarations) {
        const { changed } = await catalog.upsert(d);
        console.log(`${changed ? 'applied  ' : 'unchanged'} ${d.name}`);
      }
    });
  });
datasets
  .command('list')
  .description('list the declared datasets')
  .action(async () => {
    await withCatalog(async (catalog) => {
      const all = await catalog.list();
      console.table(all.map((d) => ({ name: d.name, source: `${d.source.kind}:${d.source.table ?? '(query)'}`, target: d.target.table, team: d.team, owner: d.owner })));
    });
  });

const schedules = program.command('schedules').description('Temporal schedules declared in schedules/registry.ts');
schedules
  .command('apply')
  .description('make Temporal\'s schedules match the declarations (idempotent)')
  .option('--dry-run', 'print the diff, change nothing')
  .option('--prune', 'delete managed schedules that are no longer declared')
  .action(async (o: { dryRun?: boolean; prune?: boolean }) => {
    const result = await runScheduleCommand('apply', o);
    if (result.command !== 'list' && result.diff.conflicts.length) process.exitCode = 1;
  });
schedules
  .command('diff')
  .description('what apply would change')
  .option('--prune', 'include managed schedules that are no longer declared')
  .action(async (o: { prune?: boolean }) => {
    await runScheduleCommand('diff', o);
  });
schedules
  .command('list')
  .description('the schedules spokeflow manages')
  .action(async () => {
    await runScheduleCommand('list');
  });

program
  .command('backfill')
  .description('sync a range of partitions of a dataset (only the missing ones by default) and follow its progress')
  .argument('<dataset>', 'catalog name of the dataset, e.g. shop.orders')
  .requiredOption('--from <time>', 'first partition: the one containing this UTC date or date-time')
  .requiredOption('--to <time>', 'end of the range, exclusive')
  .option('--granularity <grain>', 'daily or hourly', 'daily')
  .option('--mode <mode>', 'missing, failed or all', 'missing')
  .option('--concurrency <n>', 'partitions at once', (v) => Number(v), 8)
  .action(async (dataset: string, o: { from: string; to: string; granularity: string; mode: string; concurrency: number }) => {
    const input = parseInput(BackfillInput, { dataset, ...o }, 'backfill input');
    const config = loadConfig();
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const workflowId = backfillWorkflowId(dataset);
      const handle = await client.workflow
        .start('backfillWorkflow', { taskQueue: TaskQueue.ingestion, workflowId, args: [input], staticSummary: `backfill ${dataset} ${input.from} … ${input.to}` })
        .catch((err: unknown) => {
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            throw new Error(`a backfill of ${dataset} is already running (${workflowId}): follow it in the Web UI, or cancel it with temporal workflow update execute --name cancel --workflow-id ${workflowId}`);
          }
          throw err;
        });
      console.log(`started ${workflowId}: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
      const result = (await handle.result()) as BackfillProgress & { status: string };
      console.log(`${result.status}: ${result.succeeded} of ${result.toRun} partitions synced, ${result.failed} failed, ${result.rows} rows`);
      if (result.failed > 0) process.exitCode = 1;
    } finally {
      await connection.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`spokeflow: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

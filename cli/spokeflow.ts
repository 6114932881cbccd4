import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { BackfillProgress } from '../common/backfill.js';
import { WORKFLOW_TYPES } from '../common/workflows.js';
import { runScheduleCommand } from '../schedules/command.js';
import { addChecksCommands } from './checks.js';
import { startCodecServer } from './codec-server.js';
import { validateFlowCommand } from './flow-files.js';
import { runFlowCommand } from './flow-run.js';
import { formatHits, searchCatalog } from './search.js';
import { inputJsonSchema, readInput, runWorkflow, UsageError, workflowStatus } from './run.js';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { readDatasetFile } from '../infra/datasets-file.js';
import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { packageFile } from '../runtime/package-paths.js';
import { redactConsole, redactorOf } from '../runtime/redact.js';

// Every line this command prints is free of the configured credentials; an invalid
// configuration is reported by the command that needs it.
try {
  redactConsole(redactorOf(loadConfig()));
} catch {
  redactConsole(redactorOf(loadConfig({})));
}

/** Opens the stores, runs `work`, and always closes them again. */
async function withCatalog<T>(work: (catalog: ReturnType<typeof createDatasetCatalog>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const clients = createClients(config);
  try {
    await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, postgres: clients.postgres, config });
    return await work(createDatasetCatalog(clients.catalog, { silverDatabase: config.mysql.silverDatabase }));
  } finally {
    await clients.close();
  }
}

/** The version of the installed package, from its package.json (the package root, from source or dist/). */
function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const program = new Command('spokeflow').description('durable data-platform workflows on Temporal').version(packageVersion());

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
      console.table(
        all.map((d) => ({
          name: d.name,
          source: `${d.source.kind}:${d.source.table ?? '(query)'}`,
          target: d.target.table,
          team: d.team,
          owner: d.owner,
        })),
      );
    });
  });

addChecksCommands(program);

const schedules = program.command('schedules').description('Temporal schedules declared in schedules/registry.ts');
schedules
  .command('apply')
  .description("make Temporal's schedules match the declarations (idempotent)")
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
  .command('run')
  .description(`start a workflow with a validated input, print its id and Web UI link, and follow it (${WORKFLOW_TYPES.join(', ')})`)
  .argument('<workflow>', 'workflow type, e.g. syncWorkflow')
  .option('--input <json-or-yaml>', 'the input, inline')
  .option('--input-file <path>', 'the input, from a .json or .yaml file')
  .option('--no-follow', 'return once started')
  .option('--task-queue <name>', "another task queue than the workflow's domain's (a canary worker, say)")
  .option('--no-wait', 'start even when no worker polls the task queue (the run waits for one)')
  .action(async (workflowType: string, o: { input?: string; inputFile?: string; follow: boolean; taskQueue?: string; wait: boolean }) => {
    const result = await runWorkflow(workflowType, await readInput(o), { follow: o.follow, taskQueue: o.taskQueue, requireWorker: o.wait });
    if (result !== undefined) console.log(JSON.stringify(result, null, 2));
  });

const flows = program.command('flows').description('Windmill OpenFlow files (a .yaml/.json file or a *.flow folder)');
flows
  .command('validate')
  .argument('<file-or-folder>', 'an OpenFlow file, or a folder with flow.yaml as the Windmill CLI syncs it')
  .option('--strict', 'also fail on script paths nothing resolves')
  .description('check a flow: structure, options and the features spokeflow refuses (exit 1 naming step and field)')
  .action(async (path: string, o: { strict?: boolean }) => {
    process.exitCode = await validateFlowCommand(path, o);
  });
flows
  .command('run')
  .argument('<file-or-folder>', 'an OpenFlow file, or a folder with flow.yaml as the Windmill CLI syncs it')
  .option('--input <json-or-yaml>', "the flow input, checked against the flow's schema", '{}')
  .option('--input-file <path>', 'the flow input, from a .json or .yaml file')
  .option('--scripts <file>', 'the scripts table: script path → { activity | workflow, input mapping } (YAML or JSON)')
  .option(
    '--flows <folder>',
    "where `flow` steps' paths resolve, as the Windmill CLI syncs a workspace (f/a/b → f/a/b.flow/flow.yaml)",
    '.',
  )
  .option('--id <name>', 'the run name (workflow id pipeline:<name>); defaults to the file name')
  .option('--task-queue <name>', "another task queue than the pipelines' (spokeflow-ingestion)")
  .option('--no-wait', 'start even when no worker polls the task queue')
  .description("run a flow with Windmill's order and options on pipelineWorkflow; prints its result")
  .action(
    async (
      path: string,
      o: { input?: string; inputFile?: string; scripts?: string; flows?: string; id?: string; taskQueue?: string; wait: boolean },
    ) => {
      const input = await readInput(o.inputFile !== undefined ? { inputFile: o.inputFile } : { input: o.input });
      console.log(JSON.stringify(await runFlowCommand(path, { ...o, input }), null, 2));
    },
  );

program
  .command('status')
  .description('where a run is: its status, its progress and its Web UI link')
  .argument('<workflow-id>', 'e.g. sync:shop.orders or backfill:shop.orders')
  .action(async (workflowId: string) => {
    console.log(JSON.stringify(await workflowStatus(workflowId), null, 2));
  });

program
  .command('schema')
  .description("JSON Schema of a workflow's input (or of every workflow), from the same zod schemas that validate it")
  .argument('[workflow]', 'workflow type; all when left out')
  .action((workflowType?: string) => {
    console.log(JSON.stringify(inputJsonSchema(workflowType), null, 2));
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
  .option('--no-wait', 'start even when no worker polls the task queue (the run waits for one)')
  .action(
    async (
      dataset: string,
      { wait, ...o }: { from: string; to: string; granularity: string; mode: string; concurrency: number; wait: boolean },
    ) => {
      const result = (await runWorkflow(
        'backfillWorkflow',
        { dataset, ...o },
        { follow: true, requireWorker: wait },
      )) as BackfillProgress & {
        status: string;
      };
      console.log(
        `${result.status}: ${result.succeeded} of ${result.toRun} partitions synced, ${result.failed} failed, ${result.rows} rows`,
      );
      if (result.failed > 0) process.exitCode = 1;
    },
  );

program
  .command('search')
  .description('semantic search of the catalog: ranked datasets with owner, team and latest health score')
  .argument('<query>', 'what the data is about, e.g. "PII tables used by marketing"')
  .option('--team <team>', 'only datasets of this team')
  .option('--tag <tag>', 'only datasets with this tag')
  .option('--limit <n>', 'how many', (v) => Number(v), 10)
  .option('--json', 'print the hits as JSON')
  .action(async (query: string, o: { team?: string; tag?: string; limit: number; json?: boolean }) => {
    const hits = await searchCatalog(query, { team: o.team, tag: o.tag, limit: o.limit });
    console.log(o.json ? JSON.stringify(hits, null, 2) : formatHits(hits));
  });

program
  .command('codec-server')
  .description(
    "decode and encode payloads for the Temporal Web UI (its --ui-codec-endpoint / codec endpoint) with this process's codec keys",
  )
  .option('--port <n>', 'port to listen on', (v) => Number(v), 8234)
  .option('--host <ip>', 'address to bind; put TLS in front before binding beyond loopback', '127.0.0.1')
  .action(async (o: { port: number; host: string }) => {
    await startCodecServer(loadConfig(), o);
  });

program
  .command('stack')
  .description('the local stack of servers (infra/local/stack.sh)')
  .argument('<command>', 'up, down, status, reset or env')
  .action((command: string) => {
    const script = fileURLToPath(packageFile('infra/local/stack.sh'));
    if (!existsSync(script))
      throw new UsageError('spokeflow stack runs the local stack of a clone of the repository; this installation has none');
    process.exitCode = spawnSync('bash', [script, command], { stdio: 'inherit' }).status ?? 1;
  });

program.parseAsync().catch((err: unknown) => {
  // One line a person can act on; SPOKEFLOW_DEBUG=1 adds the stack for a bug report.
  console.error(`spokeflow: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.SPOKEFLOW_DEBUG && err instanceof Error && !(err instanceof UsageError)) console.error(err.stack);
  process.exit(1);
});

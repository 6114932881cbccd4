import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { backfillWorkflowId } from '../common/backfill.js';
import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { ingestionPlugin } from '../workers/plugins.js';
import type { BackfillResult } from '../workflows/backfill.js';
import { connectClient, connectWorker } from '../runtime/temporal.js';

/**
 * npm run bench:backfill [partitions]: a backfill of trivial (empty) hourly partitions, 50 at a
 * time, against the same server's raw fan-out of one-activity child workflows, 50 at a time.
 */
const PARTITIONS = Number(process.argv[2] ?? 1_000);
const WIDTH = 50;

async function run(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const clients = createClients(config);
  await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config });
  const source = new pg.Pool({ ...config.postgres, max: 1 });
  const tag = randomUUID().slice(0, 8);
  const table = `bench_backfill_${tag}`;
  const dataset = `bench.backfill_${tag}`;
  await source.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, at timestamp NOT NULL)`);
  await createDatasetCatalog(clients.catalog).upsert({
    name: dataset,
    source: { kind: 'postgres', connection: 'local-postgres', table: `public.${table}`, primaryKey: ['id'], cursor: 'at' },
    target: { table },
    owner: 'bench@example.com',
    team: 'platform',
  });

  const { client, connection } = await connectClient(config);
  const workerConnection = await connectWorker(config);
  const taskQueue = `bench-backfill-${tag}`;
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    plugins: [ingestionPlugin({ config, clients })],
    maxConcurrentActivityTaskExecutions: 200,
  });
  const fanoutWorker = await Worker.create({
    connection: workerConnection,
    taskQueue: `${taskQueue}-fanout`,
    workflowsPath: fileURLToPath(new URL('./support/fanout-workflows.ts', import.meta.url)),
    activities: { noop: async () => undefined },
    maxConcurrentActivityTaskExecutions: 200,
  });

  const workers = Promise.all([worker.run(), fanoutWorker.run()]);
  await Promise.race([
    workers,
    (async () => {
      const hours = PARTITIONS;
      const to = new Date(Date.UTC(2024, 0, 1) + hours * 3_600_000).toISOString().slice(0, 13);
      let t = performance.now();
      const result: BackfillResult = await client.workflow.execute('backfillWorkflow', {
        taskQueue,
        workflowId: backfillWorkflowId(dataset),
        args: [{ dataset, from: '2024-01-01', to, granularity: 'hourly', concurrency: WIDTH }],
      });
      const backfillSeconds = (performance.now() - t) / 1000;
      const [recorded] = (await clients.catalog.query(
        "SELECT COUNT(*) AS n FROM backfill_partitions WHERE dataset = ? AND status = 'succeeded'",
        [dataset],
      )) as unknown as [{ n: number }[]];

      t = performance.now();
      await client.workflow.execute('childFanOut', {
        taskQueue: `${taskQueue}-fanout`,
        workflowId: `bench-fanout-${tag}`,
        args: [PARTITIONS, WIDTH],
      });
      const fanoutSeconds = (performance.now() - t) / 1000;

      const backfillRate = result.succeeded / backfillSeconds;
      const fanoutRate = PARTITIONS / fanoutSeconds;
      console.log(`backfill: ${result.succeeded} of ${PARTITIONS} partitions (${WIDTH} at a time) in ${backfillSeconds.toFixed(1)} s`);
      console.log(`  throughput              ${backfillRate.toFixed(1)} partitions/s`);
      console.log(`  recorded as succeeded   ${Number(recorded[0]?.n)} partitions (MySQL backfill_partitions)`);
      console.log(`raw fan-out: ${PARTITIONS} one-activity child workflows, ${WIDTH} at a time, in ${fanoutSeconds.toFixed(1)} s`);
      console.log(`  throughput              ${fanoutRate.toFixed(1)} workflows/s`);
      console.log(`backfill / fan-out        ${(backfillRate / fanoutRate).toFixed(2)}×  (target ≥ 5×)`);
      worker.shutdown();
      fanoutWorker.shutdown();
    })(),
  ]);
  await workers; // drained before their connection closes

  await source.query(`DROP TABLE IF EXISTS public.${table}`);
  await source.end();
  await workerConnection.close();
  await connection.close();
  await clients.close();
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

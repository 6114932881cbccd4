import { Readable } from 'node:stream';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import type { SyncResult } from '../common/sync.js';
import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import type { syncWorkflow } from '../workflows/sync.js';
import { connectClient } from '../runtime/temporal.js';
import { describePeak, startWorkerProcess } from './support/worker-process.js';

/**
 * npm run bench:sync [rows] [pageRows]: a full sync of generated narrow rows, Postgres → MinIO (Parquet) +
 * MySQL (upsert) + InfluxDB, against the slowest store's own ceiling: one bare LOAD DATA LOCAL
 * INFILE of the same rows into an empty copy of the silver table.
 */
const ROWS = Number(process.argv[2] ?? 1_000_000);
const PAGE_ROWS = Number(process.argv[3] ?? 50_000);
const TABLE = 'bench_narrow';

async function run(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const clients = createClients(config);
  await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config });
  const source = new pg.Pool({ ...config.postgres, max: 2 });
  source.on('error', () => undefined);
  const { host, port, user, password } = config.mysql;
  const silver = await mysql.createConnection({ host, port, user, password, database: config.mysql.silverDatabase });

  console.log(`generating ${ROWS.toLocaleString('en-US')} narrow rows in Postgres …`);
  await source.query(`
    DROP TABLE IF EXISTS public.${TABLE};
    CREATE TABLE public.${TABLE} AS
      SELECT g::bigint AS id,
             timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' AS updated_at,
             'customer-' || (g % 50000) AS name,
             ((g % 100000) / 100.0)::numeric(10, 2) AS amount,
             (g % 17)::int AS quantity
      FROM generate_series(1, ${ROWS}) AS g;
    ALTER TABLE public.${TABLE} ADD PRIMARY KEY (id);
    CREATE INDEX ON public.${TABLE} (updated_at, id);
    ANALYZE public.${TABLE};`);
  await silver.query(`DROP TABLE IF EXISTS ${TABLE}, ${TABLE}_ceiling`);
  await clients.catalog.query("DELETE FROM dataset_columns WHERE dataset = 'bench.narrow'");
  await clients.catalog.query("DELETE FROM watermarks WHERE dataset = 'bench.narrow'");
  await createDatasetCatalog(clients.catalog).upsert({
    name: 'bench.narrow',
    source: { kind: 'postgres', connection: 'local-postgres', table: `public.${TABLE}`, primaryKey: ['id'], cursor: 'updated_at' },
    target: { table: TABLE },
    owner: 'bench@example.com',
    team: 'platform',
    tags: ['bench'],
  });

  // The production ingestion worker entry in its own process, so its peak RSS is the worker's alone.
  const taskQueue = `bench-sync-${Date.now()}`;
  const worker = await startWorkerProcess('ingestion', taskQueue);
  const { client, connection } = await connectClient(config);

  const started = performance.now();
  let result: SyncResult;
  try {
    result = await client.workflow.execute<typeof syncWorkflow>('syncWorkflow', {
      taskQueue,
      workflowId: `bench-sync-${Date.now()}`,
      args: [{ dataset: 'bench.narrow', pageRows: PAGE_ROWS }], // the first incremental sync copies every row
    });
  } catch (err) {
    await worker.stop();
    throw err;
  }
  const syncSeconds = (performance.now() - started) / 1000;
  const peak = await worker.stop();

  // The ceiling: the same rows, as one bare LOAD DATA into an empty copy of the silver table.
  const rows = await source.query({
    text: `SELECT id, (updated_at AT TIME ZONE 'UTC')::text, name, amount::text, quantity FROM public.${TABLE} ORDER BY id`,
    rowMode: 'array',
  });
  const tsv = Buffer.from(rows.rows.map((r: unknown[]) => r.join('\t')).join('\n') + '\n');
  await silver.query(`CREATE TABLE ${TABLE}_ceiling LIKE ${TABLE}`);
  const loadStarted = performance.now();
  await silver.query({
    sql: `LOAD DATA LOCAL INFILE 'bench.tsv' INTO TABLE ${TABLE}_ceiling FIELDS TERMINATED BY '\\t' (id, updated_at, name, amount, quantity) SET _spokeflow_run = 'ceiling', _spokeflow_loaded_at = UTC_TIMESTAMP(6)`,
    infileStreamFactory: () => Readable.from([tsv]),
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const [[count]] = (await silver.query(`SELECT COUNT(*) AS n FROM ${TABLE}`)) as unknown as [[{ n: number }]];

  const syncRate = result.rows / syncSeconds;
  const ceilingRate = ROWS / loadSeconds;
  console.log('');
  console.log(
    `sync (Postgres → MinIO Parquet + MySQL upsert + InfluxDB), ${result.rows.toLocaleString('en-US')} rows in ${result.objects} objects`,
  );
  console.log(`  wall time           ${syncSeconds.toFixed(2)} s`);
  console.log(`  throughput          ${Math.round(syncRate).toLocaleString('en-US')} rows/s`);
  console.log(`  bronze              ${(result.bytes / 1e6).toFixed(1)} MB of Parquet`);
  console.log(`  silver rows         ${Number(count.n).toLocaleString('en-US')}`);
  console.log(`  ${describePeak(taskQueue, peak, worker.entry)}`);
  console.log(`ceiling: bare LOAD DATA LOCAL INFILE of the same rows into MariaDB`);
  console.log(`  wall time           ${loadSeconds.toFixed(2)} s`);
  console.log(`  throughput          ${Math.round(ceilingRate).toLocaleString('en-US')} rows/s`);
  console.log(`sync / ceiling        ${((100 * syncRate) / ceilingRate).toFixed(0)} %  (target ≥ 50 %)`);

  await silver.query(`DROP TABLE IF EXISTS ${TABLE}_ceiling`);
  await silver.end();
  await source.end();
  await connection.close();
  await clients.close();
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { createHash, randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import { trackDatasets } from './cleanup.js';
import { freePort, scrape, type PromSample } from './prometheus.js';
import type { SyncResult } from '../../common/sync.js';
import { createClients, type Clients } from '../../runtime/clients.js';
import { loadConfig, type SpokeflowConfig } from '../../runtime/config.js';
import type { Domain } from '../../common/task-queues.js';
import { DOMAIN_PLUGINS } from '../../workers/plugins.js';
import type { syncWorkflow } from '../../workflows/sync.js';
import { connectClient, connectWorker } from '../../runtime/temporal.js';

/**
 * A test's view of the real local stack: store clients, a Temporal client, and an in-process
 * worker of one domain (ingestion unless told otherwise) on a task queue of its own.
 */
let runtimeInstalled = false;
let metricsUrl: string | undefined;

export interface HarnessOptions {
  inProcessWorker?: boolean;
  domain?: Domain;
  /**
   * Serve this process's worker metrics on a loopback Prometheus endpoint, as a deployed worker
   * does, so a test can scrape what its activities counted. Only the file's first harness decides.
   */
  prometheus?: boolean;
}

export async function openHarness(options: HarnessOptions = {}) {
  if (!runtimeInstalled) {
    const bind = options.prometheus ? `127.0.0.1:${await freePort()}` : undefined;
    Runtime.install({
      logger: new DefaultLogger('WARN'), // keep test output to what matters
      telemetryOptions: bind ? { metrics: { prometheus: { bindAddress: bind } } } : undefined,
    });
    metricsUrl = bind && `http://${bind}/metrics`;
    runtimeInstalled = true;
  }
  if (options.prometheus && !metricsUrl) throw new Error('openHarness: the Runtime was installed without Prometheus by an earlier harness');
  const config = loadConfig();
  const clients = createClients(config);
  const { client, connection } = await connectClient(config);
  const domain = options.domain ?? 'ingestion';
  const plugin = DOMAIN_PLUGINS[domain]!;
  const taskQueue = `test-${domain}-${randomUUID().slice(0, 8)}`;
  const inProcess = options.inProcessWorker ?? true;
  const workerConnection = inProcess ? await connectWorker(config) : undefined;
  const worker = workerConnection
    ? await Worker.create({
        connection: workerConnection,
        namespace: config.temporal.namespace,
        taskQueue,
        plugins: [plugin({ config, clients })],
      })
    : undefined;
  const running = worker?.run();
  const postgres = new pg.Pool({
    host: config.postgres.host,
    port: config.postgres.port,
    user: config.postgres.user,
    password: config.postgres.password,
    database: config.postgres.database,
    max: 2,
  });
  const warehouse = mysql.createPool({
    host: config.mysql.host,
    port: config.mysql.port,
    user: config.mysql.user,
    password: config.mysql.password,
    database: config.mysql.silverDatabase,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
    connectionLimit: 2,
  });
  // What the file declares, it removes: `close()` cleans up, or `cleanup()` earlier when the
  // file drops stores of its own first.
  const tracked = trackDatasets({
    catalog: clients.catalog,
    silverDatabase: config.mysql.silverDatabase,
    minio: clients.minio,
    bronzeBucket: config.minio.bronzeBucket,
  });
  const catalog = createDatasetCatalog(clients.catalog);
  const datasets = { ...catalog, upsert: tracked.track(catalog.upsert) };

  return {
    config,
    clients,
    client,
    taskQueue,
    postgres,
    warehouse,
    datasets,
    /**
     * Declares a table of the local Postgres's public schema, keyed by `id`, as a dataset the
     * platform team owns (the shape most tests need), synced to a silver table of the same name.
     */
    declarePublicTable(name: string, table: string, cursor = 'at') {
      return datasets.upsert({
        name,
        source: { kind: 'postgres', connection: 'local-postgres', table: `public.${table}`, primaryKey: ['id'], cursor },
        target: { table },
        owner: 'ops@example.com',
        team: 'platform',
      });
    },
    /** Starts a sync and waits for its result. */
    async sync(input: Record<string, unknown>): Promise<SyncResult> {
      return client.workflow.execute<typeof syncWorkflow>('syncWorkflow', {
        taskQueue,
        workflowId: `test-sync-${String(input.dataset)}-${randomUUID().slice(0, 8)}`,
        args: [input],
      });
    },
    /** The worker metrics of this process, as Prometheus scrapes them (a harness opened with `prometheus`). */
    async metrics(): Promise<PromSample[]> {
      if (!metricsUrl) throw new Error('openHarness: open the harness with { prometheus: true } to scrape metrics');
      return scrape(metricsUrl);
    },
    /** Removes the datasets this harness declared (and only those it created), with everything the catalog holds of them. */
    cleanup: () => tracked.cleanup(),
    async close() {
      worker?.shutdown();
      await running;
      await tracked.cleanup();
      await workerConnection?.close();
      await postgres.end();
      await warehouse.end();
      await clients.close();
      await connection.close();
    },
  };
}
export type Harness = Awaited<ReturnType<typeof openHarness>>;
export { WorkflowFailedError };
export type { Clients, SpokeflowConfig };

const TIMESTAMP = /^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(\.\d+)?(\+00(:00)?|Z)?$/;

/** One value in a form both stores print alike: trailing fractional zeros and a UTC zone are noise. */
export function canonicalValue(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  const s = String(v);
  const m = TIMESTAMP.exec(s);
  if (m) {
    const fraction = (m[2] ?? '').replace(/0+$/, '');
    return m[1]!.replace('T', ' ') + (fraction === '.' ? '' : fraction);
  }
  return s;
}

const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * Row count and SHA-256 of a Postgres table's rows, each value as the server prints it
 * (booleans as 1/0, as MySQL prints them).
 */
export async function postgresDigest(pool: pg.Pool, table: string, columns: string[], orderBy: string[]) {
  const q = (id: string) => `"${id}"`;
  const types = await pool.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0`,
    [table],
  );
  const bools = new Set(types.rows.filter((t) => t.type === 'boolean').map((t) => t.name));
  const select = columns.map((c) => (bools.has(c) ? `${q(c)}::int` : q(c)));
  const result = await pool.query<unknown[]>({
    text: `SELECT ${select.join(', ')} FROM ${table} ORDER BY ${orderBy.map(q).join(', ')}`,
    rowMode: 'array',
    types: textTypes,
  });
  return digest(result.rows);
}

/** The same digest of a MySQL table, read as text (JSON as stored, not parsed). */
export async function mysqlDigest(pool: mysql.Pool, table: string, columns: string[], orderBy: string[]) {
  const q = (id: string) => `\`${id}\``;
  const [rows] = await pool.query({
    sql: `SELECT ${columns.map(q).join(', ')} FROM ${table} ORDER BY ${orderBy.map(q).join(', ')}`,
    rowsAsArray: true,
    // MariaDB's JSON is a text BLOB that mysql2 would parse into an object.
    typeCast: (field, next) =>
      field.type === 'JSON' || (field.type === 'BLOB' && (field as unknown as { charset?: number }).charset !== 63)
        ? field.string('utf8')
        : next(),
  });
  return digest(rows as unknown[][]);
}

function digest(rows: unknown[][]): { rows: number; sha256: string } {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row.map(canonicalValue).join('\u001f') + '\n');
  return { rows: rows.length, sha256: hash.digest('hex') };
}

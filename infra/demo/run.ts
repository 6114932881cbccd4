import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import { backfillWorkflowId } from '../../common/backfill.js';
import { syncWorkflowId } from '../../common/workflow-ids.js';
import type { SyncResult } from '../../common/sync.js';
import { TaskQueue } from '../../common/task-queues.js';
import { createClients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { ingestionPlugin } from '../../workers/plugins.js';
import { knowledgePlugin } from '../../workers/knowledge-plugin.js';
import { notificationsPlugin } from '../../workers/notifications-plugin.js';
import { withPipelines } from '../../workers/pipeline-plugin.js';
import { qualityPlugin } from '../../workers/quality-plugin.js';
import { runScheduleCommand } from '../../schedules/command.js';
import type { BackfillResult } from '../../workflows/backfill.js';
import type { syncWorkflow } from '../../workflows/sync.js';
import { startSmtpSink } from '../../test/support/mail-sinks.js';
import { readDatasetFile } from '../datasets-file.js';
import { migrate } from '../migrations/index.js';
import { renderDemoDigest } from './digest.js';
import { showKnowledge } from './knowledge.js';
import { runNightly } from './nightly.js';
import { showQuality } from './quality.js';
import { mutateShop, seedShop } from './shop.js';
import { connectClient, connectWorker } from '../../runtime/temporal.js';

const DEFAULT_DATASETS = fileURLToPath(new URL('./shop-datasets.yaml', import.meta.url));

/**
 * The main job, end to end on the local stack: a shop database in Postgres, declared as datasets,
 * synced into MinIO (bronze) and MySQL (silver) by the sync workflow on a real worker; then a few
 * source rows change and a second sync moves only those; a month of orders is backfilled by
 * day; a month of sync metrics with planted incidents is scanned for anomalies and every
 * dataset's health scored; the catalog is embedded for semantic search and searched once; an
 * owner's weekly digest is rendered into MinIO; the nightly pipeline (pipelines/nightly.yaml) runs
 * once, its digests delivered to a loopback mailbox; and the schedules are applied. Set
 * SPOKEFLOW_DEMO_DATASETS to a file of your own declarations to sync your own Postgres or MySQL
 * instead of the shop.
 */
async function run(): Promise<void> {
  const config = loadConfig();
  const customDatasets = process.env.SPOKEFLOW_DEMO_DATASETS;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const clients = createClients(config);
  const shopDb = new pg.Pool({ ...config.postgres, max: 2 });
  shopDb.on('error', () => undefined); // a dropped idle connection is replaced on next use
  const workerConnection = await connectWorker(config);
  const { client, connection } = await connectClient(config);
  // Digests go to a loopback mailbox unless SPOKEFLOW_SMTP_URL names a real server.
  const mailbox = config.digests.smtpUrl ? undefined : await startSmtpSink({ keepRaw: false });
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  try {
    step(
      'schema',
      (
        await migrate({
          mysql: clients.catalog,
          minio: clients.minio,
          influxAdmin: clients.influxAdmin,
          postgres: clients.postgres,
          config,
        })
      ).join(', ') || 'up to date',
    );

    if (!customDatasets) {
      const exists = await shopDb.query("SELECT to_regclass('shop.order_lines') IS NOT NULL AS seeded");
      if (exists.rows[0].seeded) step('source', 'shop database already in Postgres (left as it is)');
      else {
        const counts = await seedShop(shopDb, {});
        step(
          'source',
          `seeded the shop in Postgres: ${Object.entries(counts)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')}`,
        );
      }
    }

    const declarations = await readDatasetFile(customDatasets ?? DEFAULT_DATASETS);
    const catalog = createDatasetCatalog(clients.catalog);
    for (const d of declarations) await catalog.upsert(d);
    step('catalog', `declared ${declarations.map((d) => d.name).join(', ')}`);

    // A worker per domain queue, in this process: what `npm run worker` runs.
    for (const [taskQueue, plugin] of [
      [TaskQueue.ingestion, withPipelines(ingestionPlugin)({ config, clients })], // the pipeline runner rides on ingestion
      [TaskQueue.quality, qualityPlugin({ config, clients })],
      [TaskQueue.knowledge, knowledgePlugin({ config, clients })],
      [
        TaskQueue.notifications,
        notificationsPlugin({
          config: { ...config, digests: { ...config.digests, smtpUrl: config.digests.smtpUrl ?? mailbox?.url } },
          clients,
        }),
      ],
    ] as const) {
      const worker = await Worker.create({
        connection: workerConnection,
        namespace: config.temporal.namespace,
        taskQueue,
        plugins: [plugin],
      });
      workers.push(worker);
      running.push(worker.run());
    }

    const syncAll = async (label: string) => {
      const started = Date.now();
      const results = await Promise.all(
        declarations.map(async (d) => {
          const handle = await client.workflow.start<typeof syncWorkflow>('syncWorkflow', {
            taskQueue: TaskQueue.ingestion,
            workflowId: syncWorkflowId(d.name),
            workflowIdConflictPolicy: 'USE_EXISTING', // a sync already running is joined, not raced
            args: [{ dataset: d.name }],
            staticSummary: `sync ${d.name}`,
          });
          const result: SyncResult = await handle.result();
          return {
            result,
            link: `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${handle.workflowId}/${result.syncRunId}/history`,
          };
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const rows = results.reduce((n, r) => n + r.result.rows, 0);
      console.log(`\n${label}: ${rows.toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s`);
      console.table(
        results.map(({ result }) => ({
          dataset: result.dataset,
          rows: result.rows,
          objects: result.objects,
          'bronze MB': +(result.bytes / 1e6).toFixed(2),
          quarantined: result.quarantined,
        })),
      );
      return results;
    };

    const first = await syncAll('sync');
    if (!customDatasets) {
      const changed = await mutateShop(shopDb, {});
      step('source', `changed rows: updated ${fmt(changed.updated)}; inserted ${fmt(changed.inserted)}`);
      await syncAll('sync after the change (only changed rows move)');
    }

    if (!customDatasets) {
      // A backfill of the last month of orders, a day per partition: idempotent over what the
      // syncs already copied, and it shows the partitions' state kept in MySQL.
      const backfillStarted = Date.now();
      const backfill: BackfillResult = await client.workflow.execute('backfillWorkflow', {
        taskQueue: TaskQueue.ingestion,
        workflowId: backfillWorkflowId('shop.orders'),
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [{ dataset: 'shop.orders', from: '2024-12-01', to: '2025-01-01', mode: 'all', concurrency: 8 }],
        staticSummary: 'demo backfill of shop.orders, December 2024',
      });
      step(
        'backfill',
        `shop.orders 2024-12-01 … 2025-01-01: ${backfill.succeeded} of ${backfill.toRun} daily partitions, ` +
          `${backfill.rows.toLocaleString('en-US')} rows in ${((Date.now() - backfillStarted) / 1000).toFixed(1)} s`,
      );
    }

    // Data quality: a seeded month of sync metrics with planted incidents, scanned; every dataset's health scored.
    if (!customDatasets) await showQuality({ client, clients, config, datasets: declarations });

    // Knowledge: the catalog embedded into pgvector by the local model, then one semantic search.
    console.log('');
    for (const line of await showKnowledge({ client, clients, config, startWorker: false })) console.log(line);

    // Notifications: this week's digest for the owner of the orders tables, rendered and stored in MinIO.
    if (!customDatasets) {
      const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10); // the week of the planted incidents
      const digest = await renderDemoDigest(clients, config, { owner: 'orders@example.com', kind: 'weekly', day });
      console.log(`\ndigest   ${digest.subject}\n         stored at ${digest.address}\n         open it: ${digest.url}`);
      console.log(
        digest.text
          .split('\n')
          .map((l) => `         ${l}`)
          .join('\n'),
      );
    }

    // The nightly pipeline, declared as data in pipelines/nightly.yaml, run once as its schedule would.
    console.log('');
    for (const line of await runNightly(client)) console.log(line);
    if (mailbox) {
      const copies = [...mailbox.countsById().values()];
      console.log(
        `         digests delivered to the demo's loopback mailbox: ${copies.length}, of which ${copies.filter((n) => n > 1).length} arrived twice`,
      );
    }

    // Schedules as code: the shop's syncs every 15 minutes (they run whenever a worker is up).
    await runScheduleCommand('apply', { config, print: (text) => console.log(`\n${text}`) });

    console.log('\nWhere to look:');
    console.log(
      `  Temporal Web UI   ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent("WorkflowType='syncWorkflow'")}`,
    );
    console.log(`  a sync run        ${first[0]?.link}`);
    console.log(
      `  the backfill      ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`WorkflowId='${backfillWorkflowId('shop.orders')}'`)}`,
    );
    console.log(
      `  quality runs      ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent("TaskQueue='spokeflow-quality'")}`,
    );
    console.log(`  schedules         ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/schedules`);
    console.log(
      `  bronze objects    http://${config.minio.endPoint}:${process.env.MINIO_CONSOLE_PORT ?? 9001}/browser/${config.minio.bronzeBucket}  (user ${config.minio.accessKey})`,
    );
    console.log(
      `  silver tables     mysql -h ${config.mysql.host} -P ${config.mysql.port} -u ${config.mysql.user} -p ${config.mysql.silverDatabase}`,
    );
    console.log(`  anomalies, health tables anomalies, health_scores, team_health in MySQL database ${config.mysql.database}`);
    console.log(`  run metrics       InfluxDB ${config.influx.url}, bucket ${config.influx.bucket}, measurement sync_run`);
  } finally {
    for (const worker of workers) worker.shutdown();
    await Promise.all(running);
    await mailbox?.close();
    await workerConnection.close();
    await connection.close();
    await shopDb.end();
    await clients.close();
  }
}

function step(what: string, detail: string): void {
  console.log(`${what.padEnd(8)} ${detail}`);
}

function fmt(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

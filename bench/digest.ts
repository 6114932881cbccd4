import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { RowDataPacket } from 'mysql2/promise';
import type { DigestResult } from '../common/digest.js';
import { up as migrateCatalog } from '../infra/migrations/0001-catalog.js';
import { up as migrateQuality } from '../infra/migrations/0004-quality.js';
import { up as migrateHealth } from '../infra/migrations/0006-health.js';
import { up as migrateBackfills } from '../infra/migrations/0005-backfills.js';
import { up as migrateDigests } from '../infra/migrations/0008-digests.js';
import { up as migrateRunRecords } from '../infra/migrations/0009-run-records.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { connectClient } from '../runtime/temporal.js';
import { describePeak, startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

/**
 * npx tsx bench/digest.ts [owners=10000] [--keep] [--pages=500] [--parallelism=4] [--smtp-connections=16]
 *
 * Generates `owners` dataset owners (one dataset each, with 14 days of health scores, a failed
 * sync and, for one in four, an anomaly in the period) in a MySQL database of its own
 * (spokeflow_bench_digest), then runs digestWorkflow end to end through Temporal with an
 * in-process notifications worker: every digest rendered, stored in a bucket of its own
 * (spokeflow-bench-digests) and sent to an SMTP server on loopback (smtp-server, the real
 * protocol, in a process of its own). Prints wall time, digests/s and duplicates by Message-ID; then runs the same period
 * again, which must send nothing. Drops the database, the objects and the bucket unless --keep.
 */
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const OWNERS = Number(args[0] ?? 10_000);
const KEEP = process.argv.includes('--keep');
const DAY = '2025-06-01';
const BENCH_DB = 'spokeflow_bench_digest';
const BENCH_BUCKET = 'spokeflow-bench-digests';
const TEAM = 'bench-digest';
const option = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const PAGE = option('pages', 500);
const PARALLELISM = option('parallelism', 4);
const SMTP_CONNECTIONS = option('smtp-connections', 16);

interface SinkStats {
  received: number;
  distinct: number;
}

/** Starts the SMTP server process; resolves with its URL and a way to ask it what it received. */
async function startSinkProcess(): Promise<{ url: string; stats(): Promise<SinkStats>; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL('./support/smtp-sink-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`SMTP sink exited with ${code}`)));
  });
  return {
    url,
    child,
    stats: () =>
      new Promise<SinkStats>((resolve) => {
        child.once('message', (m) => resolve(m as SinkStats));
        child.send('stats');
      }),
  };
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const n = (x: number) => x.toLocaleString('en-US');

async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const smtp = await startSinkProcess();
  const base = loadConfig();
  const config = {
    ...base,
    mysql: { ...base.mysql, database: BENCH_DB },
    digests: { ...base.digests, bucket: BENCH_BUCKET, smtpUrl: smtp.url, smtpConnections: SMTP_CONNECTIONS, webhookUrl: undefined },
  };
  const admin = createClients(base);
  await admin.catalog.query(`CREATE DATABASE IF NOT EXISTS \`${BENCH_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const clients = createClients(config);
  const { client, connection } = await connectClient(config);
  let worker: WorkerProcess | undefined;
  try {
    const ctx = { mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config };
    await migrateCatalog(ctx);
    await migrateQuality(ctx);
    await migrateHealth(ctx);
    await migrateDigests(ctx);
    await migrateBackfills(ctx);
    await migrateRunRecords(ctx);
    const db = clients.catalog;
    for (const table of ['datasets', 'sync_runs', 'anomalies', 'anomaly_scans', 'health_scores', 'digest_deliveries'])
      await db.query(`TRUNCATE TABLE ${table}`);

    const t0 = performance.now();
    for (let i = 0; i < OWNERS; i += 5_000) {
      const rows: unknown[][] = [];
      for (let d = i; d < Math.min(OWNERS, i + 5_000); d++) {
        const name = `bench_digest.ds${String(d).padStart(6, '0')}`;
        const owner = `owner${String(d).padStart(6, '0')}@bench-digest.localhost`;
        const declaration = {
          name,
          source: { kind: 'postgres', connection: 'local-postgres', table: 'public.t', primaryKey: ['id'] },
          target: { table: `ds${d}` },
          owner,
          team: TEAM,
          description: `Dataset ${d}`,
          tags: ['bench'],
          freshnessSlaHours: 24,
        };
        rows.push([
          name,
          JSON.stringify(declaration),
          'postgres',
          `ds${d}`,
          owner,
          TEAM,
          declaration.description,
          '["bench"]',
          '0'.repeat(64),
        ]);
      }
      await db.query(
        'INSERT INTO datasets (name, declaration, source_kind, target_table, owner, team, description, tags, declaration_sha256) VALUES ?',
        [rows],
      );
    }
    const days = Array.from({ length: 14 }, (_, k) => `SELECT ${k} AS k`).join(' UNION ALL ');
    await db.query(
      `INSERT INTO health_scores (dataset, day, team, score, documentation, freshness, reliability, quality, components, weights, as_of)
       SELECT d.name, DATE('${DAY}') - INTERVAL k.k DAY, d.team, IF(k.k = 0, 60 + MOD(CRC32(d.name), 30), 90), 100, 100, 100, 100, '{}', '{}', TIMESTAMP('${DAY} 23:59:59')
       FROM datasets d CROSS JOIN (${days}) k`,
    );
    await db.query(
      `INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, finished_at, error)
       SELECT CONCAT(d.target_table, '-failed'), d.name, CONCAT('sync:', d.name), 'incremental', 'failed',
         TIMESTAMP('${DAY} 04:00:00'), TIMESTAMP('${DAY} 04:01:00'), 'source timed out'
       FROM datasets d`,
    );
    await db.query(
      `INSERT INTO anomalies (dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status, scan_id)
       SELECT d.name, 'volume', 'incremental', TIMESTAMP('${DAY} 10:00:00'), 5000, 1000, 800, 1200, 0.99, 'up', 'open', 'bench-scan'
       FROM datasets d WHERE MOD(CRC32(d.name), 4) = 0`,
    );
    console.log(
      `generated ${n(OWNERS)} owners with a dataset each (14 days of scores, a failed sync, 1 in 4 an anomaly) in ${seconds(performance.now() - t0)} s`,
    );

    const taskQueue = `bench-digest-${randomUUID().slice(0, 8)}`;
    // The production notifications worker entry in its own process, so its peak RSS is the worker's alone.
    worker = await startWorkerProcess('notifications', taskQueue, {
      env: {
        MYSQL_DATABASE: BENCH_DB,
        SPOKEFLOW_DIGEST_BUCKET: BENCH_BUCKET,
        SPOKEFLOW_SMTP_URL: smtp.url,
        SPOKEFLOW_SMTP_CONNECTIONS: String(SMTP_CONNECTIONS),
        SPOKEFLOW_DIGEST_WEBHOOK_URL: undefined,
      },
    });
    const measured = worker;
    const input = {
      period: { kind: 'daily', date: DAY },
      scope: { team: TEAM },
      channels: ['email'],
      recipientsPerActivity: PAGE,
      parallelism: PARALLELISM,
    };
    console.log(`pages of ${PAGE} recipients, ${PARALLELISM} in flight, ${SMTP_CONNECTIONS} SMTP connections`);
    const digest = async (label: string): Promise<DigestResult> => {
      const before = (await smtp.stats()).received;
      const t = performance.now();
      const cpu = measured.cpuSeconds() ?? 0;
      const result: DigestResult = await client.workflow.execute('digestWorkflow', {
        taskQueue,
        workflowId: `bench-digest-${randomUUID().slice(0, 8)}`,
        args: [input],
      });
      const ms = performance.now() - t;
      const used = (measured.cpuSeconds() ?? 0) - cpu;
      const received = (await smtp.stats()).received - before;
      console.log(
        `${label}: ${seconds(ms)} s wall (workflow start to result), ${n(result.sent)} digests sent = ${n(Math.round(result.sent / (ms / 1000)))} digests/s; ` +
          `${n(received)} messages received; already sent ${n(result.alreadyDone)}, resent ${result.resent}, refused ${result.failed}, ${n(result.objects)} objects stored, ${result.pages} pages; ` +
          `worker process CPU ${used.toFixed(1)} s`,
      );
      return result;
    };
    await digest('first run');
    await digest('re-run (same period)');
    const peak = await worker.stop();
    worker = undefined;
    console.log(describePeak(taskQueue, peak, measured.entry));

    const stats = await smtp.stats();
    const duplicates = stats.received - stats.distinct;
    const [[ledger]] = (await db.query(
      "SELECT SUM(status = 'sent') AS sent, SUM(status <> 'sent') AS other, SUM(resends) AS resends, MAX(claims) AS max_claims FROM digest_deliveries",
    )) as unknown as [RowDataPacket[]];
    console.log(
      `messages received ${n(stats.received)}, distinct Message-IDs ${n(stats.distinct)} of ${n(OWNERS)} owners, duplicates ${duplicates}; ` +
        `ledger: ${n(Number(ledger!.sent))} sent, ${Number(ledger!.other)} not sent, resends ${Number(ledger!.resends)}, max claims per delivery ${Number(ledger!.max_claims)}`,
    );
    if (duplicates !== 0 || stats.distinct !== OWNERS) process.exitCode = 1;
  } finally {
    await worker?.stop();
    await connection.close();
    smtp.child.disconnect();
    if (!KEEP) {
      const keys: string[] = [];
      if (await clients.minio.bucketExists(BENCH_BUCKET)) {
        for await (const item of clients.minio.listObjectsV2(BENCH_BUCKET, '', true)) if (item.name) keys.push(item.name);
        for (let i = 0; i < keys.length; i += 1_000) await clients.minio.removeObjects(BENCH_BUCKET, keys.slice(i, i + 1_000));
        await clients.minio.removeBucket(BENCH_BUCKET);
      }
      await admin.catalog.query(`DROP DATABASE IF EXISTS \`${BENCH_DB}\``);
      console.log(`cleaned up: database ${BENCH_DB}, ${n(keys.length)} objects and bucket ${BENCH_BUCKET}`);
    }
    await clients.close();
    await admin.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

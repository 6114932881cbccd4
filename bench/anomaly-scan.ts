import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createInfluxAdmin } from '../activities/metrics/influx-admin.js';
import { createMetricSeries, seriesQueries } from '../activities/metrics/metric-series.js';
import type { AnomalyMetric, AnomalyScanResult } from '../common/anomaly-scan.js';
import { chunk, inLanes } from '../common/lanes.js';
import { migrate } from '../infra/migrations/index.js';
import { up as migrateQuality } from '../infra/migrations/0004-quality.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { describePeak, startWorkerProcess } from './support/worker-process.js';
import type { anomalyScanWorkflow } from '../workflows/anomaly-scan.js';
import { mulberry32 as random } from '../common/seeded-random.js';
import { connectClient } from '../runtime/temporal.js';

/**
 * npx tsx bench/anomaly-scan.ts [datasets=2000] [windowHours=24] [--skip-generate] [--parallelism=2] [--per-activity=250]
 *
 * Generates 30 days of hourly run metrics for `datasets` datasets — volume, freshness lag, duration
 * and the null rate of two columns: 5 series each, 10,000 series by default — in a bucket of its
 * own, then scans them (the last `windowHours` reported, the rest training) through a real worker,
 * and reads the same data with the same queries bare, to compare. Data ends at a fixed time, so a
 * second run overwrites the same points (and may skip generating them).
 */
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const DATASETS = Number(args[0] ?? 2_000);
const WINDOW_HOURS = Number(args[1] ?? 24);
const SKIP_GENERATE = process.argv.includes('--skip-generate');
const HOUR = 3_600_000;
const DAYS = 30;
const END = Date.UTC(2025, 5, 1);
const START = END - DAYS * 24 * HOUR;
const METRICS: AnomalyMetric[] = ['volume', 'freshness', 'duration', 'null_rate'];
const flag = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const DATASETS_PER_ACTIVITY = flag('per-activity', 250);
const PARALLELISM = flag('parallelism', 2);

const datasetName = (i: number) => `bench_scan.ds${String(i).padStart(5, '0')}`;

const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const base = loadConfig();
  const bucket = base.influx.flavor === 'v1' ? 'spokeflow_bench/autogen' : 'spokeflow-bench';
  const config = { ...base, influx: { ...base.influx, bucket } };
  const clients = createClients(config);
  await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config: base });
  await migrateQuality({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config });
  await createInfluxAdmin(config.influx).ensureBucket();

  // One injected spike in the window for every tenth dataset's volume.
  const windowFrom = END - WINDOW_HOURS * HOUR;
  const injected = new Map<string, number>();
  for (let d = 0; d < DATASETS; d += 10) injected.set(datasetName(d), windowFrom + ((d / 10) % WINDOW_HOURS) * HOUR);

  if (!SKIP_GENERATE) {
    const t0 = performance.now();
    const rnd = random(42);
    const write = clients.influx.getWriteApi(config.influx.org, bucket, 's', { batchSize: 50_000, flushInterval: 0, maxRetries: 3 });
    let pending = 0;
    let lines = 0;
    for (let d = 0; d < DATASETS; d++) {
      const dataset = datasetName(d);
      const team = `team${d % 20}`;
      const level = 200 + 5_000 * rnd();
      const spike = injected.get(dataset);
      const records: string[] = [];
      for (let t = START; t < END; t += HOUR) {
        const hour = (t / HOUR) % 24;
        let rows = Math.round(level * (1 + 0.3 * Math.sin((2 * Math.PI * hour) / 24)) * (1 + (rnd() - 0.5) * 0.04));
        if (t === spike) rows *= 4;
        const s = t / 1000;
        records.push(
          `sync_run,dataset=${dataset},mode=incremental,status=succeeded,team=${team} rows=${rows}i,bytes=${rows * 120}i,` +
            `duration_seconds=${(2 + rows / 2_000 + rnd()).toFixed(3)},freshness_lag_seconds=${(300 + 60 * rnd()).toFixed(1)} ${s}`,
          `sync_column,column=email,dataset=${dataset},team=${team} nulls=${Math.round(rows * 0.1)}i,null_rate=${(0.1 + (rnd() - 0.5) * 0.01).toFixed(5)} ${s}`,
          `sync_column,column=phone,dataset=${dataset},team=${team} nulls=${Math.round(rows * 0.3)}i,null_rate=${(0.3 + (rnd() - 0.5) * 0.02).toFixed(5)} ${s}`,
        );
      }
      write.writeRecords(records);
      pending += records.length;
      lines += records.length;
      if (pending >= 200_000) {
        await write.flush();
        pending = 0;
      }
    }
    await write.close();
    console.log(
      `generated ${DATASETS} datasets × 5 series × ${DAYS * 24} hourly points (${lines.toLocaleString('en-US')} lines) in ${seconds(performance.now() - t0)} s`,
    );
  }

  // The production quality worker entry in its own process, so its peak RSS is the worker's alone.
  const taskQueue = `bench-anomaly-scan-${Date.now()}`;
  const worker = await startWorkerProcess('quality', taskQueue, { env: { INFLUX_BUCKET: bucket } });
  let peak: { peakRssMiB: number; idleRssMiB: number } | undefined;
  const { client, connection } = await connectClient(config);
  const datasets = Array.from({ length: DATASETS }, (_, i) => datasetName(i));
  try {
    const window = { from: new Date(windowFrom).toISOString(), to: new Date(END).toISOString() };
    // Warm the worker (workflow bundle, connections) on an empty scan, outside the timing.
    await client.workflow.execute<typeof anomalyScanWorkflow>('anomalyScanWorkflow', {
      taskQueue,
      workflowId: `bench-anomaly-scan-warmup-${Date.now()}`,
      args: [{ datasets: ['bench_scan.none'], window, trainingDays: 1 }],
    });

    const t0 = performance.now();
    const result: AnomalyScanResult = await client.workflow.execute<typeof anomalyScanWorkflow>('anomalyScanWorkflow', {
      taskQueue,
      workflowId: `bench-anomaly-scan-${Date.now()}`,
      args: [
        {
          datasets,
          metrics: METRICS,
          window,
          trainingDays: DAYS - WINDOW_HOURS / 24,
          datasetsPerActivity: DATASETS_PER_ACTIVITY,
          parallelism: PARALLELISM,
        },
      ],
    });
    const scanMs = performance.now() - t0;

    // The ceiling: the same queries, groups and concurrency, every byte read and thrown away.
    const reader = createMetricSeries(clients.influx, config.influx.org, bucket);
    const groups = chunk(datasets, DATASETS_PER_ACTIVITY);
    const t1 = performance.now();
    let bytes = 0;
    await inLanes(groups, PARALLELISM, async (group) => {
      await Promise.all(
        seriesQueries(bucket, { datasets: group, metrics: METRICS, startMs: START, stopMs: END }).map(async ({ flux }) => {
          for await (const part of reader.rawQuery(flux)) bytes += part.length;
        }),
      );
    });
    const readMs = performance.now() - t1;

    const [rows] = await clients.catalog.query('SELECT dataset, at FROM anomalies WHERE scan_id = ? AND metric = ?', [
      result.scanId,
      'volume',
    ]);
    const caught = (rows as { dataset: string; at: string }[]).filter(
      (r) => injected.get(r.dataset) === Date.parse(`${r.at.replace(' ', 'T')}Z`),
    ).length;
    const points = result.series * DAYS * 24;
    console.log(
      `scan: ${result.datasets} datasets, ${result.series} series, ${points.toLocaleString('en-US')} points read (${result.points.toLocaleString('en-US')} in the ${WINDOW_HOURS} h window, scores written), ${result.groups} activities × ≤${DATASETS_PER_ACTIVITY} datasets, ${PARALLELISM} in flight`,
    );
    console.log(`  anomalies ${result.anomalies}; injected volume spikes caught ${caught} of ${injected.size}`);
    console.log(`scan time        ${seconds(scanMs)} s  (${Math.round(points / (scanMs / 1000)).toLocaleString('en-US')} points/s)`);
    console.log(`bare read time   ${seconds(readMs)} s  (${(bytes / 1e6).toFixed(0)} MB of CSV, same queries)`);
    console.log(`ratio            ${(scanMs / readMs).toFixed(2)}  (target ≤ 1.3, issue 13)`);
    peak = await worker.stop();
    console.log(describePeak(taskQueue, peak, worker.entry));

    await clients.catalog.query('DELETE FROM anomalies WHERE dataset LIKE ?', ['bench\\_scan.%']);
    await clients.catalog.query('DELETE FROM anomaly_scans WHERE workflow_id LIKE ?', ['bench-anomaly-scan-%']);
  } finally {
    if (!peak) await worker.stop();
    await connection.close();
    await clients.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import type { Client } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2/promise';
import { fromSqlTime } from '../../common/time.js';
import type { AnomalyScanResult } from '../../common/anomaly-scan.js';
import type { HealthScoringResult } from '../../common/health.js';
import { mulberry32 } from '../../common/seeded-random.js';
import { TaskQueue } from '../../common/task-queues.js';
import { WORKFLOWS } from '../../common/workflows.js';
import type { Clients } from '../../runtime/clients.js';
import type { SpokeflowConfig } from '../../runtime/config.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SCANNED_DAYS = 3;
const HISTORY_DAYS = 28;

/** What the seeded history hides in the scanned window, so the printout can say whether it was found. */
export interface PlantedAnomaly {
  dataset: string;
  metric: 'volume' | 'null_rate' | 'duration';
  atMs: number;
  what: string;
}

/**
 * Four weeks of hourly sync metrics for the shop's datasets, as the sync workflow writes them,
 * plus three planted incidents in the last three days. The history ends at the start of today
 * (UTC), so a second demo run on the same day rewrites the same points.
 */
export async function seedMetricHistory(clients: Clients, config: SpokeflowConfig, datasets: { name: string; team: string }[]) {
  const toMs = Math.floor(Date.now() / DAY) * DAY;
  const fromMs = toMs - SCANNED_DAYS * DAY;
  const byName = new Map(datasets.map((d) => [d.name, d]));
  const planted: PlantedAnomaly[] = [
    { dataset: 'shop.orders', metric: 'volume', atMs: fromMs + 20 * HOUR, what: 'an hour with 5 % of the usual orders' },
    { dataset: 'shop.order_lines', metric: 'null_rate', atMs: fromMs + 45 * HOUR, what: 'discount null in a third of the lines' },
    { dataset: 'shop.customers', metric: 'duration', atMs: fromMs + 62 * HOUR, what: 'a sync ten times slower than usual' },
  ].filter((p) => byName.has(p.dataset)) as PlantedAnomaly[];
  const plantedAt = (dataset: string, metric: PlantedAnomaly['metric'], t: number) =>
    planted.some((p) => p.dataset === dataset && p.metric === metric && p.atMs === t);

  const lines: string[] = [];
  for (const [i, d] of datasets.entries()) {
    const rnd = mulberry32(1_000 + i);
    const base = 200 * (i + 1);
    for (let t = toMs - (HISTORY_DAYS + SCANNED_DAYS) * DAY; t < toMs; t += HOUR) {
      const hour = (t / HOUR) % 24;
      const weekend = [0, 6].includes(new Date(t).getUTCDay());
      let rows = Math.round(
        base * (weekend ? 0.7 : 1) * (1 + 0.4 * Math.sin((2 * Math.PI * (hour - 8)) / 24)) * (1 + (rnd() - 0.5) * 0.06),
      );
      if (plantedAt(d.name, 'volume', t)) rows = Math.round(rows * 0.05);
      let duration = 2 + rows / 500 + rnd() * 0.2;
      if (plantedAt(d.name, 'duration', t)) duration *= 10;
      const lag = 300 + rnd() * 30;
      let nullRate = 0.02 + (rnd() - 0.5) * 0.002;
      if (plantedAt(d.name, 'null_rate', t)) nullRate = 0.33;
      const tags = `dataset=${d.name},mode=incremental,status=succeeded,team=${d.team}`;
      lines.push(`sync_run,${tags} rows=${rows}i,duration_seconds=${duration.toFixed(3)},freshness_lag_seconds=${lag.toFixed(1)} ${t}`);
      lines.push(
        `sync_column,column=discount,dataset=${d.name},team=${d.team} nulls=${Math.round(rows * nullRate)}i,null_rate=${nullRate.toFixed(5)} ${t}`,
      );
    }
  }
  const write = clients.influx.getWriteApi(config.influx.org, config.influx.bucket, 'ms', { batchSize: 20_000 });
  write.writeRecords(lines);
  await write.close();
  return { points: lines.length, window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, planted };
}

/** Whether a found anomaly is one of the planted incidents, a knock-on effect of one, or neither. */
function plantedVerdict(planted: PlantedAnomaly[], dataset: string, metric: string, atMs: number): string {
  const same = planted.filter((p) => p.dataset === dataset && Math.abs(p.atMs - atMs) < HOUR);
  if (same.some((p) => p.metric === metric)) return 'yes';
  return same.length ? `knock-on of the ${same[0]!.metric} incident` : 'no';
}

/**
 * The data-quality part of the demo: seed the metric history, scan its last three days for
 * anomalies, score every dataset's health for today, and print what both found.
 */
export async function showQuality(options: {
  client: Client;
  clients: Clients;
  config: SpokeflowConfig;
  datasets: { name: string; team: string }[];
}) {
  const { client, clients, config, datasets } = options;
  const names = datasets.map((d) => d.name);
  const seeded = await seedMetricHistory(clients, config, datasets);
  console.log(
    `\nmetrics  seeded ${seeded.points.toLocaleString('en-US')} points of hourly sync history; planted ${seeded.planted.length} incidents in ${seeded.window.from} … ${seeded.window.to}`,
  );

  const scanInput = { datasets: names, window: seeded.window };
  const scan: AnomalyScanResult = await client.workflow.execute('anomalyScanWorkflow', {
    taskQueue: TaskQueue.quality,
    workflowId: WORKFLOWS.anomalyScanWorkflow!.workflowIdOf(scanInput),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [scanInput],
    staticSummary: 'demo anomaly scan of the shop',
  });
  console.log(`scan     ${scan.series} series, ${scan.points.toLocaleString('en-US')} points scored: ${scan.anomalies} anomalies`);
  const [found] = await clients.catalog.query<RowDataPacket[]>(
    `SELECT dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status
       FROM anomalies WHERE dataset IN (?) AND at >= ? AND at < ? ORDER BY at`,
    [names, new Date(seeded.window.from), new Date(seeded.window.to)],
  );
  console.table(
    found.map((a) => ({
      dataset: a.dataset,
      metric: `${a.metric} (${a.series_key})`,
      at: new Date(fromSqlTime(a.at)).toISOString().slice(0, 16),
      value: +Number(a.value).toPrecision(4),
      expected: `${+Number(a.lower_bound).toPrecision(3)} … ${+Number(a.upper_bound).toPrecision(3)}`,
      direction: a.direction,
      planted: plantedVerdict(seeded.planted, a.dataset as string, a.metric as string, fromSqlTime(a.at)),
    })),
  );
  const missed = seeded.planted.filter((p) => !found.some((a) => a.dataset === p.dataset && a.metric === p.metric));
  for (const p of missed) console.log(`         missed: ${p.dataset} ${p.metric}, ${p.what}`);

  const health: HealthScoringResult = await client.workflow.execute('healthScoringWorkflow', {
    taskQueue: TaskQueue.quality,
    workflowId: WORKFLOWS.healthScoringWorkflow!.workflowIdOf({}),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{}],
    staticSummary: 'demo health scoring',
  });
  const [scores] = await clients.catalog.query<RowDataPacket[]>(
    'SELECT dataset, team, score, components FROM health_scores WHERE day = ? AND dataset IN (?) ORDER BY score',
    [health.day, names],
  );
  console.log(
    `\nhealth   ${health.day}: ${health.datasets} datasets scored (average ${health.averageScore ?? '–'}); the shop's, worst first:`,
  );
  console.table(
    scores.map((s) => {
      const components = (typeof s.components === 'string' ? JSON.parse(s.components) : s.components) as Record<
        string,
        { score: number; reason: string }
      >;
      return {
        dataset: s.dataset,
        team: s.team,
        score: Number(s.score),
        ...Object.fromEntries(Object.entries(components).map(([name, c]) => [name, `${Math.round(c.score)}: ${c.reason}`])),
      };
    }),
  );
  return { scan, health };
}

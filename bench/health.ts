import { createInfluxAdmin } from '../activities/metrics/influx-admin.js';
import { createHealthActivities } from '../activities/quality/health.js';
import { HealthScoringInput, resolveHealthSpec, type HealthSpec } from '../common/health.js';
import { up as migrateCatalog } from '../infra/migrations/0001-catalog.js';
import { up as migrateQuality } from '../infra/migrations/0004-quality.js';
import { up as migrateHealth } from '../infra/migrations/0006-health.js';
import { up as migrateCheckResults } from '../infra/migrations/0010-check-results.js';
import { up as migrateCheckResultDetails } from '../infra/migrations/0013-check-result-details.js';
import { up as migrateHealthChecks } from '../infra/migrations/0015-health-checks.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';

/**
 * npx tsx bench/health.ts [datasets=100000] [runsPerDataset=10] [--keep]
 *
 * Builds a catalog of `datasets` datasets in a MySQL database of its own (spokeflow_bench_health)
 * with `runsPerDataset` sync runs each over 30 days, a few open anomalies, and on every fourth
 * dataset 4 declared checks with 3 runs of results each (about one result in eight failing), then runs the health
 * scoring activities directly (not through Temporal): plan → score → team aggregates → InfluxDB
 * series (bench bucket), twice, and prints the time of each step. Drops the database afterwards
 * unless --keep. The scored day is fixed, so the InfluxDB points of a re-run overwrite the same ones.
 */
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const DATASETS = Number(args[0] ?? 100_000);
const RUNS = Math.min(30, Number(args[1] ?? 10));
const KEEP = process.argv.includes('--keep');
const DAY = '2025-06-01';
const BENCH_DB = 'spokeflow_bench_health';
const CHECK_IDS = ['c0', 'c1', 'c2', 'c3'];

const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function timed<T>(label: string, f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const result = await f();
  const ms = performance.now() - t0;
  console.log(`  ${label.padEnd(22)} ${seconds(ms).padStart(7)} s`);
  return [result, ms];
}

async function run(): Promise<void> {
  const base = loadConfig();
  const bucket = base.influx.flavor === 'v1' ? 'spokeflow_bench/autogen' : 'spokeflow-bench';
  const config = { ...base, mysql: { ...base.mysql, database: BENCH_DB }, influx: { ...base.influx, bucket } };
  const admin = createClients(base);
  await admin.catalog.query(`CREATE DATABASE IF NOT EXISTS \`${BENCH_DB}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const clients = createClients(config);
  try {
    const ctx = { mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config };
    await migrateCatalog(ctx);
    await migrateQuality(ctx);
    await migrateHealth(ctx);
    await migrateCheckResults(ctx);
    await migrateCheckResultDetails(ctx);
    await migrateHealthChecks(ctx);
    await createInfluxAdmin(config.influx).ensureBucket();
    const db = clients.catalog;

    const t0 = performance.now();
    for (const table of ['datasets', 'sync_runs', 'anomalies', 'check_results', 'health_scores', 'team_health'])
      await db.query(`TRUNCATE TABLE ${table}`);
    for (let i = 0; i < DATASETS; i += 5_000) {
      const rows: unknown[][] = [];
      for (let d = i; d < Math.min(DATASETS, i + 5_000); d++) {
        const name = `bench_health.ds${String(d).padStart(6, '0')}`;
        const declaration = {
          name,
          source: { kind: 'postgres', connection: 'local-postgres', table: 'public.t', primaryKey: ['id'] },
          target: { table: `ds${d}` },
          owner: d % 17 === 0 ? 'unknown' : `owner${d % 500}@example.com`,
          team: `team${d % 200}`,
          description:
            d % 7 === 0 ? '' : d % 5 === 0 ? 'orders' : `Dataset ${d}: one row per business event, loaded from the operational database.`,
          tags: d % 3 === 0 ? [] : ['bench'],
          ...(d % 3 === 2 ? {} : { freshnessSlaHours: d % 2 === 0 ? 24 : 72 }),
          ...(d % 4 === 0
            ? { checks: CHECK_IDS.map((id) => ({ id, kind: 'not_null', column: 'id', severity: id === 'c0' ? 'error' : 'warn' })) }
            : {}),
        };
        rows.push([
          name,
          JSON.stringify(declaration),
          'postgres',
          `ds${d}`,
          declaration.owner,
          declaration.team,
          declaration.description,
          JSON.stringify(declaration.tags),
          '0'.repeat(64),
        ]);
      }
      await db.query(
        'INSERT INTO datasets (name, declaration, source_kind, target_table, owner, team, description, tags, declaration_sha256) VALUES ?',
        [rows],
      );
    }
    // Runs every 3 days or so going back from the day's end, about one in ten failed.
    const n = Array.from({ length: RUNS }, (_, k) => `SELECT ${k} AS n`).join(' UNION ALL ');
    await db.query(
      `INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, finished_at)
       SELECT CONCAT(d.target_table, '-', k.n), d.name, 'bench', 'incremental',
         IF(MOD(CRC32(CONCAT(d.name, k.n)), 10) = 0, 'failed', 'succeeded'),
         TIMESTAMP('${DAY} 23:00:00') - INTERVAL (k.n * 72 + MOD(CRC32(d.name), 48)) HOUR,
         TIMESTAMP('${DAY} 23:05:00') - INTERVAL (k.n * 72 + MOD(CRC32(d.name), 48)) HOUR
       FROM datasets d CROSS JOIN (${n}) k`,
    );
    await db.query(
      `INSERT INTO anomalies (dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status, scan_id)
       SELECT d.name, 'volume', 'incremental', TIMESTAMP('${DAY} 10:00:00') - INTERVAL k.n HOUR, 1, 1, 1, 1, 0.9, 'up',
         IF(k.n = 0, 'open', 'confirmed'), 'bench'
       FROM datasets d CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) k WHERE MOD(CRC32(d.name), 20) = 0`,
    );
    // Three check runs a day apart before the day's end, one in eight results failing or errored.
    const checkIds = CHECK_IDS.map((id) => `SELECT '${id}' AS id`).join(' UNION ALL ');
    await db.query(
      `INSERT INTO check_results (run_id, dataset, team, check_id, kind, severity, status, checked_at)
       SELECT CONCAT('bench-', k.n), d.name, d.team, c.id, 'not_null', IF(c.id = 'c0', 'error', 'warn'),
         ELT(1 + MOD(CRC32(CONCAT(d.name, c.id, k.n)), 16), 'failed', 'errored', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed',
           'passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed'),
         TIMESTAMP('${DAY} 20:00:00') - INTERVAL k.n DAY
       FROM datasets d CROSS JOIN (${checkIds}) c CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) k
       WHERE JSON_LENGTH(d.declaration, '$.checks') > 0`,
    );
    const [[counts]] = (await db.query(
      'SELECT (SELECT COUNT(*) FROM sync_runs) AS runs, (SELECT COUNT(*) FROM anomalies) AS anomalies, (SELECT COUNT(*) FROM check_results) AS checks',
    )) as unknown as [{ runs: string; anomalies: string; checks: string }[]];
    console.log(
      `generated ${DATASETS.toLocaleString('en-US')} datasets, ${Number(counts!.runs).toLocaleString('en-US')} sync runs, ` +
        `${Number(counts!.anomalies).toLocaleString('en-US')} anomalies, ${Number(counts!.checks).toLocaleString('en-US')} check results ` +
        `in ${seconds(performance.now() - t0)} s`,
    );

    const acts = createHealthActivities({ catalog: db, influx: clients.influx, influxOrg: config.influx.org, influxBucket: bucket });
    const spec = resolveHealthSpec(HealthScoringInput.parse({ day: DAY }), Date.now()) as HealthSpec;
    for (const attempt of ['first run', 're-run (same day)']) {
      console.log(`${attempt}:`);
      let total = 0;
      const [plan, a] = await timed('planHealth', () => acts.planHealth(spec));
      const [scored, b] = await timed('scoreHealth', () => acts.scoreHealth(spec));
      const [teams, c] = await timed('summariseTeams', () => acts.summariseTeams(spec));
      const [published, d] = await timed('publishHealthSeries', () => acts.publishHealthSeries(spec));
      total = a + b + c + d;
      console.log(
        `  total ${seconds(total)} s: ${scored.scored.toLocaleString('en-US')} of ${plan.datasets.toLocaleString('en-US')} datasets scored ` +
          `(average ${scored.averageScore}), ${teams.teams} teams (worst ${teams.worstTeams[0]?.team} ${teams.worstTeams[0]?.score}), ` +
          `${published.points.toLocaleString('en-US')} InfluxDB points`,
      );
    }
    const [[rows]] = (await db.query(
      'SELECT COUNT(*) AS n, COUNT(checks) AS with_checks, ROUND(AVG(checks), 1) AS checks_avg FROM health_scores WHERE day = ?',
      [DAY],
    )) as unknown as [{ n: string; with_checks: string; checks_avg: string | null }[]];
    console.log(
      `health_scores rows for ${DAY}: ${Number(rows!.n).toLocaleString('en-US')}, ` +
        `${Number(rows!.with_checks).toLocaleString('en-US')} with a checks component (average ${rows!.checks_avg})`,
    );
  } finally {
    await clients.close();
    if (!KEEP) await admin.catalog.query(`DROP DATABASE IF EXISTS \`${BENCH_DB}\``);
    await admin.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

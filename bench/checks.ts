import { loadavg } from 'node:os';
import type { RowDataPacket } from 'mysql2/promise';
import { createCheckResultStore } from '../activities/catalog/check-results.js';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { createInfluxAdmin } from '../activities/metrics/influx-admin.js';
import { createCheckMetrics } from '../activities/metrics/check-metrics.js';
import { createCheckSamples } from '../activities/objects/check-samples.js';
import { createChecksActivities } from '../activities/quality/checks.js';
import { up as migrateCatalog } from '../infra/migrations/0001-catalog.js';
import { up as migrateCheckResults } from '../infra/migrations/0010-check-results.js';
import { up as migrateCheckDetails } from '../infra/migrations/0013-check-result-details.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';

/**
 * npx tsx bench/checks.ts [rows=5000000] [--repeat=3] [--reload]
 *
 * Ten checks of every kind declared on one `rows`-row silver table (bench_checks.orders, with a
 * 100,000-row customers dimension for the relationship) in a MySQL database of its own
 * (spokeflow_bench_checks, catalog and silver in one), run through the checks activity itself
 * (runDatasetChecks: the compiler's combined scan, the separate queries, results recorded in
 * check_results and InfluxDB), against one bare `SELECT COUNT(*) … WHERE` over the same columns,
 * alternately, `repeat` times each after a warm-up scan. Prints the medians, their ratio, each
 * check's query time and the load average. The tables are kept and reused while their row
 * count matches (--reload rebuilds them). Run it under `flock /tmp/spokeflow-it.lock`.
 */
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROWS = Number(args.find((a) => !a.startsWith('--')) ?? 5_000_000);
const REPEAT = flag('repeat', 3);
const RELOAD = args.includes('--reload');
const CUSTOMERS = 100_000;
const DATABASE = 'spokeflow_bench_checks';
const DATASET = 'bench_checks.orders';
const TABLE = 'orders';
const DIMENSION = 'customers';

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The ten checks, one of each kind, as an owner of an orders table would declare them; all pass on the generated data. */
const CHECKS = [
  { id: 'orders_customer_not_null', kind: 'not_null', severity: 'error', column: 'customer_id' },
  { id: 'orders_ref_unique', kind: 'unique', severity: 'error', columns: ['order_ref'] },
  {
    id: 'orders_status_values',
    kind: 'accepted_values',
    severity: 'error',
    column: 'status',
    values: ['new', 'paid', 'shipped', 'returned'],
  },
  { id: 'orders_total_range', kind: 'range', severity: 'error', column: 'total', min: 0, max: 10_000 },
  { id: 'orders_email_format', kind: 'regex', severity: 'warn', column: 'email', pattern: '^[a-z0-9.]+@[a-z0-9.]+$' },
  { id: 'orders_count', kind: 'row_count', severity: 'error', min: ROWS, max: ROWS },
  // The newest order is from when the table was generated: a reused table stays fresh for a year.
  { id: 'orders_fresh', kind: 'freshness', severity: 'warn', column: 'created_at', max_age: '365d' },
  {
    id: 'orders_schema',
    kind: 'schema',
    severity: 'error',
    columns: [{ name: 'order_id' }, { name: 'customer_id' }, { name: 'total' }, { name: 'status' }],
  },
  {
    id: 'orders_customer_fk',
    kind: 'relationship',
    severity: 'error',
    column: 'customer_id',
    to: { dataset: 'bench_checks.customers', column: 'customer_id' },
  },
  { id: 'orders_no_refund_above_total', kind: 'sql', severity: 'warn', query: 'SELECT order_id FROM {{table}} WHERE refunded > total' },
];

/** Every column the checks read: the bare scan's WHERE names the same ones. */
const READ_COLUMNS = ['customer_id', 'order_ref', 'status', 'total', 'email', 'created_at', 'refunded'];

function declaration(name: string, table: string, primaryKey: string, checks: unknown[]) {
  return {
    name,
    source: { kind: 'postgres', connection: 'local-postgres', table: `public.${table}`, primaryKey: [primaryKey] },
    target: { table },
    owner: 'bench@example.com',
    team: 'bench',
    checks,
  };
}

async function run(): Promise<void> {
  const base = loadConfig();
  const bucket = base.influx.flavor === 'v1' ? 'spokeflow_bench/autogen' : 'spokeflow-bench';
  const config = { ...base, mysql: { ...base.mysql, database: DATABASE, silverDatabase: DATABASE }, influx: { ...base.influx, bucket } };
  const admin = createClients(base);
  await admin.catalog.query(`CREATE DATABASE IF NOT EXISTS \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.close();
  const clients = createClients(config);
  const db = clients.catalog;
  try {
    const ctx = { mysql: db, minio: clients.minio, influxAdmin: clients.influxAdmin, config };
    await migrateCatalog(ctx);
    await migrateCheckResults(ctx);
    await migrateCheckDetails(ctx);
    await createInfluxAdmin(config.influx).ensureBucket();

    // Reused while it holds the row count asked for; the generation takes a minute or more.
    const [tables] = await db.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t, TABLE_COMMENT AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [DATABASE, TABLE],
    );
    const cached = !RELOAD && tables[0]?.c === `rows=${ROWS}`;
    if (!cached) {
      const t0 = performance.now();
      await generate(db);
      console.log(
        `generated ${ROWS.toLocaleString('en-US')} orders and ${CUSTOMERS.toLocaleString('en-US')} customers in ${seconds(performance.now() - t0)} s`,
      );
    } else console.log(`reusing ${DATABASE}.${TABLE} (${ROWS.toLocaleString('en-US')} rows)`);

    const catalog = createDatasetCatalog(db, { silverDatabase: DATABASE });
    await catalog.upsert(declaration('bench_checks.customers', DIMENSION, 'customer_id', []));
    // Applying the checks gives order_ref and customer_id their secondary indexes (a build on a table that lacks them).
    const a0 = performance.now();
    await catalog.upsert(declaration(DATASET, TABLE, 'order_id', CHECKS));
    console.log(`checks applied in ${seconds(performance.now() - a0)} s (indexes for unique and relationship included)`);

    const acts = createChecksActivities({
      catalog: db,
      silverDatabase: DATABASE,
      silverSite: { store: 'MySQL silver', address: `${config.mysql.host}:${config.mysql.port}`, database: DATABASE, setting: 'MYSQL_*' },
      samples: createCheckSamples(clients.minio, config.minio.bronzeBucket),
      metrics: createCheckMetrics(clients.influx, config.influx.org, bucket),
      ownerSqlTimeoutSeconds: 600,
    });
    const bare = `SELECT COUNT(*) AS n FROM \`${DATABASE}\`.\`${TABLE}\` WHERE ${READ_COLUMNS.map((c) => `\`${c}\` IS NOT NULL`).join(' AND ')}`;

    const loadBefore = load();
    const t0 = performance.now();
    await db.query(bare); // warm-up: the table into the buffer pool, outside the timing
    console.log(`warm-up scan ${seconds(performance.now() - t0)} s`);
    const bareMs: number[] = [];
    const checksMs: number[] = [];
    let lastRun = '';
    for (let i = 0; i < REPEAT; i++) {
      const b0 = performance.now();
      await db.query(bare);
      bareMs.push(performance.now() - b0);
      lastRun = `bench-checks-${Date.now()}`;
      const c0 = performance.now();
      const summary = await acts.runDatasetChecks({ runId: lastRun, dataset: DATASET, startedAtMs: Date.now() });
      checksMs.push(performance.now() - c0);
      if (summary.passed !== CHECKS.length) throw new Error(`expected every check to pass: ${JSON.stringify(summary)}`);
      console.log(`  run ${i + 1}: bare scan ${seconds(bareMs[i]!)} s, ${CHECKS.length} checks ${seconds(checksMs[i]!)} s`);
    }
    const loadAfter = load();

    const results = await createCheckResultStore(db).ofRun(lastRun);
    console.log(`checks of the last run (query time each; the row-level ones share the combined scan):`);
    for (const r of results)
      console.log(`  ${r.checkId.padEnd(30)} ${r.kind.padEnd(16)} ${r.status.padEnd(7)} ${seconds(r.durationMs).padStart(7)} s`);
    const ratio = median(checksMs) / median(bareMs);
    console.log(
      `bare scan        ${seconds(median(bareMs))} s  (median of ${REPEAT}; SELECT COUNT(*) … WHERE ${READ_COLUMNS.length} columns IS NOT NULL)`,
    );
    console.log(
      `${CHECKS.length} checks        ${seconds(median(checksMs))} s  (median of ${REPEAT}; runDatasetChecks, recording included)`,
    );
    console.log(`ratio            ${ratio.toFixed(2)}  (target ≤ 1.5)`);
    console.log(`load average     ${loadBefore} before, ${loadAfter} after (1, 5, 15 min)`);
    await db.query('DELETE FROM check_results WHERE dataset = ?', [DATASET]);
  } finally {
    await clients.close();
  }
}

/** The dimension and the orders, generated on the server from MariaDB's sequence tables. */
async function generate(db: ReturnType<typeof createClients>['catalog']): Promise<void> {
  const t = (name: string) => `\`${DATABASE}\`.\`${name}\``;
  const bookkeeping = '`_spokeflow_run` VARCHAR(64) NOT NULL, `_spokeflow_loaded_at` DATETIME(6) NOT NULL';
  await db.query(`DROP TABLE IF EXISTS ${t(TABLE)}, ${t(DIMENSION)}`);
  await db.query(`CREATE TABLE ${t(DIMENSION)} (customer_id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, ${bookkeeping})`);
  await db.query(`INSERT INTO ${t(DIMENSION)} SELECT seq, CONCAT('customer ', seq), 'bench', UTC_TIMESTAMP(6) FROM seq_1_to_${CUSTOMERS}`);
  await db.query(`CREATE TABLE ${t(TABLE)} (
    order_id BIGINT NOT NULL PRIMARY KEY,
    order_ref VARCHAR(20) NOT NULL,
    customer_id BIGINT NULL,
    status VARCHAR(16) NOT NULL,
    total DECIMAL(10,2) NOT NULL,
    refunded DECIMAL(10,2) NOT NULL,
    email VARCHAR(100) NULL,
    created_at DATETIME(6) NOT NULL,
    ${bookkeeping}
  ) ENGINE=InnoDB COMMENT='generating'`);
  await db.query(
    `INSERT INTO ${t(TABLE)}
     SELECT seq, CONCAT('ORD-', LPAD(seq, 10, '0')), 1 + MOD(seq * 7919, ${CUSTOMERS}),
       ELT(1 + MOD(seq, 4), 'new', 'paid', 'shipped', 'returned'), MOD(seq * 31, 100000) / 100, MOD(seq * 31, 100000) / 400,
       CONCAT('buyer', MOD(seq, 50000), '@example.com'), UTC_TIMESTAMP() - INTERVAL ((${ROWS} - seq) DIV 10) SECOND,
       'bench', UTC_TIMESTAMP(6)
     FROM seq_1_to_${ROWS}`,
  );
  await db.query(`ANALYZE TABLE ${t(TABLE)}, ${t(DIMENSION)}`);
  await db.query(`ALTER TABLE ${t(TABLE)} COMMENT = 'rows=${ROWS}'`);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

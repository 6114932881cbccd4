import type { Client as MinioClient } from 'minio';
import type { Pool } from 'mysql2/promise';
import type { Pool as PgPool } from 'pg';
import { Umzug, type UmzugStorage } from 'umzug';
import type { InfluxAdmin } from '../../activities/metrics/influx-admin.js';
import type { SpokeflowConfig } from '../../runtime/config.js';
import * as catalog from './0001-catalog.js';
import * as objectBuckets from './0002-object-buckets.js';
import * as metricsBucket from './0003-metrics-bucket.js';
import * as quality from './0004-quality.js';
import * as backfills from './0005-backfills.js';
import * as health from './0006-health.js';
import * as vectorIndex from './0007-vector-index.js';
import * as digests from './0008-digests.js';
import * as runRecords from './0009-run-records.js';
import * as checkResults from './0010-check-results.js';
import * as datasetLeases from './0011-dataset-leases.js';
import * as vectorRefreshPages from './0012-vector-refresh-pages.js';
import * as checkResultDetails from './0013-check-result-details.js';
import * as anomalyExplanations from './0014-anomaly-explanations.js';
import * as healthChecks from './0015-health-checks.js';
import * as syncKeyRanges from './0016-sync-key-ranges.js';
import * as flowConcurrency from './0017-flow-concurrency.js';

export interface MigrationContext {
  mysql: Pool;
  minio: MinioClient;
  influxAdmin: InfluxAdmin;
  /** Postgres with pgvector: the vector index. Left out, the migration that needs it opens its own pool. */
  postgres?: PgPool;
  config: SpokeflowConfig;
}

/** Every store's schema, in one ordered list. Names are versions: never rename or reorder. */
const MIGRATIONS = [
  { name: '0001-catalog', up: catalog.up },
  { name: '0002-object-buckets', up: objectBuckets.up },
  { name: '0003-metrics-bucket', up: metricsBucket.up },
  { name: '0004-quality', up: quality.up },
  { name: '0005-backfills', up: backfills.up },
  { name: '0006-health', up: health.up },
  { name: '0007-vector-index', up: vectorIndex.up },
  { name: '0008-digests', up: digests.up },
  { name: '0009-run-records', up: runRecords.up },
  { name: '0010-check-results', up: checkResults.up },
  { name: '0011-dataset-leases', up: datasetLeases.up },
  { name: '0012-vector-refresh-pages', up: vectorRefreshPages.up },
  { name: '0013-check-result-details', up: checkResultDetails.up },
  { name: '0014-anomaly-explanations', up: anomalyExplanations.up },
  { name: '0015-health-checks', up: healthChecks.up },
  { name: '0016-sync-key-ranges', up: syncKeyRanges.up },
  { name: '0017-flow-concurrency', up: flowConcurrency.up },
];

/** Applied migrations are recorded in the catalog database, beside the tables they made. */
function mysqlStorage(mysql: Pool, database: string): UmzugStorage<MigrationContext> {
  const table = `\`${database}\`.schema_migrations`;
  const ensure = () =>
    mysql.query(
      `CREATE TABLE IF NOT EXISTS ${table} (name VARCHAR(200) NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`,
    );
  return {
    async executed() {
      await ensure();
      const [rows] = await mysql.query(`SELECT name FROM ${table} ORDER BY name`);
      return (rows as { name: string }[]).map((r) => r.name);
    },
    async logMigration({ name }) {
      await mysql.query(`INSERT IGNORE INTO ${table} (name) VALUES (?)`, [name]);
    },
    async unlogMigration({ name }) {
      await mysql.query(`DELETE FROM ${table} WHERE name = ?`, [name]);
    },
  };
}

/** Brings every store up to the latest schema; safe to run from several processes at once. */
export async function migrate(context: MigrationContext): Promise<string[]> {
  const { mysql, config } = context;
  await mysql.query(`CREATE DATABASE IF NOT EXISTS \`${config.mysql.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const lockConnection = await mysql.getConnection();
  try {
    const [locked] = await lockConnection.query("SELECT GET_LOCK('spokeflow_migrations', 60) AS ok");
    if ((locked as { ok: number }[])[0]?.ok !== 1) throw new Error('another process holds the migration lock for over 60 s');
    const umzug = new Umzug<MigrationContext>({
      migrations: MIGRATIONS.map((m) => ({ name: m.name, up: ({ context: ctx }) => m.up(ctx) })),
      context,
      storage: mysqlStorage(mysql, config.mysql.database),
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  } finally {
    await lockConnection.query("SELECT RELEASE_LOCK('spokeflow_migrations')");
    lockConnection.release();
  }
}

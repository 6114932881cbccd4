import { InfluxDB } from '@influxdata/influxdb-client';
import { Client as MinioClient } from 'minio';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Tracer } from '@opentelemetry/api';
import { createInfluxAdmin } from '../activities/metrics/influx-admin.js';
import {
  influxErrorClassifier,
  minioErrorClassifier,
  mysqlErrorClassifier,
  postgresErrorClassifier,
  siteOfUrl,
  smtpErrorClassifier,
  storesErrorClassifier,
  type ClassifyError,
} from '../activities/store-errors.js';
import type { SpokeflowConfig } from './config.js';
import { STORE_SPANS, withStoreSpans, type StoreSpanSite, type StoreSpanSpec } from '../activities/store-spans.js';

/**
 * The store clients activities are built from; one set per process. Given a tracer (OTLP is
 * configured), every store call inside a traced activity is a span of its own.
 */
export function createClients(config: SpokeflowConfig, options: { tracer?: Tracer } = {}) {
  const rawCatalog = mysql.createPool({
    host: config.mysql.host,
    port: config.mysql.port,
    user: config.mysql.user,
    password: config.mysql.password,
    database: config.mysql.database,
    connectionLimit: 8,
    charset: 'utf8mb4',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // Catalog timestamps are UTC whatever the server's zone.
  rawCatalog.pool.on('connection', (conn) => {
    conn.query("SET SESSION time_zone = '+00:00'");
  });
  const rawMinio = new MinioClient({
    endPoint: config.minio.endPoint,
    port: config.minio.port,
    useSSL: config.minio.useSSL,
    accessKey: config.minio.accessKey,
    secretKey: config.minio.secretKey,
  });
  const rawInflux = new InfluxDB({ url: config.influx.url, token: config.influx.token });
  const influxAdmin = createInfluxAdmin(config.influx);
  // The vector index (pgvector); a pool connects on first use, so processes that never touch it pay nothing.
  const p = config.postgres;
  const rawPostgres = new pg.Pool({ host: p.host, port: p.port, user: p.user, password: p.password, database: p.database, max: 8 });
  rawPostgres.on('error', () => undefined); // an idle client's lost connection is replaced on next use
  const { tracer } = options;
  const traced = <T extends object>(client: T, site: StoreSpanSite, spec: StoreSpanSpec): T =>
    tracer ? withStoreSpans(client, site, spec, tracer) : client;
  const catalog = traced(
    rawCatalog,
    { name: 'MySQL catalog', system: 'mysql', address: `${config.mysql.host}:${config.mysql.port}` },
    STORE_SPANS.mysql,
  );
  const minio = traced(
    rawMinio,
    { name: 'MinIO', system: 's3', address: `${config.minio.endPoint}:${config.minio.port}` },
    STORE_SPANS.minio,
  );
  const influx = traced(
    rawInflux,
    { name: 'InfluxDB', system: 'influxdb', address: siteOfUrl(config.influx.url)?.address ?? '' },
    STORE_SPANS.influx,
  );
  const postgres = traced(
    rawPostgres,
    { name: 'Postgres vector index', system: 'postgresql', address: `${p.host}:${p.port}` },
    STORE_SPANS.postgres,
  );
  return {
    catalog,
    minio,
    influx,
    influxAdmin,
    postgres,
    /** Set when tracing: domains trace their own connections (sources) with it. */
    tracer,
    async close() {
      await catalog.end();
      await postgres.end();
    },
  };
}
export type Clients = ReturnType<typeof createClients>;

/**
 * The mapping of every shared client's errors (catalog MySQL, pgvector Postgres, MinIO, InfluxDB,
 * SMTP), each naming its store, address and settings. Sources map their own (activities/sources).
 */
export function storeErrorClassifier(config: SpokeflowConfig): ClassifyError {
  const { mysql: m, postgres: p, minio: o, influx: i } = config;
  const influx = siteOfUrl(i.url) ?? { address: i.url };
  const smtp = config.digests.smtpUrl ? siteOfUrl(config.digests.smtpUrl) : undefined;
  return storesErrorClassifier([
    {
      driver: 'mysql',
      host: m.host,
      classify: mysqlErrorClassifier({
        store: 'MySQL catalog',
        address: `${m.host}:${m.port}`,
        database: m.database,
        setting: 'the MYSQL_* settings',
      }),
    },
    {
      driver: 'postgres',
      host: p.host,
      classify: postgresErrorClassifier({
        store: 'Postgres vector index',
        address: `${p.host}:${p.port}`,
        database: p.database,
        setting: 'the PG* settings',
      }),
    },
    {
      driver: 'minio',
      host: o.endPoint,
      classify: minioErrorClassifier({
        store: 'MinIO',
        address: `${o.endPoint}:${o.port}`,
        setting: 'MINIO_ACCESS_KEY and MINIO_SECRET_KEY',
      }),
    },
    {
      driver: 'influx',
      host: influx.address.split(':')[0] ?? '',
      classify: influxErrorClassifier({ store: 'InfluxDB', address: influx.address, setting: 'INFLUX_TOKEN' }),
    },
    ...(smtp
      ? [
          {
            driver: 'smtp' as const,
            host: smtp.address.split(':')[0] ?? '',
            classify: smtpErrorClassifier({ store: 'SMTP', address: smtp.address, setting: 'SPOKEFLOW_SMTP_URL' }),
          },
        ]
      : []),
  ]);
}

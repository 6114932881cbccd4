import { InfluxDB } from '@influxdata/influxdb-client';
import { Client as MinioClient } from 'minio';
import mysql from 'mysql2/promise';
import pg from 'pg';
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

/** The store clients activities are built from; one set per process. */
export function createClients(config: SpokeflowConfig) {
  const catalog = mysql.createPool({
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
  catalog.pool.on('connection', (conn) => {
    conn.query("SET SESSION time_zone = '+00:00'");
  });
  const minio = new MinioClient({
    endPoint: config.minio.endPoint,
    port: config.minio.port,
    useSSL: config.minio.useSSL,
    accessKey: config.minio.accessKey,
    secretKey: config.minio.secretKey,
  });
  const influx = new InfluxDB({ url: config.influx.url, token: config.influx.token });
  const influxAdmin = createInfluxAdmin(config.influx);
  // The vector index (pgvector); a pool connects on first use, so processes that never touch it pay nothing.
  const p = config.postgres;
  const postgres = new pg.Pool({ host: p.host, port: p.port, user: p.user, password: p.password, database: p.database, max: 8 });
  postgres.on('error', () => undefined); // an idle client's lost connection is replaced on next use
  return {
    catalog,
    minio,
    influx,
    influxAdmin,
    postgres,
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

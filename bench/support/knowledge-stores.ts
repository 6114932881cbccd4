import mysql from 'mysql2/promise';
import type { MigrationContext } from '../../infra/migrations/index.js';
import { up as catalogSchema } from '../../infra/migrations/0001-catalog.js';
import { up as vectorSchema } from '../../infra/migrations/0007-vector-index.js';
import { up as refreshPagesSchema } from '../../infra/migrations/0012-vector-refresh-pages.js';
import { createClients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';

/**
 * A catalog database and a vector schema of the bench's own, made empty each run, with the
 * migrations an embedding refresh needs (and any `extra` ones): the refresh covers a whole
 * catalog, so a bench cannot share the platform's.
 */
export async function freshKnowledgeStores(database: string, schema: string, extra: ((ctx: MigrationContext) => Promise<void>)[] = []) {
  const base = loadConfig();
  const config = { ...base, mysql: { ...base.mysql, database }, vectors: { schema } };
  const admin = await mysql.createConnection({
    host: base.mysql.host,
    port: base.mysql.port,
    user: base.mysql.user,
    password: base.mysql.password,
  });
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const clients = createClients(config);
  await clients.postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  const ctx: MigrationContext = {
    mysql: clients.catalog,
    minio: clients.minio,
    influxAdmin: clients.influxAdmin,
    postgres: clients.postgres,
    config,
  };
  for (const up of [catalogSchema, ...extra, vectorSchema, refreshPagesSchema]) await up(ctx);
  return { config, clients };
}

import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { MigrationContext } from '../../infra/migrations/index.js';
import { up as catalogSchema } from '../../infra/migrations/0001-catalog.js';
import { up as vectorSchema } from '../../infra/migrations/0007-vector-index.js';
import { up as refreshPagesSchema } from '../../infra/migrations/0012-vector-refresh-pages.js';
import { openHarness, type Harness, type HarnessOptions } from './harness.js';

type Migration = (ctx: MigrationContext) => Promise<void>;

/**
 * A catalog database and a vector schema of one test file's own: an embedding refresh covers a
 * whole catalog, so it cannot share the one other files write to. `open` makes them and a
 * knowledge harness on them; `close` drops them and closes the harness.
 */
export function knowledgeCatalog(tag = randomUUID().slice(0, 8)) {
  const database = `spokeflow_test_knowledge_${tag}`;
  const schema = `test_knowledge_${tag}`;
  return {
    tag,
    database,
    schema,
    /** `extra` migrations run after the catalog's, before the vector index's. */
    async open(options: Omit<HarnessOptions, 'domain'> & { extra?: Migration[] } = {}): Promise<Harness> {
      const { extra = [], ...harnessOptions } = options;
      // The harness's config reads these, as a worker process started with the same env does.
      process.env.MYSQL_DATABASE = database;
      process.env.SPOKEFLOW_VECTOR_SCHEMA = schema;
      const admin = await mysql.createConnection({
        host: '127.0.0.1',
        port: Number(process.env.MYSQL_PORT ?? 3306),
        user: process.env.MYSQL_USER ?? 'spokeflow',
        password: process.env.MYSQL_PASSWORD ?? 'spokeflow',
      });
      await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await admin.end();
      const h = await openHarness({ ...harnessOptions, domain: 'knowledge' });
      const ctx: MigrationContext = {
        mysql: h.clients.catalog,
        minio: h.clients.minio,
        influxAdmin: h.clients.influxAdmin,
        postgres: h.clients.postgres,
        config: h.config,
      };
      for (const up of [catalogSchema, ...extra, vectorSchema, refreshPagesSchema]) await up(ctx);
      return h;
    },
    async close(h: Harness): Promise<void> {
      await h.cleanup(); // while its catalog database is still there
      await h.clients.postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await h.clients.catalog.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await h.close();
    },
  };
}

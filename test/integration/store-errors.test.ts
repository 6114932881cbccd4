import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetCatalog } from '../../activities/catalog/datasets.js';
import { createBronzeStore } from '../../activities/objects/bronze.js';
import { createSourceConnections, type SourceConnection } from '../../activities/sources/index.js';
import { relationSql } from '../../activities/sources/keyset.js';
import { withErrorClassification } from '../../activities/store-errors.js';
import type { SourceDeclaration } from '../../common/dataset.js';
import { createClients, storeErrorClassifier } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';

const config = loadConfig();
const pg = config.postgres;
const my = config.mysql;
const enc = encodeURIComponent;
const WRONG_PASSWORD = 'not-the-password-7f3a';

/** Source URLs by connection name, as the worker's environment would hold them. */
const urls: Record<string, string> = {
  'pg-wrong-password': `postgres://${enc(pg.user)}:${WRONG_PASSWORD}@${pg.host}:${pg.port}/${enc(pg.database)}`,
  'pg-unknown-db': `postgres://${enc(pg.user)}:${enc(pg.password)}@${pg.host}:${pg.port}/no_such_db_here`,
  'pg-stopped': `postgres://${enc(pg.user)}:${enc(pg.password)}@127.0.0.1:1/${enc(pg.database)}`,
  'pg-unknown-host': `postgres://${enc(pg.user)}:${enc(pg.password)}@no-such-host.invalid:5432/${enc(pg.database)}`,
  'pg-malformed': 'postgres//spokeflow@:5432',
  'local-postgres': `postgres://${enc(pg.user)}:${enc(pg.password)}@${pg.host}:${pg.port}/${enc(pg.database)}`,
  'my-wrong-password': `mysql://${enc(my.user)}:${WRONG_PASSWORD}@${my.host}:${my.port}/${enc(my.database)}`,
  'my-unknown-db': `mysql://${enc(my.user)}:${enc(my.password)}@${my.host}:${my.port}/no_such_db_here`,
  'my-stopped': `mysql://${enc(my.user)}:${enc(my.password)}@127.0.0.1:1/${enc(my.database)}`,
  'local-mysql': `mysql://${enc(my.user)}:${enc(my.password)}@${my.host}:${my.port}/${enc(my.database)}`,
};

/** What an operation failed with: the classified failure, or the raw error left to retry. */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

async function classified(run: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await errorOf(run);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
  expect((err as ApplicationFailure).message).not.toContain(WRONG_PASSWORD);
  return err as ApplicationFailure;
}

describe('store errors against the real servers', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const sources = createSourceConnections((_kind, name) => urls[name]);
  const source = (kind: SourceDeclaration['kind'], connection: string, table = 'public.x'): SourceConnection =>
    sources.get({ kind, connection, table });
  const describeQuery = (kind: SourceDeclaration['kind'], connection: string, query: string) => {
    const s = sources.get({ kind, connection, query, primaryKey: ['id'] });
    return s.describe(relationSql(s.dialect, { query }));
  };
  const admin = mysql.createPool({ host: my.host, port: my.port, user: my.user, password: my.password, connectionLimit: 1 });

  afterAll(async () => {
    await sources.closeAll();
    await admin.query(`DROP USER IF EXISTS 'reader_${tag}'@'%'`);
    await admin.end();
  });

  it('fails a wrong password at once, naming the store, address and variable, never the password', async () => {
    const p = await classified(() => source('postgres', 'pg-wrong-password').describe('(SELECT 1 AS id)'));
    expect(p.type).toBe('AuthenticationFailed');
    expect(p.message).toContain(`Postgres source "pg-wrong-password" at ${pg.host}:${pg.port}/${pg.database}`);
    expect(p.message).toContain('check the user and password in SPOKEFLOW_SOURCE_PG_WRONG_PASSWORD_URL');

    const m = await classified(() => source('mysql', 'my-wrong-password').describe('(SELECT 1 AS id)'));
    expect(m.type).toBe('AuthenticationFailed');
    expect(m.message).toContain(`MySQL source "my-wrong-password" at ${my.host}:${my.port}/${my.database}`);
    expect(m.message).toContain('SPOKEFLOW_SOURCE_MY_WRONG_PASSWORD_URL');
  });

  it('fails an unknown database, an unknown host and a malformed URL at once', async () => {
    expect((await classified(() => source('postgres', 'pg-unknown-db').describe('(SELECT 1 AS id)'))).type).toBe('UnknownDatabase');
    expect((await classified(() => source('mysql', 'my-unknown-db').describe('(SELECT 1 AS id)'))).type).toBe('UnknownDatabase');
    const host = await classified(() => source('postgres', 'pg-unknown-host').describe('(SELECT 1 AS id)'));
    expect(host.type).toBe('UnknownHost');
    expect(host.message).toContain('no-such-host.invalid');
    const url = await classified(async () => source('postgres', 'pg-malformed'));
    expect(url.type).toBe('MalformedUrl');
    expect(url.message).toContain('SPOKEFLOW_SOURCE_PG_MALFORMED_URL');
  });

  it('leaves a stopped server (connection refused) to be retried', async () => {
    for (const [kind, connection] of [
      ['postgres', 'pg-stopped'],
      ['mysql', 'my-stopped'],
    ] as const) {
      const err = await errorOf(() => source(kind, connection).describe('(SELECT 1 AS id)'));
      expect(err).not.toBeInstanceOf(ApplicationFailure);
      expect(JSON.stringify(err) + String(err)).toMatch(/ECONNREFUSED/);
    }
  });

  it('fails a declared query that writes on the read-only source connection, and a write by a SELECT-only user', async () => {
    const pgAdmin = createClients(config).postgres;
    try {
      await pgAdmin.query(`CREATE SEQUENCE public.seq_${tag}`);
      // A describe reads no row (LIMIT 0), so the write is run as the page read would run it.
      const p = await classified(() => source('postgres', 'local-postgres').queryRows(`SELECT nextval('public.seq_${tag}') AS id`, []));
      expect(p.type).toBe('ReadOnly');
      expect(p.message).toContain('a declared query may only read');
    } finally {
      await pgAdmin.query(`DROP SEQUENCE IF EXISTS public.seq_${tag}`);
      await pgAdmin.end();
    }
    await admin.query(`CREATE DATABASE \`ro_${tag}\``);
    try {
      await admin.query(`CREATE TABLE \`ro_${tag}\`.t (id INT PRIMARY KEY)`);
      const write = await classified(() => source('mysql', 'local-mysql').queryRows(`INSERT INTO \`ro_${tag}\`.t VALUES (1)`, []));
      expect(write.type).toBe('ReadOnly');

      await admin.query(`CREATE USER 'reader_${tag}'@'%' IDENTIFIED BY 'reader-pw'`);
      await admin.query(`GRANT SELECT ON \`ro_${tag}\`.* TO 'reader_${tag}'@'%'`);
      urls['my-reader'] = `mysql://reader_${tag}:reader-pw@${my.host}:${my.port}/ro_${tag}`;
      const denied = await classified(() => source('mysql', 'my-reader').queryRows(`INSERT INTO \`ro_${tag}\`.t VALUES (1)`, []));
      expect(['PermissionDenied', 'ReadOnly']).toContain(denied.type);
      const other = await classified(() => source('mysql', 'my-reader').describe('`mysql`.`user`'));
      expect(other.type).toBe('PermissionDenied');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`ro_${tag}\``);
    }
  });

  it('fails a declared query naming a missing table or column, or with a syntax error, on both sources', async () => {
    for (const [kind, connection] of [
      ['postgres', 'local-postgres'],
      ['mysql', 'local-mysql'],
    ] as const) {
      const table = await classified(() => describeQuery(kind, connection, `SELECT id FROM no_such_table_${tag}`));
      expect(table.type).toBe('MissingTable');
      expect(table.message).toContain(`no_such_table_${tag}`);
      const column = await classified(() =>
        describeQuery(kind, connection, `SELECT no_such_column_${tag} AS id FROM (SELECT 1 AS id) AS t`),
      );
      expect(column.type).toBe('MissingColumn');
      const syntax = await classified(() => describeQuery(kind, connection, 'SELECT id FROM WHERE'));
      expect(syntax.type).toBe('QuerySyntax');
      expect(syntax.message).toContain('fix the declared query');
    }
  });

  // The local InfluxDB runs without auth, so its wrong token is covered by the unit table only.
  it("fails the shared clients' wrong credentials at once: catalog MySQL and MinIO", async () => {
    const wrong = loadConfig({
      ...process.env,
      MYSQL_PASSWORD: WRONG_PASSWORD,
      MINIO_SECRET_KEY: WRONG_PASSWORD,
    });
    const clients = createClients(wrong);
    const classify = storeErrorClassifier(wrong);
    try {
      const catalog = withErrorClassification(createDatasetCatalog(clients.catalog), classify);
      const c = await classified(() => catalog.get('shop.orders'));
      expect(c.type).toBe('AuthenticationFailed');
      expect(c.message).toContain(`MySQL catalog at ${my.host}:${my.port}/${my.database}`);
      expect(c.message).toContain('MYSQL_*');

      const bronze = withErrorClassification(createBronzeStore(clients.minio, wrong.minio.bronzeBucket), classify);
      const b = await classified(() => bronze.put(`errors-test/${tag}.txt`, Buffer.from('x'), 'text/plain'));
      expect(b.type).toBe('AuthenticationFailed');
      expect(b.message).toContain('MINIO_SECRET_KEY');
    } finally {
      await clients.close();
    }
  });
});

/** The failure a workflow ended with, the attempts its planning took, and the run it left on record. */
async function failedRun(h: Harness, input: Record<string, unknown>) {
  const workflowId = `test-sync-errors-${randomUUID().slice(0, 8)}`;
  const handle = await h.client.workflow.start('syncWorkflow', { taskQueue: h.taskQueue, workflowId, args: [input] });
  const err = await errorOf(() => handle.result());
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  const events = (await handle.fetchHistory()).events ?? [];
  const planning = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planSync').map((e) => Number(e.eventId)),
  );
  const attempts = events
    .filter((e) => planning.has(Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt);
  const [runs] = await h.clients.catalog.query<RowDataPacket[]>('SELECT * FROM sync_runs WHERE sync_run_id = ?', [
    handle.firstExecutionRunId,
  ]);
  return { cause, attempts, run: runs[0], startedAt: (await handle.describe()).startTime };
}

describe('a sync whose source is misconfigured or keyless fails at once, naming the cause', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  let h: Harness;

  beforeAll(async () => {
    process.env.SPOKEFLOW_SOURCE_E2E_WRONG_PASSWORD_URL = urls['pg-wrong-password'];
    h = await openHarness();
    await h.postgres.query(`CREATE TABLE public.keyless_${tag} (id int, label text)`);
    await h.postgres.query(`CREATE TABLE public.unique_${tag} (code text NOT NULL, other int UNIQUE, label text)`);
    await h.postgres.query(`CREATE UNIQUE INDEX unique_${tag}_code ON public.unique_${tag} (code)`);
    await h.postgres.query(`INSERT INTO public.unique_${tag} VALUES ('a', NULL, 'first'), ('b', NULL, 'second')`);
    await h.warehouse.query(`CREATE DATABASE \`keys_${tag}\``);
    await h.warehouse.query(`CREATE TABLE \`keys_${tag}\`.keyless (id INT, label TEXT, updated_at DATETIME NOT NULL)`);
    await h.warehouse.query(`CREATE TABLE \`keys_${tag}\`.uniq (code VARCHAR(20) NOT NULL, label TEXT, UNIQUE KEY by_code (code))`);
    await h.warehouse.query(`INSERT INTO \`keys_${tag}\`.uniq VALUES ('x', 'one'), ('y', 'two'), ('z', 'three')`);
  });

  afterAll(async () => {
    delete process.env.SPOKEFLOW_SOURCE_E2E_WRONG_PASSWORD_URL;
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.keyless_${tag}, public.unique_${tag}`);
    await h.warehouse.query(`DROP DATABASE IF EXISTS \`keys_${tag}\``);
    for (const t of ['pg_unique', 'my_unique']) await h.warehouse.query(`DROP TABLE IF EXISTS \`${t}_${tag}\``);
    await h.close();
  });

  const declare = (name: string, source: Record<string, unknown>, target: string) =>
    h.datasets.upsert({ name, source: source as SourceDeclaration, target: { table: target }, owner: 'ops@example.com', team: 'platform' });

  it('fails a wrong source password on its first attempt', async () => {
    await declare(
      `errors_${tag}.wrong_password`,
      { kind: 'postgres', connection: 'e2e-wrong-password', table: 'public.anything', primaryKey: ['id'] },
      `wp_${tag}`,
    );
    const dataset = `errors_${tag}.wrong_password`;
    const { cause, attempts, run, startedAt } = await failedRun(h, { dataset, mode: 'full' });
    expect(cause).toMatchObject({ type: 'AuthenticationFailed', nonRetryable: true });
    expect(cause.message).toMatch(/^AuthenticationFailed: /);
    expect(cause.message).toContain('SPOKEFLOW_SOURCE_E2E_WRONG_PASSWORD_URL');
    expect(cause.message).not.toContain(WRONG_PASSWORD);
    expect(attempts).toEqual([1]);

    // Failed while planning, and on record all the same: the run with its error, and a metrics point.
    expect(run).toMatchObject({ dataset, mode: 'full', status: 'failed', error: cause.message });
    const points = await h.clients.influx
      .getQueryApi(h.config.influx.org)
      .collectRows<{ _field: string; _value: number; status: string; team: string }>(
        `from(bucket: "${h.config.influx.bucket}") |> range(start: ${new Date(startedAt.getTime() - 60_000).toISOString()})
         |> filter(fn: (r) => r._measurement == "sync_run" and r.dataset == "${dataset}" and r._field == "rows")`,
      );
    expect(points.map((p) => [p.status, p.team, p._value])).toEqual([['failed', 'platform', 0]]);
  });

  it('records a sync of a dataset the catalog does not hold under the name it was asked for', async () => {
    const dataset = `errors_${tag}.never_declared`;
    const { cause, attempts, run } = await failedRun(h, { dataset });
    expect(cause).toMatchObject({ type: 'UnknownDataset', nonRetryable: true });
    expect(attempts).toEqual([1]);
    expect(run).toMatchObject({ dataset, mode: 'incremental', status: 'failed', error: cause.message });
    await h.clients.catalog.query('DELETE FROM sync_runs WHERE dataset = ?', [dataset]);
  });

  it('fails a declared query with a syntax error on its first attempt', async () => {
    await declare(
      `errors_${tag}.bad_query`,
      { kind: 'mysql', connection: 'local-mysql', query: 'SELECT id FROM WHERE', primaryKey: ['id'] },
      `bq_${tag}`,
    );
    const { cause, attempts } = await failedRun(h, { dataset: `errors_${tag}.bad_query`, mode: 'full' });
    expect(cause).toMatchObject({ type: 'QuerySyntax', nonRetryable: true });
    expect(attempts).toEqual([1]);
  });

  it('refuses a table without a primary key or unique NOT NULL index, on Postgres and MySQL, saying to declare one', async () => {
    await declare(
      `errors_${tag}.pg_keyless`,
      { kind: 'postgres', connection: 'local-postgres', table: `public.keyless_${tag}` },
      `pk_${tag}`,
    );
    const pgRun = await failedRun(h, { dataset: `errors_${tag}.pg_keyless`, mode: 'full' });
    expect(pgRun.cause).toMatchObject({ type: 'MissingRowKey', nonRetryable: true });
    expect(pgRun.cause.message).toContain('declare source.primaryKey');
    expect(pgRun.attempts).toEqual([1]);

    await declare(
      `errors_${tag}.my_keyless`,
      { kind: 'mysql', connection: 'local-mysql', table: `keys_${tag}.keyless`, cursor: 'updated_at' },
      `mk_${tag}`,
    );
    const myRun = await failedRun(h, { dataset: `errors_${tag}.my_keyless` });
    expect(myRun.cause).toMatchObject({ type: 'MissingRowKey', nonRetryable: true });
    expect(myRun.attempts).toEqual([1]);
  });

  it('syncs a table without a primary key by its unique index of NOT NULL columns', async () => {
    await declare(
      `errors_${tag}.pg_unique`,
      { kind: 'postgres', connection: 'local-postgres', table: `public.unique_${tag}` },
      `pg_unique_${tag}`,
    );
    const pgResult = await h.sync({ dataset: `errors_${tag}.pg_unique`, mode: 'full' });
    expect(pgResult.rows).toBe(2);
    await declare(`errors_${tag}.my_unique`, { kind: 'mysql', connection: 'local-mysql', table: `keys_${tag}.uniq` }, `my_unique_${tag}`);
    const myResult = await h.sync({ dataset: `errors_${tag}.my_unique`, mode: 'full' });
    expect(myResult.rows).toBe(3);
    // The silver table is keyed by the index's column (the nullable unique one was passed over).
    const [keys] = await h.warehouse.query(`SHOW KEYS FROM \`pg_unique_${tag}\` WHERE Key_name = 'PRIMARY'`);
    expect((keys as { Column_name: string }[]).map((k) => k.Column_name)).toEqual(['code']);
  });
});

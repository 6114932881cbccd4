import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBronzeStore } from '../../activities/objects/bronze.js';
import { mysqlDigest, openHarness, postgresDigest, type Harness } from '../support/harness.js';
import { sharedDataPath } from '../support/shared-data.js';

// Every table of Chinook with its primary key: a real schema nobody here wrote.
const TABLES: Record<string, string[]> = {
  artist: ['artist_id'],
  album: ['album_id'],
  genre: ['genre_id'],
  media_type: ['media_type_id'],
  track: ['track_id'],
  employee: ['employee_id'],
  customer: ['customer_id'],
  invoice: ['invoice_id'],
  invoice_line: ['invoice_line_id'],
  playlist: ['playlist_id'],
  playlist_track: ['playlist_id', 'track_id'],
};

describe('sync of the Chinook database from Postgres into MySQL', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const schema = `chinook_${tag}`;
  const dataset = (table: string) => `chinook_${tag}.${table}`;
  const target = (table: string) => `chinook_${tag}_${table}`;
  let h: Harness;

  async function columnsOf(table: string): Promise<string[]> {
    const r = await h.postgres.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, table],
    );
    return r.rows.map((c) => c.column_name);
  }

  async function expectSameContent(table: string): Promise<number> {
    const columns = await columnsOf(table);
    const source = await postgresDigest(h.postgres, `"${schema}"."${table}"`, columns, TABLES[table]!);
    const silver = await mysqlDigest(h.warehouse, `\`${target(table)}\``, columns, TABLES[table]!);
    expect(silver, `silver ${table} matches the source`).toEqual(source);
    return source.rows;
  }

  async function declare(table: string, cursor?: string) {
    await h.datasets.upsert({
      name: dataset(table),
      source: {
        kind: 'postgres',
        connection: 'local-postgres',
        table: `${schema}.${table}`,
        primaryKey: TABLES[table],
        ...(cursor ? { cursor } : {}),
      },
      target: { table: target(table) },
      owner: 'music-team@example.com',
      team: 'music',
      description: `Chinook ${table}`,
      tags: ['chinook', 'test'],
    });
  }

  beforeAll(async () => {
    h = await openHarness();
    const script = readFileSync(sharedDataPath('data/chinook/Chinook_PostgreSql.sql'), 'utf8');
    const body = script.slice(script.indexOf('CREATE TABLE album'));
    await h.postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"; ${body}`);
    for (const table of Object.keys(TABLES)) await declare(table);
  });

  afterAll(async () => {
    if (!h) return;
    await h.postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const table of Object.keys(TABLES)) await h.warehouse.query(`DROP TABLE IF EXISTS \`${target(table)}\``);
    await h.close();
  });

  it('copies every table with the same rows, values and types', async () => {
    let total = 0;
    for (const table of Object.keys(TABLES)) {
      const result = await h.sync({ dataset: dataset(table), mode: 'full' });
      const rows = await expectSameContent(table);
      expect(result.rows).toBe(rows);
      expect(result.quarantined).toBe(0);
      total += rows;
    }
    expect(total).toBeGreaterThan(15_000);

    const [types] = await h.warehouse.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?, ?) ORDER BY t, c`,
      [target('invoice'), target('track'), target('employee')],
    );
    const typeOf = (t: string, c: string) => types.find((r) => r.t === target(t) && r.c === c)?.type;
    expect(typeOf('invoice', 'total')).toBe('decimal(10,2)');
    expect(typeOf('invoice', 'invoice_date')).toBe('datetime(6)');
    expect(typeOf('track', 'name')).toBe('varchar(200)');
    expect(['int', 'int(11)']).toContain(typeOf('track', 'milliseconds')); // MySQL 8 drops the display width
    expect(typeOf('employee', 'birth_date')).toBe('datetime(6)');
  });

  it('keeps non-ASCII text intact', async () => {
    const [rows] = await h.warehouse.query<RowDataPacket[]>(`SELECT name FROM \`${target('artist')}\` WHERE artist_id = 4`);
    const source = await h.postgres.query(`SELECT name FROM "${schema}".artist WHERE artist_id = 4`);
    expect(rows[0]?.name).toBe(source.rows[0].name);
    const [accented] = await h.warehouse.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${target('customer')}\` WHERE first_name LIKE '%ã%' OR first_name LIKE '%é%' OR last_name LIKE '%ø%'`,
    );
    expect(Number(accented[0]?.n)).toBeGreaterThan(0);
  });

  it('adds a new source column to silver and then moves only changed rows', async () => {
    // The source grows a cursor column: silver gains it, and invoices sync incrementally from now on.
    await h.postgres.query(`ALTER TABLE "${schema}".invoice ADD COLUMN updated_at timestamptz NOT NULL DEFAULT '2020-01-01 00:00:00+00'`);
    await declare('invoice', 'updated_at');
    const first = await h.sync({ dataset: dataset('invoice') });
    expect(first.rows).toBe(412);
    await expectSameContent('invoice');

    await h.postgres.query(
      `UPDATE "${schema}".invoice SET total = total + 1, billing_city = 'Łódź 🚲', updated_at = now() WHERE invoice_id IN (1, 200, 412)`,
    );
    await h.postgres.query(
      `INSERT INTO "${schema}".invoice (invoice_id, customer_id, invoice_date, billing_city, total, updated_at)
       VALUES (413, 1, '2026-11-01 10:00:00', 'São Paulo', 12.34, now()), (414, 2, '2026-11-02 11:30:00.123456', '東京', 0.99, now())`,
    );
    const second = await h.sync({ dataset: dataset('invoice') });
    expect(second.rows).toBe(5);
    expect(await expectSameContent('invoice')).toBe(414);

    const third = await h.sync({ dataset: dataset('invoice') });
    expect(third.rows).toBe(0);
  });

  it('records the run, its manifest and bronze objects that hold the rows', async () => {
    const result = await h.sync({ dataset: dataset('track'), mode: 'full', pageRows: 1000 });
    expect(result.objects).toBe(4); // 3,503 tracks in pages of 1,000
    const run = await h.clients.catalog.query<RowDataPacket[]>('SELECT * FROM sync_runs WHERE sync_run_id = ?', [result.syncRunId]);
    expect(run[0][0]?.status).toBe('succeeded');
    expect(Number(run[0][0]?.rows_copied)).toBe(3503);
    const bronze = createBronzeStore(h.clients.minio, h.config.minio.bronzeBucket);
    const manifest = JSON.parse((await bronze.get(result.manifestKey)).toString('utf8')) as {
      objects: { objectKey: string; rows: number; sha256: string }[];
    };
    expect(manifest.objects.map((o) => o.rows)).toEqual([1000, 1000, 1000, 503]);

    const first = manifest.objects[0]!;
    const file = await bronze.get(first.objectKey);
    expect(createHash('sha256').update(file).digest('hex')).toBe(first.sha256);
    const rows = await parquetReadObjects({ file: new Uint8Array(file).buffer });
    expect(rows).toHaveLength(1000);
    expect(rows[0]).toMatchObject({ track_id: 1, name: 'For Those About To Rock (We Salute You)', unit_price: '0.99' });
  });
});

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { CheckDeclaration } from '../../common/checks.js';
import { sharedDataPath } from './shared-data.js';

/** The Chinook tables the checks tests sync, with their primary keys. */
export const CHINOOK_KEYS: Record<string, string[]> = {
  customer: ['customer_id'],
  invoice: ['invoice_id'],
  invoice_line: ['invoice_line_id'],
  employee: ['employee_id'],
};

export type Check = Record<string, unknown> & { id: string; kind: CheckDeclaration['kind'] };

/**
 * One file's copy of Chinook (../shared/data/chinook) in a Postgres schema of its own, with its
 * foreign keys dropped so a test can plant the violations a careless upstream would. Dataset
 * names are `chinook_<tag>.<table>`, silver tables `chinook_<tag>_<table>`.
 */
export function chinookFixture(tag: string, team: string) {
  const schema = `chinook_${tag}`;
  const dataset = (table: string) => `${schema}.${table}`;
  const target = (table: string) => `${schema}_${table}`;
  return {
    schema,
    dataset,
    target,
    /** Creates the schema from the shared script, without its foreign keys. */
    async load(postgres: pg.Pool): Promise<void> {
      const script = readFileSync(sharedDataPath('data/chinook/Chinook_PostgreSql.sql'), 'utf8');
      const body = script.slice(script.indexOf('CREATE TABLE album'));
      await postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"; ${body}`);
      await postgres.query(`
        DO $$ DECLARE c record; BEGIN
          FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_constraint WHERE contype = 'f' AND connamespace = '"${schema}"'::regnamespace LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
          END LOOP;
        END $$;`);
    },
    /** The dataset declaration of a table, owned by the file's team, with these checks. */
    declaration(table: string, checks: Check[]) {
      return {
        name: dataset(table),
        source: { kind: 'postgres', connection: 'local-postgres', table: `${schema}.${table}`, primaryKey: CHINOOK_KEYS[table] },
        target: { table: target(table) },
        owner: 'music-team@example.com',
        team,
        checks,
      };
    },
    /** Drops the source schema and the silver tables of these tables. */
    async drop(postgres: pg.Pool, warehouse: { query(sql: string): Promise<unknown> }, tables: string[]): Promise<void> {
      await postgres.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      for (const table of tables) await warehouse.query(`DROP TABLE IF EXISTS \`${target(table)}\``);
    },
  };
}

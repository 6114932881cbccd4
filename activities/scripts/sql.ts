import mysql from 'mysql2/promise';
import pg from 'pg';
import { sqlBindings } from '../../common/openflow/rawscript.js';
import { ScriptError } from './languages.js';

/** A SQL script's statement(s) against one connection, its rows as JSON objects (Windmill's result shape). */
export interface SqlRun {
  language: 'postgresql' | 'mysql';
  url: string;
  content: string;
  args: Record<string, unknown>;
  timeoutMs: number;
}

export interface SqlOutcome {
  result: unknown;
  /** What the log object says of the run: the bindings' count and each result's size. */
  log: string;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Plain JSON of a row or a write's summary (mysql2's ResultSetHeader is a class instance). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as unknown;
}

async function runPostgres(run: SqlRun, values: unknown[]): Promise<{ result: unknown; sizes: number[] }> {
  // The statement's time limit on the server and the client both: a stuck query cannot hold the step.
  const client = new pg.Client({ connectionString: run.url, statement_timeout: run.timeoutMs, query_timeout: run.timeoutMs + 1000 });
  await client.connect().catch((err: unknown) => {
    throw new Error(`cannot connect: ${message(err)}`);
  });
  try {
    const out = (await client.query({ text: run.content, values }).catch((err: unknown) => {
      throw new ScriptError(`postgresql: ${message(err)}`);
    })) as pg.QueryResult | pg.QueryResult[];
    // Several statements (no bindings) give one result each, as Windmill returns a list per statement.
    if (Array.isArray(out)) return { result: out.map((r) => plain(r.rows)), sizes: out.map((r) => r.rowCount ?? 0) };
    return { result: plain(out.rows), sizes: [out.rowCount ?? 0] };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runMysql(run: SqlRun, values: unknown[]): Promise<{ result: unknown; sizes: number[] }> {
  const connection = await mysql.createConnection({ uri: run.url, connectTimeout: 10_000, dateStrings: true }).catch((err: unknown) => {
    throw new Error(`cannot connect: ${message(err)}`);
  });
  try {
    const [rows] = await connection.query({ sql: run.content, values, timeout: run.timeoutMs }).catch((err: unknown) => {
      throw new ScriptError(`mysql: ${message(err)}`);
    });
    const result = plain(rows);
    return { result, sizes: [Array.isArray(result) ? result.length : 1] };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/**
 * Runs the script in the worker against the named connection: the connection's secret stays in
 * the worker, never in a child's environment. A SQL error is the script's error; a connection
 * failure is the store's (retryable per the step's `retry`, like any other).
 */
export async function runSqlScript(run: SqlRun): Promise<SqlOutcome> {
  const values = sqlBindings(run.language, run.content, run.args);
  const started = Date.now();
  const { result, sizes } = run.language === 'postgresql' ? await runPostgres(run, values) : await runMysql(run, values);
  const log = `${run.language}: ${values.length} binding(s); ${sizes.map((n) => `${n} row(s)`).join(', ')} in ${Date.now() - started} ms\n`;
  return { result, log };
}

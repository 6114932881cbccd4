import mysql from 'mysql2/promise';
import { loadConfig } from '../../runtime/config.js';

// What integration tests leave in the stack's catalog: datasets, sync runs and silver tables named
// with a test tag (`t` and 8 hex digits). Run before and after a test file: the counts must match.
// `npx tsx test/support/count-test-datasets.ts`
const config = loadConfig();
const pool = mysql.createPool({
  host: config.mysql.host,
  port: config.mysql.port,
  user: config.mysql.user,
  password: config.mysql.password,
  database: config.mysql.database,
});
const TAGGED = "REGEXP '(^|[._])t[0-9a-f]{8}([._]|$)'";
const count = async (sql: string, args: unknown[] = []) => Number(((await pool.query(sql, args))[0] as { n: number }[])[0]?.n ?? 0);
try {
  console.log(
    JSON.stringify({
      datasets: await count('SELECT COUNT(*) AS n FROM datasets'),
      taggedDatasets: await count(`SELECT COUNT(*) AS n FROM datasets WHERE name ${TAGGED}`),
      taggedSyncRuns: await count(`SELECT COUNT(*) AS n FROM sync_runs WHERE dataset ${TAGGED}`),
      silverTables: await count('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?', [
        config.mysql.silverDatabase,
      ]),
    }),
  );
} finally {
  await pool.end();
}

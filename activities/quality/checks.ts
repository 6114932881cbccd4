import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import {
  columnsNamed,
  withinThreshold,
  type CheckDeclaration,
  type CheckOf,
  type DatasetChecksSummary,
  type QualityChecksInput,
} from '../../common/checks.js';
import type { SourceColumn } from '../../common/column-types.js';
import { ErrorType } from '../../common/errors.js';
import { checkSampleKey } from '../../common/keys.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { heartbeat } from '../activity-context.js';
import { countMetric } from '../activity-metrics.js';
import { createCheckResultStore, type StoredCheckResult } from '../catalog/check-results.js';
import { createDatasetCatalog } from '../catalog/datasets.js';
import { LOADED_AT_COLUMN, RUN_COLUMN } from '../catalog/silver.js';
import { createSilverChecks, isStatementTimeout, type SilverValue } from '../catalog/silver-checks.js';
import type { CheckMetrics } from '../metrics/check-metrics.js';
import type { CheckSamples } from '../objects/check-samples.js';
import { mysqlErrorClassifier, type StoreSite } from '../store-errors.js';
import {
  compileChecks,
  failingPredicate,
  freshnessFailing,
  quoteIdentifier,
  quoteTable,
  rowCountFailing,
  ROWS_ALIAS,
  schemaProblems,
  type CompiledQuery,
  type SilverTableRef,
} from './checks-sql.js';

export interface ChecksDeps {
  /** MySQL catalog database (datasets, check_results); silver is reached through it, database-qualified. */
  catalog: Pool;
  silverDatabase: string;
  /** Where silver is, for the errors a check reports ("MySQL silver at host:port/db: no such column …"). */
  silverSite: StoreSite;
  samples: CheckSamples;
  metrics: CheckMetrics;
  /** How long one statement of an owner's `sql` check may run. */
  ownerSqlTimeoutSeconds?: number;
}

export interface DatasetChecksArgs {
  runId: string;
  dataset: string;
  /** Check ids to run; all of the dataset's when left out. */
  checks?: string[];
  /** The run's start: every InfluxDB point of the run is stamped with it, so a retry overwrites them. */
  startedAtMs: number;
}

const BOOKKEEPING = [RUN_COLUMN, LOADED_AT_COLUMN];
// Beside the shared scan: a dataset's checks hold at most this many more pool connections.
const SEPARATE_AT_ONCE = 3;
// Lock waits, deadlocks, too many connections: a retry of the activity may get through.
const TRANSIENT_ERRNOS = new Set([1040, 1203, 1205, 1213]);

/** What one check came to before it is stored: everything but the run's identity. */
type Outcome = Omit<StoredCheckResult, 'runId' | 'dataset' | 'team' | 'checkId' | 'kind' | 'severity' | 'blocking' | 'sampleKey'>;

/**
 * Runs a dataset's checks against its silver table: one combined scan for the row-level rules,
 * a query each for unique, relationship and an owner's sql (read-only, under a statement
 * timeout), metadata for schema. Each result goes to check_results (history per run), failing
 * rows of a failed check to MinIO as Parquet, a point per check to InfluxDB. Only counts and ids
 * come back.
 */
export function createChecksActivities(deps: ChecksDeps) {
  const datasets = createDatasetCatalog(deps.catalog);
  const results = createCheckResultStore(deps.catalog);
  const silver = createSilverChecks(deps.catalog);
  const timeoutSeconds = deps.ownerSqlTimeoutSeconds ?? 60;
  const classify = mysqlErrorClassifier(deps.silverSite);

  /**
   * A check's query failing because of the query or the table (a missing column, a timeout, a
   * refused write) is that check's error; a lost connection or a deadlock fails the activity, to be retried.
   */
  function checkError(err: unknown): string {
    if (isStatementTimeout(err)) return `the query ran longer than the statement timeout of ${timeoutSeconds} s`;
    const permanent = classify(err);
    if (permanent) return permanent.message;
    const e = err as { sqlState?: unknown; fatal?: unknown; errno?: unknown; message?: unknown };
    if (typeof e.sqlState === 'string' && e.fatal !== true && !TRANSIENT_ERRNOS.has(Number(e.errno))) {
      return `${deps.silverSite.store}: ${String(e.message)}`;
    }
    if (err instanceof Error && !('sqlState' in err) && !('code' in err)) return err.message; // the compiler's refusal
    throw err;
  }

  async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number } | { error: string; ms: number }> {
    const t0 = performance.now();
    try {
      return { value: await work(), ms: performance.now() - t0 };
    } catch (err) {
      return { error: checkError(err), ms: performance.now() - t0 };
    }
  }

  const errored = (error: string, query: string | null = null, durationMs = 0): Outcome => ({
    status: 'errored',
    failing: null,
    ratio: null,
    observed: null,
    details: null,
    query,
    durationMs,
    error,
  });

  const text = (q: CompiledQuery) => deps.catalog.format(q.sql, q.params);

  return {
    /** The datasets a run covers: the one named (which must declare checks), a team's, or every one with checks. */
    async planChecks({ input }: { input: QualityChecksInput }): Promise<{ datasets: string[] }> {
      if (input.dataset) {
        const d = await datasets.get(input.dataset);
        const declared = (d.checks ?? []).map((c) => c.id);
        if (declared.length === 0) {
          throw ApplicationFailure.nonRetryable(
            `dataset ${d.name} declares no checks: add a \`checks:\` list to its declaration and apply it`,
            ErrorType.invalidInput,
          );
        }
        const unknown = (input.checks ?? []).filter((id) => !declared.includes(id));
        if (unknown.length) {
          throw ApplicationFailure.nonRetryable(
            `checks: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not declared on ${d.name} (it declares ${declared.join(', ')})`,
            ErrorType.invalidInput,
          );
        }
        return { datasets: [d.name] };
      }
      return { datasets: await results.datasetsWithChecks(input.team) };
    },

    async runDatasetChecks(args: DatasetChecksArgs): Promise<DatasetChecksSummary> {
      const d = await datasets.get(args.dataset);
      const wanted = args.checks ? new Set(args.checks) : undefined;
      const checks = (d.checks ?? []).filter((c) => !wanted || wanted.has(c.id));
      const table: SilverTableRef = { database: deps.silverDatabase, table: d.target.table };
      heartbeat({ dataset: d.name, phase: 'reading silver', checks: checks.length });

      const { columns, primaryKey, indexes } = await silver.describe(table);
      const outcomes = new Map<string, Outcome>();
      const sampleQueries = new Map<string, { q: CompiledQuery; ownerSql: boolean }>();

      if (columns.length === 0) {
        for (const c of checks) outcomes.set(c.id, errored(`silver table ${d.target.table} does not exist yet: sync ${d.name} first`));
      } else {
        // What cannot be compiled or run is that check's error, not the dataset's.
        const present = new Set(columns.map((c) => c.name));
        const related = await results.targets([...new Set(checks.flatMap((c) => (c.kind === 'relationship' ? [c.to.dataset] : [])))]);
        const runnable: CheckDeclaration[] = [];
        for (const c of checks) {
          const missing = columnsNamed(c).find((n) => !present.has(n.column));
          if (missing) outcomes.set(c.id, errored(`${missing.field}: column ${missing.column} is not in silver table ${d.target.table}`));
          else if (c.kind === 'relationship' && !related.has(c.to.dataset))
            outcomes.set(c.id, errored(`to.dataset: ${c.to.dataset} is not in the catalog`));
          else if (c.kind === 'freshness' && !c.column && !d.source.cursor)
            outcomes.set(c.id, errored(`column: ${d.name} has no cursor; name the timestamp column to measure`));
          else runnable.push(c);
        }
        const plan = compileChecks(runnable, {
          table,
          primaryKey,
          ...(d.source.cursor ? { cursor: d.source.cursor } : {}),
          related: Object.fromEntries([...related].map(([name, t]) => [name, { database: deps.silverDatabase, table: t.table }])),
          indexes,
        });
        const byId = new Map(runnable.map((c) => [c.id, c]));

        heartbeat({ dataset: d.name, phase: 'scanning' });
        // The queries that cannot join the scan run beside it, each on a connection of its own.
        const scanning = timed(() => silver.one(plan.scan));
        const separately = limited(
          SEPARATE_AT_ONCE,
          plan.separate.map((q) => async (): Promise<[string, Outcome]> => {
            const check = byId.get(q.checkId)!;
            heartbeat({ dataset: d.name, phase: 'checking', check: check.id });
            const owner = check.kind === 'sql';
            const count = (cq: CompiledQuery) => (owner ? silver.readOnly(timeoutSeconds, (c) => c.one(cq)) : silver.one(cq));
            // The scan's row count is the denominator of a ratio: awaited only once a count is in hand.
            const rowsOfScan = async () => {
              const scan = await scanning;
              return 'value' in scan ? (scan.value[ROWS_ALIAS] ?? 0) : null;
            };
            if (q.unlessDistinct) {
              const scan = await scanning;
              if ('value' in scan) {
                const [distinct, keyed] = (['distinct_keys', 'keyed_rows'] as const).map((kind) => {
                  const m = plan.scan.measures.find((x) => x.checkId === check.id && x.measure === kind)!;
                  return scan.value[m.alias] ?? 0;
                });
                if (distinct === keyed) return [check.id, judged(check, 0, await rowsOfScan(), { query: text(q), durationMs: scan.ms })];
              }
            }
            let preMs = 0;
            if (q.precheck) {
              const pre = await timed(() => count(q.precheck!));
              if ('error' in pre) return [check.id, errored(pre.error, text(q.precheck), pre.ms)];
              if ((pre.value.orphans ?? 0) === 0)
                return [check.id, judged(check, 0, await rowsOfScan(), { query: text(q.precheck), durationMs: pre.ms })];
              preMs = pre.ms;
            }
            const r = await timed(() => count(q));
            if ('error' in r) return [check.id, errored(r.error, text(q), preMs + r.ms)];
            return [check.id, judged(check, r.value.failing ?? 0, await rowsOfScan(), { query: text(q), durationMs: preMs + r.ms })];
          }),
        );
        // Together, so that a transient error of either (to be retried) leaves no rejection unheard.
        const [scan, separateOutcomes] = await Promise.all([scanning, separately]);
        const rows = 'value' in scan ? (scan.value[ROWS_ALIAS] ?? 0) : null;
        for (const m of plan.scan.measures) {
          if (m.measure === 'distinct_keys' || m.measure === 'keyed_rows') continue; // read by the unique check below
          const check = byId.get(m.checkId)!;
          const query = standaloneQuery(check, table, d.source.cursor);
          if ('error' in scan) {
            outcomes.set(m.checkId, errored(scan.error, text(query), scan.ms));
            continue;
          }
          const value = scan.value[m.alias] ?? null;
          if (m.measure === 'age_seconds') {
            const failing = freshnessFailing(check as CheckOf<'freshness'>, value);
            outcomes.set(m.checkId, judged(check, failing, null, { observed: value, query: text(query), durationMs: scan.ms }));
          } else {
            outcomes.set(m.checkId, judged(check, value ?? 0, rows, { query: text(query), durationMs: scan.ms }));
          }
        }

        for (const [id, outcome] of separateOutcomes) outcomes.set(id, outcome);

        const recorded = plan.tableLevel.some((id) => byId.get(id)?.kind === 'schema') ? await results.recordedColumns(d.name) : [];
        for (const id of plan.tableLevel) {
          const check = byId.get(id)!;
          if (check.kind === 'row_count') {
            if (rows === null) outcomes.set(id, errored((scan as { error: string }).error, text(plan.scan), scan.ms));
            else
              outcomes.set(
                id,
                judged(check, rowCountFailing(check, rows), null, { observed: rows, query: text(countQuery(table)), durationMs: scan.ms }),
              );
          } else if (check.kind === 'schema') {
            const problems = schemaProblems(
              check,
              columns.map((c) => ({ name: c.name })),
              recorded,
              BOOKKEEPING,
            );
            outcomes.set(id, judged(check, problems.length, null, { details: problems.join('; ') || null, durationMs: 0 }));
          }
        }
        for (const [id, q] of Object.entries(plan.samples)) sampleQueries.set(id, { q, ownerSql: byId.get(id)?.kind === 'sql' });
      }

      // Failing rows of each failed check, primary key first, to MinIO.
      const sampleKeys = new Map<string, string>();
      for (const c of checks) {
        const sample = sampleQueries.get(c.id);
        if (outcomes.get(c.id)?.status !== 'failed' || !sample) continue;
        heartbeat({ dataset: d.name, phase: 'sampling', check: c.id });
        const got = await timed(() =>
          sample.ownerSql ? silver.readOnly(timeoutSeconds, (conn) => conn.rows(sample.q)) : silver.rows(sample.q),
        );
        if ('error' in got) {
          outcomes.get(c.id)!.details = `no sample: ${got.error}`;
          continue;
        }
        const typeOf = new Map(columns.map((col) => [col.name, col]));
        const sampleColumns: SourceColumn[] = got.value.names.map(
          (name) => typeOf.get(name) ?? { name, type: { kind: 'text' }, sourceType: 'text' },
        );
        const key = checkSampleKey(d.name, args.runId, c.id);
        await deps.samples.put(key, sampleColumns, got.value.rows as SilverValue[][]);
        sampleKeys.set(c.id, key);
      }

      const stored: StoredCheckResult[] = checks.map((c) => ({
        runId: args.runId,
        dataset: d.name,
        team: d.team,
        checkId: c.id,
        kind: c.kind,
        severity: c.severity,
        blocking: c.blocking,
        sampleKey: sampleKeys.get(c.id) ?? null,
        ...outcomes.get(c.id)!,
      }));
      heartbeat({ dataset: d.name, phase: 'recording' });
      await results.record(stored);
      await deps.metrics.write(stored, args.startedAtMs);
      for (const severity of ['warn', 'error'] as const) {
        const failed = stored.filter((r) => r.status === 'failed' && r.severity === severity).length;
        if (failed > 0) countMetric(SPOKEFLOW_METRICS.checksFailed, failed, { dataset: d.name, severity });
      }
      return summarise(d.name, checks, stored);
    },
  };
}
export type ChecksActivities = ReturnType<typeof createChecksActivities>;

/** Runs the tasks at most `n` at a time; results in the tasks' order. A task's rejection rejects the whole. */
async function limited<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, lane));
  return results;
}

/** A check's verdict from its failing count: passed while within its threshold. */
function judged(
  check: CheckDeclaration,
  failing: number,
  rows: number | null,
  extra: { observed?: number | null; details?: string | null; query?: string; durationMs: number },
): Outcome {
  const ratio = rows !== null && rows > 0 ? failing / rows : null;
  return {
    status: withinThreshold(check, failing, rows ?? 0) ? 'passed' : 'failed',
    failing,
    ratio,
    observed: extra.observed ?? null,
    details: extra.details ?? null,
    query: extra.query ?? null,
    durationMs: extra.durationMs,
    error: null,
  };
}

/** The query an operator can paste to see a scan-measured check's count on its own. */
function standaloneQuery(check: CheckDeclaration, table: SilverTableRef, cursor?: string): CompiledQuery {
  if (check.kind === 'freshness') {
    const column = quoteIdentifier(check.column ?? cursor!);
    return { sql: `SELECT TIMESTAMPDIFF(SECOND, MAX(${column}), UTC_TIMESTAMP()) AS age_seconds FROM ${quoteTable(table)}`, params: [] };
  }
  const p = failingPredicate(check as Parameters<typeof failingPredicate>[0]);
  return { sql: `SELECT COUNT(*) AS failing FROM ${quoteTable(table)} WHERE ${p.sql}`, params: p.params };
}

const countQuery = (table: SilverTableRef): CompiledQuery => ({ sql: `SELECT COUNT(*) AS \`rows\` FROM ${quoteTable(table)}`, params: [] });

function summarise(dataset: string, checks: CheckDeclaration[], stored: StoredCheckResult[]): DatasetChecksSummary {
  const count = (s: string) => stored.filter((r) => r.status === s).length;
  const notPassed = stored.filter((r) => r.status !== 'passed');
  return {
    dataset,
    checks: checks.length,
    passed: count('passed'),
    failed: count('failed'),
    errored: count('errored'),
    blockingFailed: notPassed.filter((r) => r.blocking).map((r) => r.checkId),
    failedIds: notPassed.map((r) => r.checkId),
  };
}

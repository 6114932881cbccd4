import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import { ErrorType } from '../../common/errors.js';
import { bronzePartKey, bronzeRunPrefix, manifestKey, quarantinePartKey } from '../../common/keys.js';
import type {
  ChunkInput,
  ChunkResult,
  KeysetPosition,
  SyncInput,
  SyncPlan,
  SyncResult,
  SyncTotals,
} from '../../common/sync.js';
import { createDatasetCatalog } from '../catalog/datasets.js';
import { deleteRowsNotFromRun, evolveSilverTable, loadSilverPage, type SilverTable } from '../catalog/silver.js';
import { createSyncLedger } from '../catalog/sync-ledger.js';
import type { SyncMetrics } from '../metrics/sync-metrics.js';
import type { BronzeStore } from '../objects/bronze.js';
import type { Row, SourceConnections } from '../sources/index.js';
import { boundsSql, pageSql, relationSql } from '../sources/keyset.js';
import { encodePage } from './page.js';

export interface IngestionDeps {
  catalog: Pool;
  catalogDatabase: string;
  silverDatabase: string;
  bronze: BronzeStore;
  metrics: SyncMetrics;
  sources: SourceConnections;
}

/** The sync's activities: each moves data between stores and returns only keys and counts. */
export function createIngestionActivities(deps: IngestionDeps) {
  const datasets = createDatasetCatalog(deps.catalog);
  const ledger = createSyncLedger(deps.catalog);
  const silverOf = (plan: SyncPlan): SilverTable => ({ database: deps.silverDatabase, table: plan.targetTable });

  async function readPage(plan: SyncPlan, after: KeysetPosition | null): Promise<Row[]> {
    const source = deps.sources.get(plan.source);
    const incremental = plan.mode === 'incremental';
    const { sql, values } = pageSql(source.dialect, relationSql(source.dialect, plan.source), {
      columns: plan.columns,
      keyset: plan.keyset,
      cursor: plan.source.cursor,
      after,
      cursorLowerBound: incremental ? plan.cursorLowerBound : null,
      cursorUpperBound: incremental ? plan.cursorUpperBound : null,
      upperInclusive: plan.upperInclusive,
      limit: plan.pageRows,
    });
    return source.queryRows(sql, values);
  }

  function positionOf(plan: SyncPlan, row: Row): KeysetPosition {
    return plan.keyset.map((name) => row[plan.columns.findIndex((c) => c.name === name)] ?? null);
  }

  /** One page: bronze object and silver upsert side by side, then manifest and watermark in one commit. */
  async function writePage(plan: SyncPlan, seq: number, rows: Row[], first: KeysetPosition, last: KeysetPosition) {
    const page = encodePage(plan.columns, rows);
    const objectKey = page.rows > 0 ? bronzePartKey(plan.runPrefix, seq) : null;
    const quarantineKey = page.quarantined.length > 0 ? quarantinePartKey(plan.runPrefix, seq) : null;
    const conn = await deps.catalog.getConnection();
    try {
      await conn.beginTransaction();
      const [stored] = await Promise.all([
        objectKey ? deps.bronze.put(objectKey, page.parquet, 'application/vnd.apache.parquet') : undefined,
        quarantineKey
          ? deps.bronze.put(quarantineKey, Buffer.from(page.quarantined.map((r) => JSON.stringify(r)).join('\n') + '\n'), 'application/x-ndjson')
          : undefined,
        loadSilverPage(conn, silverOf(plan), plan.columns, page.tsv, plan.syncRunId),
      ]);
      await ledger.recordManifestEntry(conn, plan.syncRunId, {
        seq,
        objectKey,
        rows: page.rows,
        bytes: stored?.bytes ?? 0,
        sha256: stored?.sha256 ?? null,
        firstPosition: first,
        lastPosition: last,
        quarantined: page.quarantined.length,
        quarantineKey,
        nullCounts: Object.fromEntries(plan.columns.map((c, i) => [c.name, page.nullCounts[i] ?? 0])),
      });
      if (plan.mode === 'incremental' && !plan.windowed) {
        await ledger.commitWatermark(conn, plan.dataset, last, plan.syncRunId);
      }
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
    return { rows: page.rows, quarantined: page.quarantined.length, bytes: page.parquet.byteLength };
  }

  return {
    /** Reads the declaration and the source's shape, evolves silver, and fixes the run's bounds. */
    async planSync(input: SyncInput, run: { syncRunId: string; startedAtMs: number }): Promise<SyncPlan> {
      const d = await datasets.get(input.dataset);
      const cursor = d.source.cursor;
      if (!cursor && (input.mode === 'incremental' || input.window)) {
        throw ApplicationFailure.nonRetryable(
          `dataset ${d.name} declares no cursor column: sync it with mode "full"${input.window ? ' and no window' : ''}`,
          ErrorType.invalidInput,
        );
      }
      if (input.window && input.mode === 'full') {
        throw ApplicationFailure.nonRetryable('window: a windowed sync is incremental; drop mode "full"', ErrorType.invalidInput);
      }
      const source = deps.sources.get(d.source);
      const relation = relationSql(source.dialect, d.source);
      const columns = await source.describe(relation);
      for (const name of [...(cursor ? [cursor] : []), ...d.source.primaryKey]) {
        if (!columns.some((c) => c.name === name)) {
          throw ApplicationFailure.nonRetryable(
            `source of ${d.name} has no column "${name}" (columns: ${columns.map((c) => c.name).join(', ')})`,
            ErrorType.sourceSchema,
          );
        }
      }
      await evolveSilverTable(deps.catalog, deps.catalogDatabase, d.name, { database: deps.silverDatabase, table: d.target.table }, columns, d.source.primaryKey, run.syncRunId);

      const watermark = input.mode === 'incremental' && !input.window ? await ledger.readWatermark(d.name) : null;
      const lower = input.window
        ? { value: input.window.from, inclusive: true }
        : watermark?.[0] != null
          ? { value: watermark[0], inclusive: true }
          : null;
      const upper = input.window ? { value: input.window.to, inclusive: false } : null;
      const bounds = boundsSql(source.dialect, relation, columns, cursor, input.mode === 'incremental' ? lower : null, upper);
      const [stats] = await source.queryRows(bounds.sql, bounds.values);
      const top = stats?.[1] ?? null;

      const plan: SyncPlan = {
        syncRunId: run.syncRunId,
        dataset: d.name,
        team: d.team,
        mode: input.mode,
        source: d.source,
        targetTable: d.target.table,
        columns,
        keyset: input.mode === 'full' || !cursor ? d.source.primaryKey : [cursor, ...d.source.primaryKey],
        upperInclusive: !input.window,
        startAfter: watermark,
        cursorLowerBound: input.window?.from ?? null,
        cursorUpperBound: input.window?.to ?? top ?? watermark?.[0] ?? null,
        windowed: input.window !== undefined,
        estimatedRows: Number(stats?.[0] ?? 0),
        rowsWithoutCursor: Number(stats?.[2] ?? 0),
        pageRows: input.pageRows,
        pagesPerChunk: input.pagesPerChunk,
        runPrefix: bronzeRunPrefix(d.name, new Date(run.startedAtMs).toISOString().slice(0, 10), run.syncRunId),
        startedAtMs: run.startedAtMs,
      };
      // An incremental run with no cursor yet and an empty source has nothing to bound by.
      if (plan.mode === 'incremental' && plan.cursorUpperBound === null) plan.estimatedRows = 0;
      await ledger.startRun(plan, Context.current().info.workflowExecution?.workflowId ?? '', watermark, input.window);
      return plan;
    },

    /**
     * Copies up to `pagesPerChunk` pages, reading the next page while the current one is written.
     * A retry (after a crash, say) resumes after the last page the manifest shows committed.
     */
    async copyChunk({ plan, after: start, firstSeq }: ChunkInput): Promise<ChunkResult> {
      const ctx = Context.current();
      const committed = await ledger.manifest(plan.syncRunId, firstSeq);
      const lastCommitted = committed.at(-1);
      let after = lastCommitted ? lastCommitted.lastPosition : start;
      let seq = lastCommitted ? lastCommitted.seq + 1 : firstSeq;
      const done = { rows: 0, quarantined: 0, bytes: 0, objects: 0, pages: committed.length };
      for (const e of committed) {
        done.rows += e.rows;
        done.quarantined += e.quarantined;
        done.bytes += e.bytes;
        done.objects += e.objectKey ? 1 : 0;
      }
      const emptySource = plan.mode === 'incremental' && plan.cursorUpperBound === null;
      let finished = emptySource;

      let next: Promise<Row[]> | undefined = emptySource ? undefined : readPage(plan, after);
      while (next) {
        const rows = await next;
        next = undefined;
        if (rows.length === 0) {
          finished = true;
          break;
        }
        const last = positionOf(plan, rows[rows.length - 1]!);
        const lastPage = rows.length < plan.pageRows;
        if (!lastPage && done.pages + 1 < plan.pagesPerChunk) {
          next = readPage(plan, last);
          next.catch(() => undefined); // a failed write must not leave this rejection unhandled
        }
        const written = await writePage(plan, seq, rows, positionOf(plan, rows[0]!), last);
        after = last;
        seq += 1;
        done.rows += written.rows;
        done.quarantined += written.quarantined;
        done.bytes += written.bytes;
        done.objects += written.rows > 0 ? 1 : 0;
        done.pages += 1;
        ctx.heartbeat({ committedSeq: seq - 1 });
        finished = lastPage;
      }
      return { rows: done.rows, quarantined: done.quarantined, bytes: done.bytes, objects: done.objects, after, nextSeq: seq, done: finished };
    },

    /** Deletes what a full refresh no longer saw, records the manifest, run and metrics. */
    async finishSync({ plan, totals, after }: { plan: SyncPlan; totals: SyncTotals; after: KeysetPosition | null }): Promise<SyncResult> {
      const deleted = plan.mode === 'full' ? await deleteRowsNotFromRun(deps.catalog, silverOf(plan), plan.syncRunId) : 0;
      let watermark: KeysetPosition | null = null;
      if (!plan.windowed) {
        if (plan.mode === 'incremental') watermark = after ?? plan.startAfter;
        else if (plan.source.cursor && plan.cursorUpperBound !== null) {
          watermark = [plan.cursorUpperBound, ...plan.source.primaryKey.map(() => null)];
          const conn = await deps.catalog.getConnection();
          try {
            await ledger.commitWatermark(conn, plan.dataset, watermark, plan.syncRunId);
          } finally {
            conn.release();
          }
        }
      }
      const entries = await ledger.manifest(plan.syncRunId);
      const key = manifestKey(plan.runPrefix);
      await deps.bronze.put(
        key,
        Buffer.from(
          JSON.stringify(
            {
              dataset: plan.dataset,
              syncRunId: plan.syncRunId,
              mode: plan.mode,
              source: { kind: plan.source.kind, connection: plan.source.connection, table: plan.source.table, query: plan.source.query },
              target: { database: deps.silverDatabase, table: plan.targetTable },
              columns: plan.columns,
              totals: { ...totals, deleted },
              watermark,
              objects: entries,
            },
            null,
            2,
          ),
        ),
        'application/json',
      );
      const nullCounts: Record<string, number> = {};
      for (const e of entries) for (const [c, n] of Object.entries(e.nullCounts)) nullCounts[c] = (nullCounts[c] ?? 0) + n;
      const cursorColumn = plan.columns.find((c) => c.name === plan.source.cursor);
      const newest = watermark?.[0] ?? null;
      const now = Date.now();
      await deps.metrics.write({
        dataset: plan.dataset,
        team: plan.team,
        mode: plan.mode,
        status: 'succeeded',
        startedAtMs: plan.startedAtMs,
        durationMs: now - plan.startedAtMs,
        rows: totals.rows,
        bytes: totals.bytes,
        objects: totals.objects,
        quarantined: totals.quarantined,
        deleted,
        lagSeconds: cursorColumn?.type.kind === 'timestamp' && newest ? (now - Date.parse(`${newest.replace(' ', 'T')}Z`)) / 1000 : null,
        nullCounts,
      });
      await ledger.finishRun(plan.syncRunId, 'succeeded', totals, { deleted, watermarkTo: watermark, manifestKey: key });
      return { dataset: plan.dataset, syncRunId: plan.syncRunId, mode: plan.mode, ...totals, deletedRows: deleted, watermark, manifestKey: key };
    },

    async failSync({ plan, totals, outcome, error }: { plan: SyncPlan; totals: SyncTotals; outcome: 'failed' | 'cancelled'; error: string }): Promise<void> {
      await ledger.finishRun(plan.syncRunId, outcome, totals, { error });
      await deps.metrics.write({
        dataset: plan.dataset,
        team: plan.team,
        mode: plan.mode,
        status: outcome,
        startedAtMs: plan.startedAtMs,
        durationMs: Date.now() - plan.startedAtMs,
        rows: totals.rows,
        bytes: totals.bytes,
        objects: totals.objects,
        quarantined: totals.quarantined,
        deleted: 0,
        lagSeconds: null,
        nullCounts: {},
      });
    },
  };
}
export type IngestionActivities = ReturnType<typeof createIngestionActivities>;

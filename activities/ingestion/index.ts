import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { PartitionRef } from '../../common/backfill.js';
import type { SourceColumn } from '../../common/column-types.js';
import { ErrorType } from '../../common/errors.js';
import type { LeaseHolder, LeaseTake } from '../../common/lease.js';
import { bronzePartKey, bronzeRunPrefix, manifestKey, quarantinePartKey } from '../../common/keys.js';
import {
  boundKind,
  emptySyncTotals,
  type ChunkInput,
  type ChunkResult,
  type KeysetPosition,
  type SyncInput,
  type SyncPlan,
  type SyncResult,
  type SyncTotals,
} from '../../common/sync.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { countMetric, setMetric } from '../activity-metrics.js';
import { createBackfillLedger } from '../catalog/backfill-ledger.js';
import { createDatasetLeases } from '../catalog/dataset-leases.js';
import { createDatasetCatalog } from '../catalog/datasets.js';
import { deleteRowsNotFromRun, evolveSilverTable, loadSilverPage, type SilverTable } from '../catalog/silver.js';
import { ensureCheckIndexes } from '../catalog/silver-checks.js';
import { createSyncLedger } from '../catalog/sync-ledger.js';
import type { SyncMetrics } from '../metrics/sync-metrics.js';
import type { BronzeStore, StoredObject } from '../objects/bronze.js';
import { type SourceConnections } from '../sources/index.js';
import { boundsSql, chooseRowKey, relationSql } from '../sources/keyset.js';
import { checkIndexColumns } from '../quality/checks-sql.js';
import { createKeyRangeActivities } from './key-ranges.js';
import { inspectPage, type SilverPage } from './page.js';
import type { ParquetEncoder } from './parquet-encoder.js';

export interface IngestionDeps {
  catalog: Pool;
  catalogDatabase: string;
  silverDatabase: string;
  bronze: BronzeStore;
  metrics: SyncMetrics;
  sources: SourceConnections;
  parquet: ParquetEncoder;
}

/** Where a copy of pages starts and how far it may go. */
export interface PageRun {
  after: KeysetPosition | null;
  /** Given, the last keyset position to copy (a key range's end). */
  through: KeysetPosition | null;
  firstSeq: number;
  /** Given, pages numbered past it belong to someone else (another key range). */
  lastSeq?: number;
  maxPages: number;
}

interface FinishInput {
  plan: SyncPlan;
  totals: SyncTotals;
  after: KeysetPosition | null;
  partition?: PartitionRef;
}

/** The sync's activities: each moves data between stores and returns only keys and counts. */
export function createIngestionActivities(deps: IngestionDeps) {
  const datasets = createDatasetCatalog(deps.catalog);
  const ledger = createSyncLedger(deps.catalog);
  const backfills = createBackfillLedger(deps.catalog);
  const leases = createDatasetLeases(deps.catalog);
  const silverOf = (plan: SyncPlan): SilverTable => ({ database: deps.silverDatabase, table: plan.targetTable });

  function readPage(plan: SyncPlan, after: KeysetPosition | null, through: KeysetPosition | null): Promise<Buffer> {
    const source = deps.sources.get(plan.source);
    const incremental = plan.mode === 'incremental';
    return source.readPageText(relationSql(source.dialect, plan.source), {
      columns: plan.columns,
      keyset: plan.keyset,
      cursor: plan.source.cursor,
      after,
      cursorLowerBound: incremental ? plan.cursorLowerBound : null,
      cursorUpperBound: incremental ? plan.cursorUpperBound : null,
      upperInclusive: plan.upperInclusive,
      through,
      limit: plan.pageRows,
    });
  }

  /** A page ready to commit: its silver text, and its bronze object on the way to MinIO. */
  interface PreparedPage {
    seq: number;
    page: SilverPage;
    /** Source rows in the page, quarantined ones included. */
    sourceRows: number;
    objectKey: string | null;
    quarantineKey: string | null;
    /** Parquet encoding (on its own thread) and upload of the bronze object, and of the quarantine. */
    storing: Promise<[StoredObject | undefined, StoredObject | undefined]>;
  }

  function preparePage(plan: SyncPlan, seq: number, text: Buffer): PreparedPage {
    const keyset = plan.keyset.map((name) => plan.columns.findIndex((c) => c.name === name));
    const page = inspectPage(plan.columns, text, keyset);
    const objectKey = page.rows > 0 ? bronzePartKey(plan.runPrefix, seq) : null;
    const quarantineKey = page.quarantined.length > 0 ? quarantinePartKey(plan.runPrefix, seq) : null;
    const storing = Promise.all([
      objectKey
        ? deps.parquet
            .encode(plan.columns, page.text)
            .then((parquet) => deps.bronze.put(objectKey, parquet, 'application/vnd.apache.parquet'))
        : undefined,
      quarantineKey
        ? deps.bronze.put(
            quarantineKey,
            Buffer.from(page.quarantined.map((r) => JSON.stringify(r)).join('\n') + '\n'),
            'application/x-ndjson',
          )
        : undefined,
    ]);
    storing.catch(() => undefined); // awaited by commitPage; a failure before that must not go unhandled
    return { seq, page, sourceRows: page.rows + page.quarantined.length, objectKey, quarantineKey, storing };
  }

  /**
   * Upserts the page into silver while its bronze object is still being written, then commits
   * the manifest entry and the watermark with the rows, once both stores hold the page.
   */
  async function commitPage(conn: PoolConnection, plan: SyncPlan, p: PreparedPage) {
    try {
      await conn.beginTransaction();
      await loadSilverPage(conn, silverOf(plan), plan.columns, p.page.text, plan.syncRunId, {
        cursor: plan.source.cursor ?? null,
        claimSeenRows: plan.mode === 'full',
      });
      const [stored] = await p.storing;
      await ledger.recordManifestEntry(conn, plan.syncRunId, {
        seq: p.seq,
        objectKey: p.objectKey,
        rows: p.page.rows,
        bytes: stored?.bytes ?? 0,
        sha256: stored?.sha256 ?? null,
        firstPosition: p.page.first,
        lastPosition: p.page.last,
        quarantined: p.page.quarantined.length,
        quarantineKey: p.quarantineKey,
        nullCounts: Object.fromEntries(plan.columns.map((c, i) => [c.name, p.page.nullCounts[i] ?? 0])),
      });
      if (plan.mode === 'incremental' && !plan.windowed) {
        await ledger.commitWatermark(conn, plan.dataset, p.page.last, plan.syncRunId);
      }
      await conn.commit();
      return { rows: p.page.rows, quarantined: p.page.quarantined.length, bytes: stored?.bytes ?? 0 };
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Copies pages from `after` on (through `through`, when given), numbered from `firstSeq`, until
   * the source has no more or `maxPages` are committed; reports everything committed from
   * `firstSeq` on (up to `lastSeq`), pages an earlier attempt committed included.
   */
  async function copyPages(plan: SyncPlan, run: PageRun): Promise<ChunkResult> {
    const ctx = Context.current();
    const committed = await ledger.manifest(plan.syncRunId, run.firstSeq, run.lastSeq);
    const lastCommitted = committed.at(-1);
    let after = lastCommitted ? lastCommitted.lastPosition : run.after;
    let seq = lastCommitted ? lastCommitted.seq + 1 : run.firstSeq;
    const done = { ...emptySyncTotals(), pages: committed.length };
    for (const e of committed) {
      done.rows += e.rows;
      done.quarantined += e.quarantined;
      done.bytes += e.bytes;
      done.objects += e.objectKey ? 1 : 0;
    }
    const emptySource = plan.mode === 'incremental' && plan.cursorUpperBound === null;
    let finished = emptySource;

    // Three stages overlap: reading page n+1 from the source, encoding page n (Parquet on its
    // own thread), and committing page n-1 to MySQL. Commits stay in page order.
    const conn = await deps.catalog.getConnection();
    let committing: Promise<void> = Promise.resolve();
    let pagesRead = done.pages;
    try {
      let next: Promise<Buffer> | undefined = emptySource ? undefined : readPage(plan, after, run.through);
      while (next) {
        // A cancelled copy stops between pages: what is committed stays, and is resumable.
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('sync cancelled');
        const text = await next;
        next = undefined;
        if (text.length === 0) {
          finished = true;
          break;
        }
        const prepared = preparePage(plan, seq, text);
        const lastPage = prepared.sourceRows < plan.pageRows;
        pagesRead += 1;
        if (!lastPage && pagesRead < run.maxPages) {
          next = readPage(plan, prepared.page.last, run.through);
          next.catch(() => undefined); // awaited next round; an earlier failure must not leave it unhandled
        }
        seq += 1;
        const previous = committing;
        committing = previous.then(async () => {
          const written = await commitPage(conn, plan, prepared);
          after = prepared.page.last;
          done.rows += written.rows;
          done.quarantined += written.quarantined;
          done.bytes += written.bytes;
          done.objects += written.rows > 0 ? 1 : 0;
          done.pages += 1;
          // Counted once per committed page: a retry resumes after it, so never twice.
          countMetric(SPOKEFLOW_METRICS.rowsSynced, written.rows, { dataset: plan.dataset });
          countMetric(SPOKEFLOW_METRICS.rowsQuarantined, written.quarantined, { dataset: plan.dataset });
          ctx.heartbeat({ committedSeq: prepared.seq });
        });
        committing.catch(() => undefined);
        await previous; // at most two pages in flight
        finished = lastPage;
      }
      await committing;
    } finally {
      await committing.catch(() => undefined);
      conn.release();
    }
    return {
      rows: done.rows,
      quarantined: done.quarantined,
      bytes: done.bytes,
      objects: done.objects,
      after,
      nextSeq: seq,
      done: finished,
    };
  }

  /**
   * Deletes what a full refresh no longer saw, records the manifest, run and metrics, and, for a
   * backfill partition, the partition as succeeded once its run is.
   */
  async function finishSync({ plan, totals, after, partition }: FinishInput): Promise<SyncResult> {
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
    const lagSeconds = cursorColumn?.type.kind === 'timestamp' && newest ? (now - Date.parse(`${newest.replace(' ', 'T')}Z`)) / 1000 : null;
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
      lagSeconds,
      nullCounts,
    });
    await ledger.finishRun(plan.syncRunId, 'succeeded', totals, { deleted, watermarkTo: watermark, manifestKey: key });
    countMetric(SPOKEFLOW_METRICS.syncRuns, 1, { dataset: plan.dataset, status: 'succeeded' });
    if (lagSeconds !== null) setMetric(SPOKEFLOW_METRICS.syncLag, lagSeconds, { dataset: plan.dataset });
    if (partition) await backfills.markDone(partition, { status: 'succeeded', rows: totals.rows });
    return {
      dataset: plan.dataset,
      syncRunId: plan.syncRunId,
      mode: plan.mode,
      ...totals,
      deletedRows: deleted,
      watermark,
      manifestKey: key,
    };
  }

  /** A failed or cancelled run's metrics point: what it copied before it stopped. */
  function writeFailureMetrics(r: {
    dataset: string;
    team: string;
    mode: 'incremental' | 'full';
    startedAtMs: number;
    outcome: 'failed' | 'cancelled';
    totals: SyncTotals;
  }): Promise<void> {
    countMetric(SPOKEFLOW_METRICS.syncRuns, 1, { dataset: r.dataset, status: r.outcome });
    return deps.metrics.write({
      dataset: r.dataset,
      team: r.team,
      mode: r.mode,
      status: r.outcome,
      startedAtMs: r.startedAtMs,
      durationMs: Date.now() - r.startedAtMs,
      rows: r.totals.rows,
      bytes: r.totals.bytes,
      objects: r.totals.objects,
      quarantined: r.totals.quarantined,
      deleted: 0,
      lagSeconds: null,
      nullCounts: {},
    });
  }

  return {
    /**
     * Reads the declaration and the source's shape, evolves silver, and fixes the run's bounds.
     * A backfill partition's sync is first marked running in the backfill ledger, so even a
     * plan that fails leaves the partition on record; an empty window is finished at once.
     */
    async planSync(input: SyncInput, run: { syncRunId: string; startedAtMs: number; partition?: PartitionRef }): Promise<SyncPlan> {
      if (run.partition) await backfills.markRunning(run.partition, run.syncRunId);
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
      const primaryKey = d.source.primaryKey ?? (d.source.table ? chooseRowKey(await source.uniqueIndexes(d.source.table)) : undefined);
      if (!primaryKey) {
        throw ApplicationFailure.nonRetryable(
          `source table ${d.source.table} of ${d.name} has no primary key and no unique index of NOT NULL columns: ` +
            'declare source.primaryKey (columns that identify a row) in the dataset, or add such a key to the table',
          ErrorType.missingRowKey,
        );
      }
      for (const name of [...(cursor ? [cursor] : []), ...primaryKey]) {
        if (!columns.some((c) => c.name === name)) {
          throw ApplicationFailure.nonRetryable(
            `source of ${d.name} has no column "${name}" (columns: ${columns.map((c) => c.name).join(', ')})`,
            ErrorType.sourceSchema,
          );
        }
      }
      if (input.window && cursor)
        checkWindowFitsCursor(
          input.window,
          d.name,
          columns.find((c) => c.name === cursor),
        );
      const silverTable = { database: deps.silverDatabase, table: d.target.table };
      const { created } = await evolveSilverTable(
        deps.catalog,
        deps.catalogDatabase,
        d.name,
        silverTable,
        columns,
        primaryKey,
        run.syncRunId,
      );
      // A table the checks were declared on before it existed gets their indexes while it is empty.
      if (created) await ensureCheckIndexes(deps.catalog, silverTable, checkIndexColumns(d.checks ?? []));

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
        source: { ...d.source, primaryKey },
        targetTable: d.target.table,
        columns,
        keyset: input.mode === 'full' || !cursor ? primaryKey : [cursor, ...primaryKey],
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
        ...(d.checks?.length ? { checks: d.checks.length } : {}),
        ...(splitsIntoRanges(input, d.parallelRanges, Number(stats?.[0] ?? 0), run.partition) ? { parallelRanges: d.parallelRanges } : {}),
      };
      // An incremental run with no cursor yet and an empty source has nothing to bound by.
      if (plan.mode === 'incremental' && plan.cursorUpperBound === null) plan.estimatedRows = 0;
      await ledger.startRun(plan, Context.current().info.workflowExecution?.workflowId ?? '', watermark, input.window);
      // A window's rows are counted exactly: an empty one has nothing to copy, so its run ends here.
      if (plan.windowed && plan.estimatedRows === 0) {
        return {
          ...plan,
          finished: await finishSync({
            plan,
            totals: emptySyncTotals(),
            after: plan.startAfter,
            partition: run.partition,
          }),
        };
      }
      return plan;
    },

    /**
     * Copies up to `pagesPerChunk` pages, reading the next page while the current one is written.
     * A retry (after a crash, say) resumes after the last page the manifest shows committed.
     */
    copyChunk({ plan, after, firstSeq }: ChunkInput): Promise<ChunkResult> {
      return copyPages(plan, { after, through: null, firstSeq, maxPages: plan.pagesPerChunk });
    },

    ...createKeyRangeActivities({ catalog: deps.catalog, sources: deps.sources, copyPages }),

    finishSync,

    /** Takes the dataset's lease for a sync or backfill, or names who holds it. */
    takeDatasetLease(req: { dataset: string; holder: LeaseHolder; ttlSeconds: number }): Promise<LeaseTake> {
      return leases.take(req.dataset, req.holder, req.ttlSeconds);
    },

    /** Extends the holder's lease; false when it has lost it. */
    renewDatasetLease(req: { dataset: string; holder: LeaseHolder; ttlSeconds: number }): Promise<boolean> {
      return leases.renew(req.dataset, req.holder, req.ttlSeconds);
    },

    releaseDatasetLease(req: { dataset: string; holder: LeaseHolder }): Promise<void> {
      return leases.release(req.dataset, req.holder);
    },

    async failSync({
      plan,
      totals,
      outcome,
      error,
    }: {
      plan: SyncPlan;
      totals: SyncTotals;
      outcome: 'failed' | 'cancelled';
      error: string;
    }): Promise<void> {
      await ledger.finishRun(plan.syncRunId, outcome, totals, { error });
      await writeFailureMetrics({ ...plan, outcome, totals });
    },

    /**
     * A sync that failed before it had a plan (unknown dataset, refused credentials, a table
     * without a key) is recorded all the same, and its metrics point written when the catalog
     * knows the dataset, so that health scores and digests count the failure.
     */
    async failUnplannedSync(r: {
      syncRunId: string;
      dataset: string;
      mode: 'incremental' | 'full';
      startedAtMs: number;
      outcome: 'failed' | 'cancelled';
      error: string;
      window?: { from: string; to: string };
    }): Promise<void> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      await ledger.recordUnplannedRun({ ...r, workflowId, status: r.outcome });
      const team = await datasets.teamOf(r.dataset);
      if (team !== undefined) await writeFailureMetrics({ ...r, team, totals: emptySyncTotals() });
    },
  };
}
export type IngestionActivities = ReturnType<typeof createIngestionActivities>;

/** A window's bounds must be of the cursor's kind: numbers for a numeric cursor, dates for a temporal one. */
function checkWindowFitsCursor(window: { from: string; to: string }, dataset: string, column: SourceColumn | undefined): void {
  const kind = column?.type.kind;
  const wanted = kind === 'int' || kind === 'decimal' ? 'number' : kind === 'date' || kind === 'timestamp' ? 'instant' : null;
  if (wanted && boundKind(window.from) !== wanted) {
    throw ApplicationFailure.nonRetryable(
      `window.from: the cursor ${column?.name} of ${dataset} is a ${kind} column; give the window as ${wanted === 'number' ? 'numbers' : 'dates or date-times'}`,
      ErrorType.invalidInput,
    );
  }
}

/**
 * A full or windowed sync above one chunk of a dataset declaring `parallelRanges` is copied as key
 * ranges. A backfill's partitions already run in parallel, each one chunk after another.
 */
function splitsIntoRanges(
  input: SyncInput,
  parallelRanges: number | undefined,
  rows: number,
  partition: PartitionRef | undefined,
): boolean {
  const fullOrWindowed = input.mode === 'full' || input.window !== undefined;
  return (parallelRanges ?? 1) > 1 && !partition && fullOrWindowed && rows > input.pageRows * input.pagesPerChunk;
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../activities/vectors/embedder.js';
import { createVectorActivities } from '../../activities/vectors/index.js';
import { createLocalEmbedder } from '../../activities/vectors/local-model.js';
import { startWorkerProcess, type WorkerProcess } from '../../bench/support/worker-process.js';
import { seedCatalog } from '../../bench/support/synthetic-catalog.js';
import type { EmbeddingRefreshResult } from '../../common/knowledge.js';
import type { Harness } from '../support/harness.js';
import { knowledgeCatalog } from '../support/knowledge-catalog.js';

const ENTRIES = 40;

// Two knowledge workers in processes of their own, as production runs them, share one refresh's
// pages; a trigger counts every write of an index row, so an entry embedded twice shows.
describe('embedding refresh over two knowledge worker processes', () => {
  const stores = knowledgeCatalog();
  const { tag, database, schema } = stores;
  const taskQueue = `test-knowledge-${tag}`;
  let h: Harness;
  let workers: WorkerProcess[] = [];
  let names: string[];

  const writes = async () =>
    (
      await h.clients.postgres.query(
        `SELECT dataset_key, count(*)::int AS n FROM "${schema}".index_writes GROUP BY dataset_key ORDER BY dataset_key`,
      )
    ).rows as { dataset_key: string; n: number }[];

  beforeAll(async () => {
    h = await stores.open({ inProcessWorker: false });
    await h.clients.postgres.query(`
      CREATE TABLE "${schema}".index_writes (dataset_key TEXT NOT NULL, refresh_id TEXT NOT NULL);
      CREATE FUNCTION "${schema}".count_index_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO "${schema}".index_writes VALUES (NEW.dataset_key, NEW.refresh_id); RETURN NEW; END $$;
      CREATE TRIGGER count_index_write AFTER INSERT OR UPDATE ON "${schema}".vector_entries
        FOR EACH ROW EXECUTE FUNCTION "${schema}".count_index_write();`);
    names = await seedCatalog(h.clients.catalog, ENTRIES, `w${tag}`);
    const env = { MYSQL_DATABASE: database, SPOKEFLOW_VECTOR_SCHEMA: schema };
    workers = await Promise.all([startWorkerProcess('knowledge', taskQueue, { env }), startWorkerProcess('knowledge', taskQueue, { env })]);
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    if (h) await stores.close(h);
  });

  it('embeds every entry exactly once, its pages run by both processes, through continue-as-new', async () => {
    const workflowId = `test-embedding-refresh-workers-${tag}`;
    const handle = await h.client.workflow.start('embeddingRefreshWorkflow', {
      taskQueue,
      workflowId,
      args: [{ pageSize: 4, batchSize: 4, parallelPages: 4, pagesPerRun: 4 }],
    });
    const result: EmbeddingRefreshResult = await handle.result();
    expect(result).toMatchObject({ scanned: ENTRIES, embedded: ENTRIES, unchanged: 0, failed: 0, pages: 10, outcome: 'succeeded' });

    const { rows: index } = await h.clients.postgres.query(
      `SELECT dataset_key, refresh_id FROM "${schema}".vector_entries ORDER BY dataset_key`,
    );
    expect(index.map((r) => r.dataset_key)).toEqual(names);
    expect(new Set(index.map((r) => r.refresh_id))).toEqual(new Set([result.refreshId]));
    expect(await writes()).toEqual(names.map((dataset_key) => ({ dataset_key, n: 1 })));
    const { rows: pages } = await h.clients.postgres.query(
      `SELECT count(*)::int AS n, count(done_at)::int AS done, sum(embedded)::int AS embedded FROM "${schema}".vector_refresh_pages WHERE refresh_id = $1`,
      [result.refreshId],
    );
    expect(pages[0]).toEqual({ n: 10, done: 10, embedded: ENTRIES });

    // Which process ran each page: the identity (pid@host) on its activity's started event, over every run of the chain.
    const identities = new Set<string>();
    let continued = 0;
    for await (const run of h.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      if (run.status.name === 'CONTINUED_AS_NEW') continued++;
      const events = (await h.client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? [];
      for (const e of events)
        if (e.activityTaskStartedEventAttributes?.identity) identities.add(e.activityTaskStartedEventAttributes.identity);
    }
    expect(continued).toBeGreaterThanOrEqual(2); // 10 pages, 4 a run
    expect([...identities].map((i) => Number(i.split('@')[0])).sort()).toEqual(workers.map((w) => w.pid).sort());
  });

  it('does not embed a page found done again: a retried attempt returns its recorded counts', async () => {
    let texts = 0;
    const local = createLocalEmbedder({ modelsDir: h.config.embeddings.modelsDir });
    const counting: Embedder = {
      get model() {
        return local.model;
      },
      get modelVersion() {
        return local.modelVersion;
      },
      dimensions: local.dimensions,
      async embed(batch) {
        texts += batch.length;
        return local.embed(batch);
      },
      close: () => local.close(),
    };
    try {
      const acts = createVectorActivities({ catalog: h.clients.catalog, postgres: h.clients.postgres, schema, embedder: counting });
      const refreshId = `direct-${tag}`;
      const plan = await acts.planRefresh({ refreshId, workflowId: refreshId });
      expect(await acts.planRefreshPages({ plan, after: null, pageSize: 10 })).toEqual({ pages: 4 });
      expect(await acts.planRefreshPages({ plan, after: null, pageSize: 5 })).toEqual({ pages: 4 }); // a retry keeps the plan made
      const page = { plan, page: 1, batchSize: 5, maxEntryAttempts: 3, reembed: true };
      const first = await acts.refreshPageRange(page);
      expect(first).toMatchObject({ page: 1, scanned: 10, embedded: 10, last: names[19] });
      expect(texts).toBe(10);
      const again = await acts.refreshPageRange(page);
      expect(again).toEqual(first);
      expect(texts).toBe(10);
      const { rows } = await h.clients.postgres.query(`SELECT count(*)::int AS n FROM "${schema}".index_writes WHERE refresh_id = $1`, [
        refreshId,
      ]);
      expect(rows[0].n).toBe(10);
    } finally {
      await counting.close();
    }
  });
});

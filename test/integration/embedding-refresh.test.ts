import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingInputError, type Embedder } from '../../activities/vectors/embedder.js';
import { createLocalEmbedder } from '../../activities/vectors/local-model.js';
import { createSemanticSearch } from '../../activities/vectors/search.js';
import type { EmbeddingRefreshProgress, EmbeddingRefreshResult } from '../../common/knowledge.js';
import { up as healthSchema } from '../../infra/migrations/0006-health.js';
import { knowledgePlugin } from '../../workers/knowledge-plugin.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import type { Harness } from '../support/harness.js';
import { knowledgeCatalog } from '../support/knowledge-catalog.js';
import { connectWorker } from '../../runtime/temporal.js';

const REFUSED = 'REFUSE-ME';

/** What the test provider does besides embedding: calls counted, and one transient failure on demand. */
const provider = { calls: 0, textsEmbedded: 0, failAtCall: 0 };

/**
 * The local model, except that it refuses any text with the marker (an entry the provider
 * rejects), and fails once like a dropped connection at call `failAtCall`.
 */
function testEmbedder(inner: Embedder): Embedder {
  return {
    get model() {
      return inner.model;
    },
    get modelVersion() {
      return inner.modelVersion;
    },
    dimensions: inner.dimensions,
    async embed(texts) {
      provider.calls++;
      if (provider.calls === provider.failAtCall) throw new Error('connection reset by the test provider');
      if (texts.some((t) => t.includes(REFUSED))) throw new EmbeddingInputError('input refused by the test provider');
      const vectors = await inner.embed(texts);
      provider.textsEmbedded += texts.length;
      return vectors;
    },
    close: () => inner.close(),
  };
}

// The refresh covers a whole catalog, so this file has a catalog database and an index schema of its own.
describe('embedding refresh on the real stack', () => {
  const stores = knowledgeCatalog();
  const { tag, schema } = stores;
  let h: Harness;
  let worker: Worker;
  let running: Promise<void>;
  let workerConnection: NativeConnection;
  let local: Embedder;

  const datasets: { name: string; team: string; owner: string; description: string; tags: string[]; columns: string[] }[] = [
    {
      name: 'crm.contacts',
      team: 'growth',
      owner: 'mia@example.com',
      description: 'Customer e-mail addresses, phone numbers and postal addresses, with consent flags for newsletters.',
      tags: ['pii', 'marketing'],
      columns: ['contact_id', 'email', 'phone', 'street', 'newsletter_consent'],
    },
    {
      name: 'ops.server_metrics',
      team: 'platform',
      owner: 'ops@example.com',
      description: 'CPU load, memory and disk usage sampled every minute on every production server.',
      tags: ['infra'],
      columns: ['host', 'cpu', 'memory', 'disk', 'sampled_at'],
    },
    {
      name: 'finance.invoices',
      team: 'finance',
      owner: 'leo@example.com',
      description: 'Invoices issued to business customers with amounts, taxes and due dates.',
      tags: ['finance'],
      columns: ['invoice_id', 'amount', 'tax', 'due_date'],
    },
    {
      name: 'growth.campaigns',
      team: 'growth',
      owner: 'mia@example.com',
      description: 'Advertising campaigns: channel, budget, spend and clicks per day.',
      tags: ['marketing'],
      columns: ['campaign_id', 'channel', 'budget', 'spend', 'clicks'],
    },
    {
      name: 'hr.payroll',
      team: 'people',
      owner: 'zoe@example.com',
      description: 'Monthly salaries and bonuses of employees, with their bank account numbers.',
      tags: ['pii', 'confidential'],
      columns: ['employee_id', 'salary', 'bonus', 'iban'],
    },
    {
      name: 'shop.orders',
      team: 'commerce',
      owner: 'ana@example.com',
      description: 'Every order placed in the web shop, one row per order, updated as it ships.',
      tags: ['sales'],
      columns: ['order_id', 'customer_id', 'total', 'shipped_at'],
    },
  ];
  const names = datasets.map((d) => d.name).sort();

  async function declare(d: (typeof datasets)[number]): Promise<void> {
    await h.datasets.upsert({
      name: d.name,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.${d.name.replace('.', '_')}`, primaryKey: [d.columns[0]!] },
      target: { table: d.name.replace('.', '_') },
      owner: d.owner,
      team: d.team,
      description: d.description,
      tags: d.tags,
    });
    await h.clients.catalog.query('DELETE FROM dataset_columns WHERE dataset = ?', [d.name]);
    await h.clients.catalog.query(
      'INSERT INTO dataset_columns (dataset, name, ordinal, source_type, canonical_type, mysql_type) VALUES ?',
      [d.columns.map((c, i) => [d.name, c, i, 'text', 'string', 'TEXT'])],
    );
  }

  async function refresh(input: Record<string, unknown> = {}): Promise<EmbeddingRefreshResult> {
    return h.client.workflow.execute('embeddingRefreshWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-embedding-refresh-${tag}-${randomUUID().slice(0, 8)}`,
      args: [{ pageSize: 2, batchSize: 2, ...input }],
    });
  }

  async function index(): Promise<Map<string, { text: string; model: string; model_version: string; refresh_id: string }>> {
    const { rows } = await h.clients.postgres.query(
      `SELECT dataset_key, text, model, model_version, refresh_id FROM "${schema}".vector_entries ORDER BY dataset_key`,
    );
    return new Map(rows.map((r) => [r.dataset_key as string, r]));
  }

  beforeAll(async () => {
    h = await stores.open({ inProcessWorker: false, prometheus: true, extra: [healthSchema] });
    for (const d of datasets) await declare(d);

    local = createLocalEmbedder({ modelsDir: h.config.embeddings.modelsDir });
    workerConnection = await connectWorker(h.config);
    worker = await Worker.create({
      connection: workerConnection,
      namespace: h.config.temporal.namespace,
      taskQueue: h.taskQueue,
      plugins: [knowledgePlugin({ config: h.config, clients: h.clients, embedder: testEmbedder(local) })],
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await workerConnection?.close();
    await local?.close();
    if (h) await stores.close(h);
  });

  /** What the model counted on the worker's /metrics: texts embedded, and the last batch's rate. */
  async function modelMetrics(): Promise<{ texts: number; perSecond: number | undefined }> {
    const scraped = (await h.metrics()).filter((s) => s.labels.model === 'all-MiniLM-L6-v2');
    const value = (name: string) => scraped.find((s) => s.name === name)?.value;
    return { texts: value(SPOKEFLOW_METRICS.modelTexts.name) ?? 0, perSecond: value(SPOKEFLOW_METRICS.modelTextsPerSecond.name) };
  }

  it('embeds every entry, in pages planned as key ranges, continuing as new with its cursor', async () => {
    const textsBefore = (await modelMetrics()).texts;
    const handle = await h.client.workflow.start('embeddingRefreshWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-embedding-refresh-${tag}-first`,
      args: [{ pageSize: 2, batchSize: 2, pagesPerRun: 2 }],
    });
    const result: EmbeddingRefreshResult = await handle.result();
    expect(result).toMatchObject({
      scanned: 6,
      embedded: 6,
      unchanged: 0,
      failed: 0,
      skipped: 0,
      removed: 0,
      pages: 3, // 2 + 2 + 2: the last page runs to the end of the catalog
      outcome: 'succeeded',
      model: 'all-MiniLM-L6-v2',
    });
    expect(result.modelVersion).toMatch(/^onnx-int8-[0-9a-f]{12}$/);
    const counted = await modelMetrics();
    expect(counted.texts - textsBefore).toBe(6);
    expect(counted.perSecond).toBeGreaterThan(0);
    const first = await h.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');

    const rows = await index();
    expect([...rows.keys()]).toEqual(names);
    expect(rows.get('crm.contacts')!.text).toContain('columns: contact_id, email, phone, street, newsletter_consent');
    expect(rows.get('crm.contacts')!.text).toContain('owner: mia@example.com');
    expect(new Set([...rows.values()].map((r) => r.refresh_id))).toEqual(new Set([result.refreshId]));
    const { rows: runs } = await h.clients.postgres.query(
      `SELECT status, cursor, embedded FROM "${schema}".vector_refreshes WHERE refresh_id = $1`,
      [result.refreshId],
    );
    expect(runs[0]).toMatchObject({ status: 'succeeded', cursor: 'shop.orders', embedded: '6' });
    const { rows: pages } = await h.clients.postgres.query(
      `SELECT page, after_key, through_key, embedded, done_at IS NOT NULL AS done FROM "${schema}".vector_refresh_pages WHERE refresh_id = $1 ORDER BY page`,
      [result.refreshId],
    );
    expect(pages).toEqual([
      { page: 0, after_key: null, through_key: 'finance.invoices', embedded: 2, done: true },
      { page: 1, after_key: 'finance.invoices', through_key: 'hr.payroll', embedded: 2, done: true },
      { page: 2, after_key: 'hr.payroll', through_key: null, embedded: 2, done: true },
    ]);
  });

  it('embeds nothing when nothing changed', async () => {
    expect(await refresh()).toMatchObject({ scanned: 6, embedded: 0, unchanged: 6, removed: 0, outcome: 'succeeded' });
  });

  it('re-embeds only the entry whose description changed', async () => {
    const before = await index();
    await declare({
      ...datasets.find((d) => d.name === 'shop.orders')!,
      description: 'Orders of the web shop with their refunds and returns.',
    });
    const result = await refresh();
    expect(result).toMatchObject({ scanned: 6, embedded: 1, unchanged: 5 });
    const after = await index();
    expect(after.get('shop.orders')!.text).toContain('refunds and returns');
    expect(after.get('shop.orders')!.refresh_id).toBe(result.refreshId);
    expect(after.get('finance.invoices')!.refresh_id).toBe(before.get('finance.invoices')!.refresh_id);
  });

  it('removes entries whose dataset left the catalog, in the middle of the key range and at its end', async () => {
    await h.clients.catalog.query('DELETE FROM datasets WHERE name IN (?)', [['growth.campaigns', 'shop.orders']]);
    expect(await refresh()).toMatchObject({ scanned: 4, embedded: 0, unchanged: 4, removed: 2 });
    expect([...(await index()).keys()]).toEqual(['crm.contacts', 'finance.invoices', 'hr.payroll', 'ops.server_metrics']);
    for (const name of ['growth.campaigns', 'shop.orders']) await declare(datasets.find((d) => d.name === name)!);
    expect(await refresh()).toMatchObject({ scanned: 6, embedded: 2, unchanged: 4, removed: 0 });
  });

  it('re-embeds entries whose vectors another model (or version) made', async () => {
    await h.clients.postgres.query(
      `UPDATE "${schema}".vector_entries SET model_version = 'an-older-export' WHERE dataset_key IN ('hr.payroll', 'crm.contacts')`,
    );
    await h.clients.postgres.query(`UPDATE "${schema}".vector_entries SET model = 'another-model' WHERE dataset_key = 'finance.invoices'`);
    const result = await refresh();
    expect(result).toMatchObject({ embedded: 3, unchanged: 3 });
    const rows = await index();
    expect(new Set([...rows.values()].map((r) => `${r.model} ${r.model_version}`))).toEqual(
      new Set([`${result.model} ${result.modelVersion}`]),
    );
  });

  it('records an entry the provider keeps refusing, tries it a bounded number of times, and embeds it once its text changes', async () => {
    const bad = {
      name: 'legal.contracts',
      team: 'legal',
      owner: 'ida@example.com',
      description: `Signed supplier contracts ${REFUSED}`,
      tags: ['legal'],
      columns: ['contract_id', 'signed_at'],
    };
    await declare(bad);
    const failures = async () =>
      (await h.clients.postgres.query(`SELECT dataset_key, attempts, last_error FROM "${schema}".vector_failures`)).rows;

    expect(await refresh({ maxEntryAttempts: 2 })).toMatchObject({
      scanned: 7,
      embedded: 0,
      unchanged: 6,
      failed: 1,
      skipped: 0,
      outcome: 'partial',
    });
    expect(await failures()).toEqual([{ dataset_key: 'legal.contracts', attempts: 1, last_error: 'input refused by the test provider' }]);
    expect((await index()).has('legal.contracts')).toBe(false);

    expect(await refresh({ maxEntryAttempts: 2 })).toMatchObject({ failed: 1, skipped: 0 });
    expect((await failures())[0]).toMatchObject({ attempts: 2 });
    expect(await refresh({ maxEntryAttempts: 2 })).toMatchObject({ failed: 0, skipped: 1, outcome: 'partial' });
    expect((await failures())[0]).toMatchObject({ attempts: 2 });

    await declare({ ...bad, description: 'Signed supplier contracts and their renewal dates.' });
    expect(await refresh({ maxEntryAttempts: 2 })).toMatchObject({ embedded: 1, failed: 0, skipped: 0, outcome: 'succeeded' });
    expect(await failures()).toEqual([]);
  });

  it('embeds the good entries of a batch that holds a refused one', async () => {
    // One page and one batch for everything: the refused text falls back to one call per text.
    const extra = [
      {
        name: 'legal.audits',
        team: 'legal',
        owner: 'ida@example.com',
        description: 'Yearly audit findings.',
        tags: [],
        columns: ['audit_id'],
      },
      {
        name: 'legal.claims',
        team: 'legal',
        owner: 'ida@example.com',
        description: `Open legal claims ${REFUSED}`,
        tags: [],
        columns: ['claim_id'],
      },
    ];
    for (const d of extra) await declare(d);
    const result = await refresh({ pageSize: 10, batchSize: 10 });
    expect(result).toMatchObject({ scanned: 9, embedded: 1, failed: 1 });
    const rows = await index();
    expect(rows.has('legal.audits')).toBe(true);
    expect(rows.has('legal.claims')).toBe(false);
    await h.clients.catalog.query('DELETE FROM datasets WHERE name IN (?)', [extra.map((d) => d.name)]);
    expect(await refresh()).toMatchObject({ removed: 1 });
    expect((await h.clients.postgres.query(`SELECT count(*)::int AS n FROM "${schema}".vector_failures`)).rows[0].n).toBe(0);
  });

  it('resumes a page after a transient provider failure without embedding or counting anything twice', async () => {
    const before = await index();
    provider.calls = 0;
    provider.textsEmbedded = 0;
    provider.failAtCall = 3; // after two batches of two are upserted
    const result = await refresh({ reembed: true, pageSize: 10, batchSize: 2 });
    expect(result).toMatchObject({ scanned: 7, embedded: 7, unchanged: 0, failed: 0, pages: 1, outcome: 'succeeded' });
    expect(provider.calls).toBe(5); // 2 ok, 1 failed, then on retry only the 2 batches left (3 entries)
    expect(provider.textsEmbedded).toBe(7);
    const after = await index();
    expect([...after.keys()]).toEqual([...before.keys()]);
    expect(new Set([...after.values()].map((r) => r.refresh_id))).toEqual(new Set([result.refreshId]));
    provider.failAtCall = 0;
  });

  it('answers its progress query while it runs and after', async () => {
    const handle = await h.client.workflow.start('embeddingRefreshWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-embedding-refresh-${tag}-progress`,
      args: [{ pageSize: 3 }],
    });
    await handle.result();
    const progress = await handle.query<EmbeddingRefreshProgress>('progress');
    expect(progress).toMatchObject({ phase: 'done', scanned: 7, entries: 7, pages: 3, cursor: 'shop.orders' });
  });

  it('ranks the semantically matching entry first, with team and tag filters and the latest health score', async () => {
    await h.clients.catalog.query(
      `INSERT INTO health_scores (dataset, day, team, score, documentation, freshness, reliability, quality, components, weights, as_of) VALUES ?`,
      [
        [
          ['crm.contacts', '2025-01-01', 'growth', 55.5, 50, 50, 50, 50, '{}', '{}', '2025-01-02 00:00:00'],
          ['crm.contacts', '2025-01-02', 'growth', 81.2, 80, 80, 80, 80, '{}', '{}', '2025-01-03 00:00:00'],
        ],
      ],
    );
    const search = createSemanticSearch({ catalog: h.clients.catalog, postgres: h.clients.postgres, schema, embedder: local });

    const hits = await search.search('personal contact details of customers used by marketing', { limit: 3 });
    expect(hits[0]).toMatchObject({
      dataset: 'crm.contacts',
      owner: 'mia@example.com',
      team: 'growth',
      tags: ['pii', 'marketing'],
      health: { score: 81.2, day: '2025-01-02' },
    });
    expect(hits[0]!.similarity).toBeGreaterThan(hits[1]!.similarity);
    expect(hits).toHaveLength(3);

    const servers = await search.search('machine utilisation of hosts', { limit: 1 });
    expect(servers.map((x) => x.dataset)).toEqual(['ops.server_metrics']);
    expect(servers[0]!.health).toBeNull();

    const finance = await search.search('personal contact details of customers used by marketing', { team: 'finance' });
    expect(finance.map((x) => x.dataset)).toEqual(['finance.invoices']);

    const pii = await search.search('salaries', { tag: 'pii' });
    expect(pii.map((x) => x.dataset)).toEqual(['hr.payroll', 'crm.contacts']);
  });
});

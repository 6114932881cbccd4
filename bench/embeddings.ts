import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { vectorLiteral } from '../activities/vectors/embedder.js';
import { buildEntryText, type CatalogEntry } from '../activities/vectors/entry-text.js';
import { createLocalEmbedder } from '../activities/vectors/local-model.js';
import { createSemanticSearch } from '../activities/vectors/search.js';
import type { EmbeddingRefreshResult } from '../common/knowledge.js';
import { up as healthSchema } from '../infra/migrations/0006-health.js';
import { mulberry32 as random } from '../common/seeded-random.js';
import { connectClient } from '../runtime/temporal.js';
import { freshKnowledgeStores } from './support/knowledge-stores.js';
import { describePeak, startWorkerProcess } from './support/worker-process.js';

/**
 * npx tsx bench/embeddings.ts [entries=20000] [searchEntries=100000] [--keep]
 *
 * In a MySQL catalog database and a Postgres schema of its own (dropped at the end unless --keep):
 * generates `entries` catalog datasets with columns, runs the embedding refresh through a real
 * worker (full), changes 1 % of the descriptions and refreshes again (incremental), and measures the
 * model's bare rate on the same texts for comparison. Then it fills the index up to `searchEntries`
 * with synthetic vectors (real entry vectors plus noise, re-normalised: clustered like real data,
 * never embedded) and times semantic searches through the HNSW index, with recall@10 against an
 * exact scan.
 */
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ENTRIES = Number(args[0] ?? 20_000);
const SEARCH_ENTRIES = Number(args[1] ?? 100_000);
const KEEP = process.argv.includes('--keep');
const DATABASE = 'spokeflow_bench_knowledge';
const SCHEMA = 'bench_knowledge';

const DOMAINS = ['sales', 'crm', 'finance', 'hr', 'ops', 'marketing', 'logistics', 'support', 'product', 'security'];
const SUBJECTS = [
  'orders',
  'customers',
  'invoices',
  'payments',
  'shipments',
  'tickets',
  'employees',
  'campaigns',
  'sessions',
  'refunds',
  'suppliers',
  'contracts',
  'servers',
  'alerts',
  'subscriptions',
  'reviews',
];
const QUALIFIERS = ['daily', 'raw', 'cleaned', 'monthly', 'european', 'archived', 'realtime', 'aggregated', 'enriched', 'deduplicated'];
const PHRASES = [
  'with customer e-mail addresses and phone numbers',
  'used by the marketing team for campaign targeting',
  'amounts in euros, taxes and due dates',
  'one row per event, partitioned by day',
  'holds personal data under GDPR retention rules',
  'loaded hourly from the production database',
  'joined with the product catalog for reporting',
  'feeds the finance dashboards and the monthly close',
  'tracks delivery status and carrier delays',
  'scored by the fraud detection model',
  'includes salaries and bank account numbers',
  'response times and satisfaction ratings of support agents',
];
const COLUMNS = [
  'id',
  'customer_id',
  'email',
  'phone',
  'amount',
  'currency',
  'status',
  'created_at',
  'updated_at',
  'country',
  'channel',
  'score',
  'carrier',
  'sku',
  'quantity',
  'iban',
];
const TEAMS = ['commerce', 'growth', 'finance', 'people', 'platform', 'logistics'];

function generate(n: number): CatalogEntry[] {
  const rnd = random(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const domain = pick(DOMAINS);
    const subject = pick(SUBJECTS);
    const qualifier = pick(QUALIFIERS);
    const columns = [...new Set(Array.from({ length: 4 + Math.floor(rnd() * 5) }, () => pick(COLUMNS)))];
    return {
      dataset: `bench_kb.${domain}_${subject}_${String(i).padStart(6, '0')}`,
      description: `${qualifier[0]!.toUpperCase()}${qualifier.slice(1)} ${subject} of the ${domain} domain, ${pick(PHRASES)}; ${pick(PHRASES)}.`,
      owner: `${pick(['ana', 'leo', 'mia', 'zoe', 'ida', 'bo'])}@example.com`,
      team: pick(TEAMS),
      tags: [...new Set([domain, pick(['pii', 'finance', 'internal', 'public', 'gold', 'silver'])])],
      columns: columns.map((c) => ({
        name: c,
        type: c.endsWith('_at') ? 'timestamp' : c === 'amount' || c === 'score' ? 'decimal' : 'string',
      })),
    };
  });
}

const ms = (t0: number) => performance.now() - t0;
const s1 = (msValue: number) => (msValue / 1000).toFixed(1);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { config, clients } = await freshKnowledgeStores(DATABASE, SCHEMA, [healthSchema]);
  const pgq = clients.postgres;

  const embedder = createLocalEmbedder({ modelsDir: config.embeddings.modelsDir });
  const { client, connection } = await connectClient(config);
  const taskQueue = `bench-knowledge-${randomUUID().slice(0, 8)}`;
  // The production knowledge worker entry in its own process, with its own model (loaded on its
  // first page), so its peak RSS is the worker's alone; the bench's embedder measures the bare rate.
  const worker = await startWorkerProcess('knowledge', taskQueue, {
    env: { MYSQL_DATABASE: DATABASE, SPOKEFLOW_VECTOR_SCHEMA: SCHEMA, SPOKEFLOW_EMBEDDING_PROVIDER: 'local' },
  });
  let stopped = false;
  try {
    // --- the catalog -------------------------------------------------------------------------
    let t0 = performance.now();
    const entries = generate(ENTRIES);
    for (let i = 0; i < entries.length; i += 2_000) {
      const chunk = entries.slice(i, i + 2_000);
      await clients.catalog.query(
        'INSERT INTO datasets (name, declaration, source_kind, target_table, owner, team, description, tags, declaration_sha256) VALUES ?',
        [
          chunk.map((e, k) => [
            e.dataset,
            '{}',
            'postgres',
            `bench_kb_${i + k}`,
            e.owner,
            e.team,
            e.description,
            JSON.stringify(e.tags),
            '-',
          ]),
        ],
      );
      await clients.catalog.query(
        'INSERT INTO dataset_columns (dataset, name, ordinal, source_type, canonical_type, mysql_type) VALUES ?',
        [chunk.flatMap((e) => e.columns.map((c, ordinal) => [e.dataset, c.name, ordinal, c.type, c.type, 'TEXT']))],
      );
    }
    console.log(`catalog      ${ENTRIES.toLocaleString('en-US')} generated datasets in MySQL database ${DATABASE} (${s1(ms(t0))} s)`);

    // --- the model alone ---------------------------------------------------------------------
    const texts = entries.slice(0, 1_024).map(buildEntryText);
    const short = Array.from({ length: 512 }, (_, i) => `${pick2(i)} data set number ${i}`);
    await embedder.embed(texts.slice(0, 8)); // load
    const bare = async (xs: string[]) => {
      const t = performance.now();
      for (let i = 0; i < xs.length; i += 64) await embedder.embed(xs.slice(i, i + 64));
      return xs.length / (ms(t) / 1000);
    };
    const bareShort = await bare(short);
    const bareEntries = await bare(texts);
    console.log(
      `model alone  ${bareShort.toFixed(0)} short texts/s; ${bareEntries.toFixed(0)} catalog entry texts/s (about ${Math.round(texts.reduce((n, x) => n + x.length, 0) / texts.length)} characters each), batches of 64`,
    );

    // --- full and incremental refresh ---------------------------------------------------------
    const refresh = async (label: string): Promise<{ result: EmbeddingRefreshResult; seconds: number }> => {
      const t = performance.now();
      const result: EmbeddingRefreshResult = await client.workflow.execute('embeddingRefreshWorkflow', {
        taskQueue,
        workflowId: `bench-embedding-refresh-${label}-${randomUUID().slice(0, 8)}`,
        args: [{}],
      });
      return { result, seconds: ms(t) / 1000 };
    };
    const full = await refresh('full');
    const fullRate = full.result.embedded / full.seconds;
    console.log(
      `full         ${full.result.embedded.toLocaleString('en-US')} entries embedded in ${full.seconds.toFixed(1)} s = ${fullRate.toFixed(0)} entries/s ` +
        `(${((fullRate / bareEntries) * 100).toFixed(0)} % of the model's bare rate on the same texts; ${full.result.pages} pages)`,
    );

    const changed = entries.filter((_, i) => i % 100 === 17);
    t0 = performance.now();
    await clients.catalog.query("UPDATE datasets SET description = CONCAT(description, ' Revised.') WHERE name IN (?)", [
      changed.map((e) => e.dataset),
    ]);
    const incremental = await refresh('incremental');
    console.log(
      `incremental  ${changed.length} changed (1 %): ${incremental.result.embedded} embedded, ${incremental.result.unchanged.toLocaleString('en-US')} unchanged in ` +
        `${incremental.seconds.toFixed(1)} s = ${((incremental.seconds / full.seconds) * 100).toFixed(1)} % of the full refresh (target <= 5 %)`,
    );
    if (incremental.result.embedded !== changed.length)
      throw new Error(`incremental refresh embedded ${incremental.result.embedded}, expected ${changed.length}`);
    const noop = await refresh('unchanged');
    console.log(`unchanged    nothing changed: ${noop.result.embedded} embedded in ${noop.seconds.toFixed(1)} s`);

    // --- search at SEARCH_ENTRIES --------------------------------------------------------------
    const synthetic = Math.max(0, SEARCH_ENTRIES - ENTRIES);
    const { rows: seeds } = await pgq.query<{ embedding: string; team: string; tags: string[] }>(
      `SELECT embedding::text, team, tags FROM "${SCHEMA}".vector_entries ORDER BY dataset_key LIMIT 2000`,
    );
    const seedVectors = seeds.map((r) => Float32Array.from(JSON.parse(r.embedding) as number[]));
    t0 = performance.now();
    await pgq.query(`DROP INDEX "${SCHEMA}".vector_entries_hnsw`);
    const rnd = random(11);
    const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
    for (let i = 0; i < synthetic; i += 2_000) {
      const n = Math.min(2_000, synthetic - i);
      const keys: string[] = [];
      const vectors: string[] = [];
      const teams: string[] = [];
      const tags: string[] = [];
      for (let k = 0; k < n; k++) {
        const seed = (i + k) % seedVectors.length;
        const v = Float32Array.from(seedVectors[seed]!, (x) => x + 0.05 * gauss());
        let norm = 0;
        for (const x of v) norm += x * x;
        for (let d = 0; d < v.length; d++) v[d]! /= Math.sqrt(norm);
        keys.push(`bench_kb.synthetic_${String(i + k).padStart(7, '0')}`);
        vectors.push(vectorLiteral(v));
        teams.push(seeds[seed]!.team);
        tags.push(JSON.stringify(seeds[seed]!.tags));
      }
      await pgq.query(
        `INSERT INTO "${SCHEMA}".vector_entries (dataset_key, text, content_hash, model, model_version, embedding, owner, team, tags, refresh_id)
         SELECT x.k, 'synthetic', repeat('0', 64), $2, $3, x.v::vector, 'bench@example.com', x.t, ARRAY(SELECT jsonb_array_elements_text(x.g::jsonb)), 'synthetic'
         FROM unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS x(k, v, t, g)`,
        [keys, embedder.model, embedder.modelVersion, vectors, teams, tags],
      );
    }
    const loaded = ms(t0);
    t0 = performance.now();
    await pgq.query("SET maintenance_work_mem = '512MB'");
    await pgq.query(`CREATE INDEX vector_entries_hnsw ON "${SCHEMA}".vector_entries USING hnsw (embedding vector_cosine_ops)`);
    await pgq.query(`ANALYZE "${SCHEMA}".vector_entries`);
    const { rows: count } = await pgq.query(`SELECT count(*)::int AS n FROM "${SCHEMA}".vector_entries`);
    console.log(
      `index        ${Number(count[0].n).toLocaleString('en-US')} entries (${synthetic.toLocaleString('en-US')} synthetic vectors: real ones plus noise) ` +
        `loaded in ${s1(loaded)} s, HNSW built in ${s1(ms(t0))} s`,
    );

    const search = createSemanticSearch({ catalog: clients.catalog, postgres: pgq, schema: SCHEMA, embedder });
    const queries = [
      'PII tables used by marketing',
      'customer e-mail addresses',
      'invoices and payments for the monthly close',
      'shipment delays by carrier',
      'salaries of employees',
      'support ticket satisfaction',
      'fraud scores of payments',
      'server alerts',
      'product reviews',
      'subscription refunds in Europe',
    ];
    for (const q of queries) await search.search(q, { limit: 10 }); // warm the cache and the model
    const endToEnd: number[] = [];
    const filtered: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (const q of queries) {
        let t = performance.now();
        await search.search(q, { limit: 10 });
        endToEnd.push(ms(t));
        t = performance.now();
        await search.search(q, { limit: 10, team: TEAMS[round % TEAMS.length] });
        filtered.push(ms(t));
      }
    }
    // The index query alone, and its recall against an exact scan.
    const vectorsOfQueries = await embedder.embed(queries);
    const nearest = `SELECT dataset_key FROM "${SCHEMA}".vector_entries ORDER BY embedding <=> $1::vector LIMIT 10`;
    const inSession = async <T>(settings: string[], work: (c: import('pg').PoolClient) => Promise<T>): Promise<T> => {
      const c = await pgq.connect();
      try {
        await c.query('BEGIN');
        for (const setting of settings) await c.query(setting);
        const result = await work(c);
        await c.query('COMMIT');
        return result;
      } finally {
        c.release();
      }
    };
    const hnsw: Record<number, { ms: number[]; recall: number }> = { 40: { ms: [], recall: 0 }, 100: { ms: [], recall: 0 } };
    for (const v of vectorsOfQueries) {
      const literal = vectorLiteral(v);
      const exact = await inSession(['SET LOCAL enable_indexscan = off'], (c) => c.query(nearest, [literal]));
      const truth = new Set(exact.rows.map((r) => r.dataset_key as string));
      for (const ef of [40, 100]) {
        const { approx, took } = await inSession([`SET LOCAL hnsw.ef_search = ${ef}`], async (c) => {
          const t = performance.now();
          const rows = await c.query(nearest, [literal]);
          return { approx: rows, took: ms(t) };
        });
        hnsw[ef]!.ms.push(took);
        hnsw[ef]!.recall += approx.rows.filter((r) => truth.has(r.dataset_key as string)).length / 10 / queries.length;
      }
    }
    const { rows: plan } = await pgq.query(`EXPLAIN ${nearest}`, [vectorLiteral(vectorsOfQueries[0]!)]);
    const usesIndex = plan.some((r) => String(r['QUERY PLAN']).includes('vector_entries_hnsw'));
    console.log(
      `search       at ${Number(count[0].n).toLocaleString('en-US')} entries, top 10: p50 ${pct(endToEnd, 50).toFixed(1)} ms, p95 ${pct(endToEnd, 95).toFixed(1)} ms end to end ` +
        `(query embedded + HNSW + health join; target <= 50 ms); with a team filter p50 ${pct(filtered, 50).toFixed(1)} ms, p95 ${pct(filtered, 95).toFixed(1)} ms`,
    );
    console.log(
      `             the HNSW query alone${usesIndex ? '' : ' (PLAN DOES NOT USE THE INDEX)'}: ef_search 40 p50 ${pct(hnsw[40]!.ms, 50).toFixed(1)} ms, recall@10 ${hnsw[40]!.recall.toFixed(2)}; ` +
        `ef_search 100 (what search uses) p50 ${pct(hnsw[100]!.ms, 50).toFixed(1)} ms, recall@10 ${hnsw[100]!.recall.toFixed(2)} (against an exact scan)`,
    );
    stopped = true;
    console.log(`${describePeak(taskQueue, await worker.stop(), worker.entry)} (model loaded)`);
  } finally {
    if (!stopped) await worker.stop();
    await connection.close();
    await embedder.close();
    if (!KEEP) {
      await pgq.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
      await clients.catalog.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
      console.log(`cleaned up   dropped MySQL database ${DATABASE} and Postgres schema ${SCHEMA}`);
    }
    await clients.close();
  }
}

function pick2(i: number): string {
  return `${DOMAINS[i % DOMAINS.length]} ${SUBJECTS[i % SUBJECTS.length]}`;
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

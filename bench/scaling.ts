import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { buildEntryText } from '../activities/vectors/entry-text.js';
import { createCatalogEntries } from '../activities/catalog/catalog-entries.js';
import { createLocalEmbedder } from '../activities/vectors/local-model.js';
import type { EmbeddingRefreshResult } from '../common/knowledge.js';
import { connectClient } from '../runtime/temporal.js';
import { freshKnowledgeStores } from './support/knowledge-stores.js';
import { seedCatalog } from './support/synthetic-catalog.js';
import { describePeak, startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

/**
 * npx tsx bench/scaling.ts [entries=2000] [--workers=1,2,4] [--page-size=100] [--parallel-pages=8] [--keep]
 *
 * How one embedding refresh spreads over knowledge workers. In a catalog database and an index
 * schema of its own (dropped at the end unless --keep): seeds `entries` synthetic datasets, embeds
 * their texts with the local model called directly in this process (the bare baseline: no
 * Temporal, no stores), then for each worker count starts that many knowledge worker processes
 * (the production entry, workers/knowledge.ts) on a queue of their own and times a full re-embed
 * of the catalog (`reembed: true`, `parallelPages` pages in flight), printing entries/s beside the
 * core count and the load average. The embedder is the local all-MiniLM-L6-v2 (each process loads
 * its own copy on first use, inside the timed run).
 */
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const ENTRIES = Number(args.find((a) => !a.startsWith('--')) ?? 2_000);
const WORKER_COUNTS = flag('workers', '1,2,4').split(',').map(Number);
const PAGE_SIZE = Number(flag('page-size', '100'));
const PARALLEL_PAGES = Number(flag('parallel-pages', '8'));
const BATCH_SIZE = 64;
const KEEP = args.includes('--keep');
const DATABASE = 'spokeflow_bench_scaling';
const SCHEMA = 'bench_scaling';

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Pages each worker process ran, from the identity (pid@host) on each page's started event. */
async function pagesByProcess(handle: WorkflowHandle): Promise<string> {
  const events = (await handle.fetchHistory()).events ?? [];
  const pageEvents = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refreshPageRange').map((e) => String(e.eventId)),
  );
  const byProcess = new Map<string, number>();
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (!started || !pageEvents.has(String(started.scheduledEventId))) continue;
    const pid = (started.identity ?? '?').split('@')[0]!;
    byProcess.set(pid, (byProcess.get(pid) ?? 0) + 1);
  }
  return [...byProcess].map(([pid, n]) => `pid ${pid}: ${n}`).join(', ');
}

async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { config, clients } = await freshKnowledgeStores(DATABASE, SCHEMA);
  const { client, connection } = await connectClient(config);
  const rows: { label: string; seconds: number; rate: number; load: string; peak?: string; spread?: string }[] = [];
  try {
    await seedCatalog(clients.catalog, ENTRIES, 'scaling');
    const cores = cpus().length;
    console.log(`catalog of ${ENTRIES} entries; ${cores} cores (os.cpus().length); load average ${load()}`);

    // The bare baseline: the same texts through the model in this process, batches of the refresh's size.
    const texts = (await createCatalogEntries(clients.catalog).range(null, null)).map(buildEntryText);
    const embedder = createLocalEmbedder({ modelsDir: config.embeddings.modelsDir });
    try {
      let t0 = performance.now();
      await embedder.embed(texts.slice(0, 1));
      console.log(`model loaded in ${seconds(t0).toFixed(1)} s (once per process; inside each timed refresh below)`);
      t0 = performance.now();
      for (let i = 0; i < texts.length; i += BATCH_SIZE) await embedder.embed(texts.slice(i, i + BATCH_SIZE));
      const s = seconds(t0);
      rows.push({ label: 'bare model, this process', seconds: s, rate: texts.length / s, load: load() });
    } finally {
      await embedder.close();
    }

    for (const count of WORKER_COUNTS) {
      const taskQueue = `bench-scaling-${count}-${randomUUID().slice(0, 6)}`;
      const env = { MYSQL_DATABASE: DATABASE, SPOKEFLOW_VECTOR_SCHEMA: SCHEMA };
      const workers: WorkerProcess[] = await Promise.all(
        Array.from({ length: count }, () => startWorkerProcess('knowledge', taskQueue, { env })),
      );
      let peaks: { peakRssMiB: number; idleRssMiB: number }[] = [];
      try {
        const t0 = performance.now();
        const workflowId = `bench-scaling-${count}-${randomUUID().slice(0, 8)}`;
        const result: EmbeddingRefreshResult = await client.workflow.execute('embeddingRefreshWorkflow', {
          taskQueue,
          workflowId,
          args: [{ pageSize: PAGE_SIZE, batchSize: BATCH_SIZE, parallelPages: PARALLEL_PAGES, reembed: true }],
        });
        const s = seconds(t0);
        if (result.embedded !== ENTRIES) throw new Error(`the refresh embedded ${result.embedded} of ${ENTRIES} entries`);
        const spread = await pagesByProcess(client.workflow.getHandle(workflowId));
        rows.push({ label: `${count} worker process${count > 1 ? 'es' : ''}`, seconds: s, rate: ENTRIES / s, load: load(), spread });
      } finally {
        peaks = await Promise.all(workers.map((w) => w.stop()));
      }
      rows.at(-1)!.peak = peaks.map((p, i) => describePeak(`#${i + 1}`, p)).join('; ');
    }

    const bare = rows[0]!.rate;
    console.log(
      `\n${'run'.padEnd(26)} ${'seconds'.padStart(8)} ${'entries/s'.padStart(10)} ${'vs bare'.padStart(8)}  load average (1 5 15 min) after`,
    );
    for (const r of rows)
      console.log(
        `${r.label.padEnd(26)} ${r.seconds.toFixed(1).padStart(8)} ${r.rate.toFixed(1).padStart(10)} ${(r.rate / bare).toFixed(2).padStart(8)}  ${r.load}`,
      );
    console.log(
      `cores: ${cpus().length}; pages of ${PAGE_SIZE}, ${PARALLEL_PAGES} in flight, batches of ${BATCH_SIZE}; model all-MiniLM-L6-v2 (local, int8 ONNX)`,
    );
    for (const r of rows) if (r.peak) console.log(`${r.label}: pages per process ${r.spread}; ${r.peak}`);
  } finally {
    await connection.close();
    if (!KEEP) {
      await clients.postgres.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
      await clients.catalog.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
    }
    await clients.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

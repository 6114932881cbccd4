import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { PipelineResult, PipelineSpecInput } from '../common/pipeline/spec.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { pipelinePlugin } from '../workers/pipeline-plugin.js';
import { connectClient, connectWorker } from '../runtime/temporal.js';

/**
 * npm run bench:dag [rounds]: wall times of pipelines on the dev server, beside a plain Temporal
 * chain of the same work: 40 sequential nodes of 10 ms (as local activities: the runner's way
 * for cheap steps; and as ordinary activities), a 1,000-wide for-each 50 at a time, and a plain
 * workflow running 40 activities of 10 ms one after another.
 */
const ROUNDS = Number(process.argv[2] ?? 3);
const STEP_MS = 10;
const CHAIN = 40;
const WIDE = 1_000;
const CAP = 50;

const work = async ({ ms }: { ms: number }) => {
  await new Promise((r) => setTimeout(r, ms));
  return { ms };
};

function sequential(local: boolean, batch = false): PipelineSpecInput {
  return {
    id: `bench-seq-${local ? 'local' : 'remote'}${batch ? '-batch' : ''}`,
    batch_local: batch,
    modules: Array.from({ length: CHAIN }, (_, i) => ({
      id: `step${i}`,
      ...(i > 0 ? { after: [`step${i - 1}`] } : {}),
      value: { type: 'activity' as const, name: 'work', local, input_transforms: { ms: { type: 'static' as const, value: STEP_MS } } },
    })),
  };
}

function wide(local: boolean): PipelineSpecInput {
  return {
    id: `bench-wide-${local ? 'local' : 'remote'}`,
    input: { items: Array.from({ length: WIDE }, (_, i) => i) },
    modules: [
      {
        id: 'each',
        value: {
          type: 'forloopflow',
          iterator: { type: 'expr', expr: 'input.items' },
          parallel: true,
          parallelism: CAP,
          modules: [
            { id: 'one', value: { type: 'activity', name: 'work', local, input_transforms: { ms: { type: 'static', value: STEP_MS } } } },
          ],
        },
      },
    ],
  };
}

async function run(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const clients = createClients(config);
  const { client, connection } = await connectClient(config);
  const workerConnection = await connectWorker(config);
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `bench-dag-${tag}`;
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./support/dag-workflows.ts', import.meta.url)),
    plugins: [pipelinePlugin({ config, clients, registerWorkflows: false, activities: { work } })],
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
  });

  let n = 0;
  const time = async (what: () => Promise<unknown>): Promise<number> => {
    const t = performance.now();
    await what();
    return (performance.now() - t) / 1000;
  };
  const pipeline = (spec: PipelineSpecInput) => () =>
    client.workflow.execute('pipelineWorkflow', {
      taskQueue,
      workflowId: `bench-dag-${tag}-${++n}`,
      args: [spec],
    }) as Promise<PipelineResult>;
  const plain = () => client.workflow.execute('plainChain', { taskQueue, workflowId: `bench-chain-${tag}-${++n}`, args: [CHAIN, STEP_MS] });
  const plainLocal = () =>
    client.workflow.execute('plainLocalChain', { taskQueue, workflowId: `bench-chain-${tag}-${++n}`, args: [CHAIN, STEP_MS] });

  const cases: [string, () => Promise<unknown>][] = [
    [`pipeline: ${CHAIN} sequential nodes of ${STEP_MS} ms, local activities`, pipeline(sequential(true))],
    [`pipeline: ${CHAIN} sequential nodes of ${STEP_MS} ms, local, batch_local (one local activity)`, pipeline(sequential(true, true))],
    [`pipeline: ${CHAIN} sequential nodes of ${STEP_MS} ms, ordinary activities`, pipeline(sequential(false))],
    [`plain Temporal: chain of ${CHAIN} activities of ${STEP_MS} ms`, plain],
    [`plain Temporal: chain of ${CHAIN} local activities of ${STEP_MS} ms`, plainLocal],
    [`pipeline: for-each over ${WIDE} items, ${CAP} at a time, local activities of ${STEP_MS} ms`, pipeline(wide(true))],
    [`pipeline: for-each over ${WIDE} items, ${CAP} at a time, ordinary activities of ${STEP_MS} ms`, pipeline(wide(false))],
    [
      `plain Temporal: ${WIDE} activities of ${STEP_MS} ms, ${CAP} at a time`,
      () => client.workflow.execute('plainFanOut', { taskQueue, workflowId: `bench-fanout-${tag}-${++n}`, args: [WIDE, CAP, STEP_MS] }),
    ],
  ];

  const running = worker.run();
  await Promise.race([
    running,
    (async () => {
      // Warm up: the workflow bundle's first load and the task queue's first poll are not what we measure.
      await pipeline({ id: 'bench-warmup', modules: [{ id: 'w', value: { type: 'activity', name: 'work', local: true } }] })();
      await client.workflow.execute('plainChain', { taskQueue, workflowId: `bench-chain-${tag}-warmup`, args: [1, 1] });
      const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, what] of cases) times.get(name)!.push(await time(what));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(
        `bench:dag on ${config.temporal.address}, ${ROUNDS} rounds (median, then every round), compute floor of ${CHAIN} × ${STEP_MS} ms = ${((CHAIN * STEP_MS) / 1000).toFixed(2)} s`,
      );
      for (const [name] of cases) {
        const xs = times.get(name)!;
        console.log(`  ${name.padEnd(86)} ${median(xs).toFixed(2)} s  [${xs.map((x) => x.toFixed(2)).join(', ')}]`);
      }
      const seq = median(times.get(cases[0]![0])!);
      const batched = median(times.get(cases[1]![0])!);
      const chain = median(times.get(cases[3]![0])!);
      const localChain = median(times.get(cases[4]![0])!);
      console.log(
        `  ${CHAIN} sequential nodes: ${(seq / ((CHAIN * STEP_MS) / 1000)).toFixed(2)}× the compute floor (target ≤ 1.5×), ` +
          `${(chain / seq).toFixed(2)}× faster than the plain chain (target ≥ 2×), ${(seq / localChain).toFixed(2)}× a plain local-activity chain`,
      );
      console.log(
        `  ${CHAIN} sequential nodes with batch_local: ${(batched / ((CHAIN * STEP_MS) / 1000)).toFixed(2)}× the compute floor, ${(chain / batched).toFixed(2)}× faster than the plain chain`,
      );
      worker.shutdown();
    })(),
  ]);
  await running;
  await workerConnection.close();
  await connection.close();
  await clients.close();
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

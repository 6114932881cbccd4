import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../support/harness.js';
import { exitOf, polling } from '../support/worker-process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The README's "load a domain into your own worker" snippet, byte for byte (checked below). */
const WORKER_SNIPPET = `import { NativeConnection, Worker } from '@temporalio/worker';
import { ingestionPlugin } from 'spokeflow/plugins';

// The project's own activities, registered beside the plugin's.
const activities = { greet: async (name) => \`hello, \${name}\` };

const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
const worker = await Worker.create({
  connection,
  taskQueue: process.env.TASK_QUEUE ?? 'spokeflow-ingestion',
  activities,
  plugins: [ingestionPlugin()],
});
console.log('worker polling');
await worker.run();
`;

/**
 * A fresh project with the packed tarball unpacked as node_modules/spokeflow; its dependencies are
 * symlinks to the repository's node_modules (installing them from the registry would take minutes).
 */
function installTarball(dir: string, tarball: string): void {
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry === 'spokeflow' || entry.startsWith('.')) continue;
    symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  execFileSync('tar', ['-xzf', tarball, '-C', modules]);
  renameSync(path.join(modules, 'package'), path.join(modules, 'spokeflow'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-platform-worker', private: true, type: 'module' }));
  writeFileSync(path.join(dir, 'worker.mjs'), WORKER_SNIPPET);
}

describe('the packed package in a project of its own', () => {
  let h: Harness;
  let worker: ChildProcess | undefined;
  const work = mkdtempSync(path.join(tmpdir(), 'spokeflow-pack-'));
  const app = path.join(work, 'app');
  const tag = `t${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    // The build first (its log on stderr), then the pack of what it made.
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const pack = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
    const [packed] = JSON.parse(pack) as { filename: string }[];
    installTarball(app, path.join(work, packed!.filename));
  }, 120_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await exitOf(worker);
    }
    rmSync(work, { recursive: true, force: true });
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.pack_${tag}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`pack_${tag}\``);
    await h.close();
  });

  it('is what the README tells a platform team to write', () => {
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('```js\n' + WORKER_SNIPPET + '```');
  });

  it('runs a sync on a plain-node worker that loads the ingestion plugin beside its own activity', async () => {
    worker = spawn(process.execPath, ['worker.mjs'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TASK_QUEUE: h.taskQueue },
    });
    worker.stderr?.on('data', (d: Buffer) => process.stderr.write(`[packed worker] ${d.toString()}`));
    await polling(worker, 'worker polling'); // what the README's snippet prints

    await h.postgres.query(`CREATE TABLE public.pack_${tag} AS SELECT g AS id, now() AS at FROM generate_series(1, 1200) g`);
    await h.declarePublicTable(`pack.${tag}`, `pack_${tag}`);
    await h.client.workflow.execute('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-pack-${tag}`,
      args: [{ dataset: `pack.${tag}`, pageRows: 500 }],
    });
    const [rows] = await h.warehouse.query(`SELECT COUNT(*) AS n FROM \`pack_${tag}\``);
    expect(Number((rows as { n: number | string }[])[0]!.n)).toBe(1200);
  }, 60_000);

  it('replays a recorded sync history against the prebuilt workflow bundles it ships, traced or not', async () => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/sync-history.json'), 'utf8')));
    for (const bundle of ['spokeflow.js', 'spokeflow-traced.js']) {
      const codePath = path.join(app, 'node_modules/spokeflow/dist/workflow-bundles', bundle);
      // The span sink a tracing worker has (the untraced bundle never calls it).
      const sinks = { exporter: { export: { fn: () => undefined } } };
      await Worker.runReplayHistory({ workflowBundle: { codePath }, sinks }, history, `recorded-sync ${bundle}`);
    }
  });
});

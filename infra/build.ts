import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from '../workers/plugin-options.js';

// `npm run build`: the package's dist/ — compiled ESM with its types, the plain-JS files the code
// loads at run time, and the pack's workflows bundled once so that production workers skip webpack.
const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** Folders compiled into dist/ (tsconfig.build.json) whose non-TypeScript files the code loads. */
const RUNTIME_FILES = { dirs: ['activities', 'common', 'workflows', 'workers', 'runtime', 'schedules', 'cli'], ext: ['.mjs', '.cjs'] };

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

async function timed<T>(step: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const result = await work();
  console.log(`${step}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

async function run(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await timed('tsc', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`tsc failed (exit ${result.status})`);
  });
  await timed('runtime files', async () => {
    for (const dir of RUNTIME_FILES.dirs) {
      for (const file of await filesUnder(dir)) {
        if (!RUNTIME_FILES.ext.includes(path.extname(file))) continue;
        await mkdir(path.dirname(path.join(DIST, file)), { recursive: true });
        await copyFile(path.join(ROOT, file), path.join(DIST, file));
      }
    }
  });
  // Two bundles: a worker that traces (OTLP configured) loads the one with the OpenTelemetry interceptors.
  for (const [file, traced] of [
    ['spokeflow.js', false],
    ['spokeflow-traced.js', true],
  ] as const) {
    await timed(`workflow bundle ${file}`, async () => {
      const { code } = await bundleWorkflowCode({ ...workflowBundleOptions({ traced }), logger: new DefaultLogger('WARN') });
      await mkdir(path.join(DIST, 'workflow-bundles'), { recursive: true });
      await writeFile(path.join(DIST, 'workflow-bundles', file), code);
    });
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

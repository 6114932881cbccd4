import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Domain } from '../../common/task-queues.js';

/** A domain worker in its own process, as production runs it, with its resident memory sampled. */
export interface WorkerProcess {
  readonly pid: number;
  readonly taskQueue: string;
  /** What was started: `dist` (`node dist/workers/<domain>.js`, as the image runs it) or `source` (tsx). */
  readonly entry: WorkerEntry;
  /** Resident set once the worker polls, before any load. */
  readonly idleRssMiB: number;
  /** Resident set now (MiB); undefined once the process has gone. */
  rssMiB(): number | undefined;
  /** CPU time (user + system, all threads) the process has used so far, in seconds; undefined once it has gone. */
  cpuSeconds(): number | undefined;
  /** SIGTERM (the worker drains), then the peak: max of the 100 ms VmRSS samples and the kernel's VmHWM. */
  stop(): Promise<{ peakRssMiB: number; idleRssMiB: number }>;
}

/**
 * `dist`: the compiled entry with plain node and the prebuilt workflow bundle (`npm run build`),
 * exactly what the image runs; `source`: the TypeScript entry through tsx, which bundles the
 * workflows with webpack at start (the dev path: ~200 MiB more, see README "Worker memory").
 */
export type WorkerEntry = 'dist' | 'source';

const KIB_PER_MIB = 1024;
/** USER_HZ: 100 on every Linux ABI Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Folders compiled into dist/: a source file newer than the build means dist/ is stale. */
const SOURCE_DIRS = ['activities', 'common', 'workflows', 'workers', 'runtime'];

/** VmRSS / VmHWM of a live process in MiB; undefined once it has gone. */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / KIB_PER_MIB : undefined;
  } catch {
    return undefined;
  }
}

function newestSourceMs(): number {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })) {
      if (e.isFile() && e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
    }
  }
  return newest;
}

/**
 * The V8 flags the worker image sets (the Dockerfile's `NODE_OPTIONS`), so that a benchmark's
 * worker runs with the heap limits production has. SPOKEFLOW_BENCH_WORKER_NODE_OPTIONS overrides
 * them for an experiment ('' for node's defaults).
 */
export function imageNodeOptions(): string {
  const override = process.env.SPOKEFLOW_BENCH_WORKER_NODE_OPTIONS;
  if (override !== undefined) return override;
  const match = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  return match?.[1] ?? '';
}

/** utime + stime of a live process in seconds (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name in parentheses may hold spaces
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The compiled entry of `domain` when `npm run build` made it after the last source change, else why not. */
export function builtEntry(domain: Domain): { path: string } | { stale: string } {
  const entry = path.join(ROOT, 'dist', 'workers', `${domain}.js`);
  const bundle = path.join(ROOT, 'dist', 'workflow-bundles', 'spokeflow.js');
  if (!existsSync(entry) || !existsSync(bundle)) return { stale: 'dist/ has no build' };
  if (statSync(bundle).mtimeMs < newestSourceMs()) return { stale: 'dist/ is older than the sources' };
  return { path: entry };
}

/**
 * Starts a domain's worker polling `taskQueue` (through SPOKEFLOW_TASK_QUEUE) in its own process and
 * resolves once it says it polls. By default the production entry, `node dist/workers/<domain>.js`,
 * when `npm run build` is up to date; otherwise (or with `entry: 'source'`) `workers/<domain>.ts`
 * through tsx, with a warning, since that is not what production runs.
 */
export async function startWorkerProcess(
  domain: Domain,
  taskQueue: string,
  options: { env?: NodeJS.ProcessEnv; nodeOptions?: string[]; entry?: WorkerEntry } = {},
): Promise<WorkerProcess> {
  let entry: WorkerEntry = options.entry ?? 'dist';
  let args: string[];
  const built = entry === 'dist' ? builtEntry(domain) : undefined;
  if (built && 'path' in built) {
    args = [built.path];
  } else {
    if (built) console.warn(`worker ${domain}: ${built.stale} (run \`npm run build\`): measuring the tsx source entry instead`);
    entry = 'source';
    args = ['--import', 'tsx', fileURLToPath(new URL(`../../workers/${domain}.ts`, import.meta.url))];
  }
  // The image's heap limits are sized for the prebuilt bundle: the source entry webpack-bundles the
  // workflows at start, which does not fit them, so it gets node's defaults (or the override).
  const nodeOptions = entry === 'dist' ? imageNodeOptions() : (process.env.SPOKEFLOW_BENCH_WORKER_NODE_OPTIONS ?? '');
  // A variable given as undefined in `options.env` is left out: the worker sees it unset.
  const env = Object.fromEntries(
    Object.entries({ ...process.env, NODE_OPTIONS: nodeOptions, ...options.env, SPOKEFLOW_TASK_QUEUE: taskQueue }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeOptions ?? []), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`worker ${domain} did not start`);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('spokeflow workers polling')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`worker ${domain} exited (${code}) before polling:\n${output.slice(-2000)}`)));
  });
  const idleRssMiB = statusMiB(pid, 'VmRSS') ?? 0;
  let peakRssMiB = idleRssMiB;
  const sampler = setInterval(() => {
    peakRssMiB = Math.max(peakRssMiB, statusMiB(pid, 'VmRSS') ?? 0);
  }, 100);
  return {
    pid,
    taskQueue,
    entry,
    idleRssMiB,
    rssMiB: () => statusMiB(pid, 'VmRSS'),
    cpuSeconds: () => cpuSecondsOf(pid),
    async stop() {
      clearInterval(sampler);
      // High-water mark read while the process still exists: it covers peaks between samples.
      peakRssMiB = Math.max(peakRssMiB, statusMiB(pid, 'VmHWM') ?? 0);
      child.kill('SIGTERM');
      await exited;
      return { peakRssMiB, idleRssMiB };
    },
  };
}

/** The line every benchmark prints for the worker it measured. */
export function describePeak(taskQueue: string, peak: { peakRssMiB: number; idleRssMiB: number }, entry?: WorkerEntry): string {
  const how = entry ? ` [${entry === 'dist' ? 'node dist/ entry, prebuilt bundle' : 'tsx source entry, webpack at start'}]` : '';
  return `worker ${taskQueue} peak RSS ${Math.round(peak.peakRssMiB)} MiB (idle ${Math.round(peak.idleRssMiB)} MiB)${how}`;
}

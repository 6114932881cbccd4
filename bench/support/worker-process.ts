import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Domain } from '../../common/task-queues.js';

/** A domain worker in its own process, as production runs it, with its resident memory sampled. */
export interface WorkerProcess {
  readonly pid: number;
  readonly taskQueue: string;
  /** Resident set once the worker polls, before any load. */
  readonly idleRssMiB: number;
  /** SIGTERM (the worker drains), then the peak: max of the 100 ms VmRSS samples and the kernel's VmHWM. */
  stop(): Promise<{ peakRssMiB: number; idleRssMiB: number }>;
}

const KIB_PER_MIB = 1024;

/** VmRSS / VmHWM of a live process in MiB; undefined once it has gone. */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / KIB_PER_MIB : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `workers/<domain>.ts` (the production entry) polling `taskQueue` through
 * SPOKEFLOW_TASK_QUEUE, and resolves once it says it polls.
 */
export async function startWorkerProcess(
  domain: Domain,
  taskQueue: string,
  options: { env?: NodeJS.ProcessEnv; nodeOptions?: string[] } = {},
): Promise<WorkerProcess> {
  const entry = fileURLToPath(new URL(`../../workers/${domain}.ts`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeOptions ?? []), '--import', 'tsx', entry], {
    env: { ...process.env, ...options.env, SPOKEFLOW_TASK_QUEUE: taskQueue },
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
    idleRssMiB,
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
export function describePeak(taskQueue: string, peak: { peakRssMiB: number; idleRssMiB: number }): string {
  return `worker ${taskQueue} peak RSS ${Math.round(peak.peakRssMiB)} MiB (idle ${Math.round(peak.idleRssMiB)} MiB)`;
}

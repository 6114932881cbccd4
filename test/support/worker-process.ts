import { spawn, type ChildProcess } from 'node:child_process';

/** A real ingestion worker process (the production bootstrap) on a test's own task queue. */
export function startWorkerProcess(taskQueue: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/ingestion-worker.ts', taskQueue], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[worker ${child.pid}] ${d.toString()}`));
  return child;
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Resolves once the worker prints `marker` (ours: its bundle is built and it takes tasks). */
export function polling(child: ChildProcess, marker = 'spokeflow workers polling'): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(marker)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling`)));
  });
}

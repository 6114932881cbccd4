import { Worker, type Transferable } from 'node:worker_threads';

const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

interface Reply<R> {
  id: number;
  result?: R;
  error?: string;
}

/**
 * One worker thread that runs jobs of one kind (`module` serves them with `serveJobs`), so that
 * CPU-heavy work leaves the activity's event loop free for I/O: on two cores that is much of a
 * sync's or a scan's speed. Replies are matched to jobs by id; if the thread dies, every job
 * waiting on it fails, and the next job starts a new one.
 */
export function createJobThread<Job, Result>(module: URL, what: string, options: { eager?: boolean } = {}) {
  let thread: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();

  function start(): Worker {
    const worker = new Worker(ENTRY, { workerData: { module: module.href } });
    worker.unref(); // an idle thread never keeps the process alive
    worker.on('message', (reply: Reply<Result>) => {
      const job = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (!job) return;
      if (reply.error !== undefined) job.reject(new Error(`${what} failed: ${reply.error}`));
      else job.resolve(reply.result as Result);
    });
    const failAll = (err: Error) => {
      thread = undefined;
      for (const job of waiting.values()) job.reject(err);
      waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`${what} thread exited with code ${code}`)));
    return worker;
  }

  // Loading the thread's code takes a moment that a first job need not wait for.
  if (options.eager) thread = start();

  return {
    run(job: Job, transfer: Transferable[] = []): Promise<Result> {
      thread ??= start();
      const id = nextId++;
      const result = new Promise<Result>((resolve, reject) => waiting.set(id, { resolve, reject }));
      thread.postMessage({ id, job }, transfer);
      return result;
    },
    async close(): Promise<void> {
      const t = thread;
      thread = undefined;
      if (t) await t.terminate();
    },
  };
}

/** The thread side: answers each job with `handle`'s result (and the buffers to move, not copy). */
export async function serveJobs<Job, Result>(handle: (job: Job) => { result: Result; transfer?: Transferable[] }): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  parentPort!.on('message', ({ id, job }: { id: number; job: Job }) => {
    try {
      const { result, transfer } = handle(job);
      parentPort!.postMessage({ id, result } satisfies Reply<Result>, transfer ?? []);
    } catch (err) {
      parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply<Result>);
    }
  });
}

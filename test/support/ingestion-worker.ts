import { runWorkers } from '../../workers/bootstrap.js';

// A real worker process on a test's own task queue, for tests that kill it.
const taskQueue = process.argv[2];
if (!taskQueue) throw new Error('usage: ingestion-worker.ts <task queue>');
runWorkers(['ingestion'], { workerOptions: { taskQueue } }).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { DigestStep } from '../../activities/notify/digest.js';
import { loadConfig } from '../../runtime/config.js';
import { notificationsPlugin } from '../../workers/notifications-plugin.js';
import { connectWorker } from '../../runtime/temporal.js';

// A real notifications worker process on a test's own task queue that kills itself (SIGKILL: no
// cleanup, no graceful shutdown) the first time a digest page reaches `crashAt`.
const [taskQueue, crashAt, chunkSize] = process.argv.slice(2);
if (!taskQueue || !crashAt) throw new Error('usage: notifications-worker.ts <task queue> <claimed|sending|sent|completed> [chunk size]');

async function run(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const connection = await connectWorker(config);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueue!,
    plugins: [
      notificationsPlugin({
        config,
        digestChunkSize: Number(chunkSize ?? 50),
        onDigestStep: (step: DigestStep) => {
          if (step === crashAt) {
            console.log(`crashing at ${step}`);
            process.kill(process.pid, 'SIGKILL');
          }
        },
      }),
    ],
  });
  console.log(`spokeflow workers polling ${taskQueue}`);
  await worker.run();
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

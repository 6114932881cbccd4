import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../common/task-queues.js';
import { describePeak, startWorkerProcess, type WorkerProcess } from '../../bench/support/worker-process.js';
import { openHarness, type Harness } from '../support/harness.js';

/** Pollers Temporal has seen on a workflow task queue. */
async function pollersOf(h: Harness, taskQueue: string): Promise<number> {
  const response = await h.client.workflowService.describeTaskQueue({
    namespace: h.config.temporal.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // workflow
  });
  return response.pollers?.length ?? 0;
}

describe('SPOKEFLOW_TASK_QUEUE (a domain worker entry on a test queue)', () => {
  const taskQueue = `test-quality-${randomUUID().slice(0, 8)}`;
  let h: Harness;
  let worker: WorkerProcess;

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    worker = await startWorkerProcess('quality', taskQueue);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('polls the configured queue, and its RSS is sampled from its own process', async () => {
    let pollers = 0;
    for (let i = 0; i < 50 && pollers === 0; i++) {
      pollers = await pollersOf(h, taskQueue);
      if (pollers === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pollers).toBeGreaterThan(0);
    expect(worker.pid).not.toBe(process.pid);
    const peak = await worker.stop();
    expect(peak.idleRssMiB).toBeGreaterThan(0);
    expect(peak.peakRssMiB).toBeGreaterThanOrEqual(peak.idleRssMiB);
    expect(describePeak(taskQueue, peak)).toMatch(new RegExp(`^worker ${taskQueue} peak RSS \\d+ MiB \\(idle \\d+ MiB\\)$`));
    expect(taskQueue).not.toBe(TaskQueue.quality);
  }, 60_000);
});

import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';

// The yardstick of bench/backfill.ts: plain Temporal fan-out with no spokeflow in it.
const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function oneActivityChild(): Promise<void> {
  await noop();
}

/** Runs `total` one-activity children, `width` at a time. */
export async function childFanOut(total: number, width: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      await executeChild(oneActivityChild, { workflowId: `${workflowInfo().workflowId}-child-${i}` });
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
}

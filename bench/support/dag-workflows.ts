import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

// The bench worker's workflow module: spokeflow's workflows plus the yardstick of bench/dag.ts.
export * from '../../workflows/index.js';

const { work } = proxyActivities<{ work(input: { ms: number }): Promise<{ ms: number }> }>({ startToCloseTimeout: '1 minute' });

/** Plain Temporal, no spokeflow in it: `count` activities one after another. */
export async function plainChain(count: number, ms: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < count; i++) done += (await work({ ms })).ms > 0 ? 1 : 0;
  return done;
}

const local = proxyLocalActivities<{ work(input: { ms: number }): Promise<{ ms: number }> }>({ startToCloseTimeout: '1 minute' });

/** The same chain as local activities: the floor a runner using local activities can reach. */
export async function plainLocalChain(count: number, ms: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < count; i++) done += (await local.work({ ms })).ms > 0 ? 1 : 0;
  return done;
}

/** Plain Temporal fan-out: `total` activities, `width` at a time. */
export async function plainFanOut(total: number, width: number, ms: number): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < total) {
      next++;
      await work({ ms });
      done++;
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return done;
}

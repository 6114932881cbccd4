/**
 * Bounded parallelism: `work` runs on every item, at most `lanes` at once, items taken in order.
 * Pure promises, so workflows may use it as well as activities. The first failure rejects the
 * whole; lanes already running finish their current item. `stopWhen` (checked before each item)
 * lets a workflow stop taking items, e.g. once continue-as-new is suggested.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  work: (item: T, index: number) => Promise<void>,
  options: { stopWhen?: () => boolean } = {},
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !options.stopWhen?.()) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

/** Consecutive slices of `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

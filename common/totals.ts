/** Counters of a run (rows, series, sends …): one shape of helper for every kind of totals. Workflow-safe. */

type Counts<K extends string> = Record<K, number>;

/** Adds the listed counts only: `into` may be a progress record with more in it. */
export function addCounts<K extends string>(into: Counts<K>, more: Counts<K>, keys: readonly K[]): void {
  for (const k of keys) into[k] += more[k];
}

/** Just the listed counts of a record that may carry more (a progress record, a page result). */
export function pickCounts<K extends string>(from: Counts<K>, keys: readonly K[]): Counts<K> {
  const out = {} as Counts<K>;
  for (const k of keys) out[k] = from[k];
  return out;
}

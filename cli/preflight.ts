import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { TaskQueue, type Domain } from '../common/task-queues.js';

/**
 * What `spokeflow run` and `spokeflow backfill` check before they start anything, so that a typo
 * in a dataset name or a worker nobody started is said at once, not found in the Web UI later.
 */

/** Edit distance of two names (insert, delete, substitute, swap of neighbours). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The declared names a mistyped one most likely meant: a few letters off (a third of its length
 * at most), or the same table under another schema; closest first.
 */
export function closeNames(name: string, known: readonly string[], max = 3): string[] {
  const table = name.slice(name.lastIndexOf('.') + 1);
  return known
    .map((k) => ({ k, d: distance(name, k), sameTable: k.slice(k.lastIndexOf('.') + 1) === table }))
    .filter(({ d, sameTable }) => sameTable || d <= Math.max(1, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map(({ k }) => k);
}

/** Why a run would fail on its first step because a dataset is not in the catalog, or undefined. */
export async function undeclaredDatasets(catalog: Pool, names: readonly string[]): Promise<string | undefined> {
  let declared: string[];
  try {
    const [rows] = await catalog.query<RowDataPacket[]>('SELECT name FROM datasets');
    declared = rows.map((r) => String(r.name));
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_TABLE')
      declared = []; // a catalog never migrated holds nothing
    else throw err;
  }
  const missing = names.filter((n) => !declared.includes(n));
  if (missing.length === 0) return undefined;
  return missing
    .map((n) => {
      const close = closeNames(n, declared);
      const hint = close.length > 0 ? `did you mean ${close.join(', ')}?` : 'declare it with `spokeflow datasets apply <file>`';
      return `unknown dataset "${n}": ${hint} (\`spokeflow datasets list\` shows the catalog)`;
    })
    .join('; ');
}

// The API's enum values (temporal.api.enums.v1), which @temporalio/client does not re-export.
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** Why a run would sit in its task queue with no worker to take it, or undefined. */
export async function noWorkerPolling(client: Client, namespace: string, taskQueue: string, domain: Domain): Promise<string | undefined> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  if ((pollers ?? []).length > 0) return undefined;
  const start =
    taskQueue === TaskQueue[domain]
      ? `start one with \`npm run worker:${domain}\` (or \`npm run worker\` for every domain)`
      : 'start its worker';
  return `no worker polls the task queue ${taskQueue}: ${start}, or pass --no-wait to start the run anyway and let it wait for one`;
}

import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** The workflow module of pipeline tests: spokeflow's workflows and a child workflow of "another team". */
export const PIPELINE_TEST_WORKFLOWS = fileURLToPath(new URL('./pipeline-workflows.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundled once per test file: the dev-server and time-skipping workers share it. */
export function pipelineTestBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: PIPELINE_TEST_WORKFLOWS, logger: new DefaultLogger('WARN') });
  return bundle;
}

/**
 * Activities of "another team" that pipeline specs call by name, recording what they saw: calls
 * per label, the input of each, and how many ran at once.
 */
export function createTestActivities() {
  const calls: { label: string; input: unknown }[] = [];
  const failures = new Map<string, number>();
  let running = 0;
  let maxRunning = 0;
  const count = (label: string) => calls.filter((c) => c.label === label).length;
  return {
    calls,
    count,
    maxRunning: () => maxRunning,
    resetConcurrency: () => {
      maxRunning = 0;
    },
    activities: {
      /** Records the call and returns `{ label, value }` after `ms` milliseconds. */
      async record(input: { label: string; value?: unknown; ms?: number }) {
        calls.push({ label: input.label, input });
        running++;
        maxRunning = Math.max(maxRunning, running);
        try {
          if (input.ms) await new Promise((r) => setTimeout(r, input.ms));
          return { label: input.label, value: input.value ?? null };
        } finally {
          running--;
        }
      },
      async add(input: { a: number; b: number }) {
        return { sum: input.a + input.b };
      },
      /** Fails (for good) when told to. */
      async maybeFail(input: { label: string; fail: boolean }) {
        calls.push({ label: input.label, input });
        if (input.fail) throw ApplicationFailure.nonRetryable(`${input.label} failed as asked`, 'TestFailure');
        return { label: input.label };
      },
      /** Fails with a retryable error its first `times` calls per key. */
      async flaky(input: { key: string; times: number }) {
        const n = (failures.get(input.key) ?? 0) + 1;
        failures.set(input.key, n);
        calls.push({ label: `flaky:${input.key}`, input });
        if (n <= input.times) throw new Error(`flaky ${input.key} attempt ${n}`);
        return { attempts: n };
      },
      async huge() {
        return { blob: 'x'.repeat(100_000) };
      },
      // A checks node's child (qualityChecksWorkflow): one dataset, its checks passing.
      async planChecks({ input }: { input: { dataset?: string } }) {
        return { datasets: input.dataset ? [input.dataset] : [] };
      },
      async runDatasetChecks({ dataset }: { dataset: string }) {
        return { dataset, checks: 2, passed: 2, failed: 0, errored: 0, blockingFailed: [], failedIds: [] };
      },
    },
  };
}

/**
 * A spec that uses every node kind, for the replay test and its recorded history: whoever runs it
 * approves `go` through the `approve` update once it waits.
 */
export function everyKindSpec(id: string, taskQueue: string) {
  const value = (v: unknown) => ({ type: 'static' as const, value: v });
  const expr = (e: string) => ({ type: 'expr' as const, expr: e });
  return {
    id,
    input: { items: [1, 2, 3, 4], size: 20 },
    task_queues: { quality: taskQueue },
    modules: [
      {
        id: 'local',
        value: { type: 'activity' as const, name: 'record', local: true, input_transforms: { label: value('local'), value: value(1) } },
      },
      {
        id: 'remote',
        value: {
          type: 'activity' as const,
          name: 'record',
          task_queue: taskQueue,
          input_transforms: { label: value('remote'), value: value(2) },
        },
      },
      {
        id: 'each',
        value: {
          type: 'forloopflow' as const,
          iterator: expr('input.items'),
          parallel: true,
          parallelism: 2,
          modules: [
            {
              id: 'plus',
              value: { type: 'activity' as const, name: 'add', input_transforms: { a: expr('item'), b: expr('nodes.local.value') } },
            },
          ],
        },
      },
      {
        id: 'route',
        value: {
          type: 'branchone' as const,
          branches: [
            {
              expr: 'input.size > 10',
              modules: [
                {
                  id: 'child',
                  value: {
                    type: 'workflow' as const,
                    name: 'pipelineTestChild',
                    task_queue: taskQueue,
                    input_transforms: { n: expr("sum(pluck(nodes.each, 'sum'))") },
                  },
                },
              ],
            },
          ],
          default: [],
        },
      },
      {
        id: 'both',
        after: ['route'],
        value: {
          type: 'branchall' as const,
          branches: [
            { modules: [{ id: 'nap', value: { type: 'sleep' as const, duration: '1s' } }] },
            {
              skip_failure: true,
              modules: [
                {
                  id: 'oops',
                  value: { type: 'activity' as const, name: 'maybeFail', input_transforms: { label: value('oops'), fail: value(true) } },
                },
              ],
            },
          ],
        },
      },
      { id: 'gate', after: ['remote'], value: { type: 'checks' as const, dataset: 'replay.checked' } },
      { id: 'go', after: ['both'], value: { type: 'suspend' as const, timeout: '10m' } },
      {
        id: 'done',
        skip_if: { expr: '!nodes.go.approved' },
        value: {
          type: 'activity' as const,
          name: 'add',
          local: true,
          input_transforms: { a: expr('nodes.route.doubled'), b: expr('nodes.remote.value') },
        },
      },
    ],
  };
}

import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import type { BundleOptions, ReplayWorkerOptions, Worker, WorkerOptions } from '@temporalio/worker';
import { createFlowConcurrency } from '../activities/catalog/flow-concurrency.js';
import { createBatchActivity } from '../activities/pipeline/batch.js';
import type { FlowSlotHolder } from '../common/openflow/run.js';
import { createPipelineActivities } from '../activities/pipeline/builtins.js';
import { createFlowExpressionActivities } from '../activities/pipeline/flow-expressions.js';
import { closingAfter, definePlugin, resolveRuntime, type Closable } from './define-plugin.js';
import type { PluginOptions } from './plugin-options.js';

export interface PipelinePluginOptions extends PluginOptions {
  /**
   * Activities of your own that pipeline specs call by name on this worker: as `local: true`
   * nodes (no server round trip, for cheap steps) or as ordinary activities on its task queue.
   */
  activities?: Record<string, (input: never) => Promise<unknown>>;
}

/**
 * The pipeline runner: `pipelineWorkflow` (in the pack's shared workflow module) and the
 * built-in activities specs start from (`listDatasets`), plus any activities the worker adds.
 *
 * Where pipelines run: on the ingestion queue (`spokeflow-ingestion`, see common/workflows.ts),
 * loaded beside the ingestion plugin (`withPipelines`). The runner only orchestrates: a task node
 * goes to its own domain's queue (a registered workflow to its domain, an activity to the
 * `domain` it names), so quality work still runs on quality workers. What does run where the
 * pipeline runs are its local activities, and the ones a spec needs first (catalog reads) use the
 * catalog the ingestion worker already holds; every deployment runs an ingestion worker, and the
 * nightly pipeline's first and largest stage is ingestion. A queue of its own
 * (`spokeflow-pipelines`) would let orchestration scale apart, but needs a fifth domain in
 * common/task-queues.ts, the CLI and the stack: a follow-up, not needed for correctness.
 *
 * Another team's worker runs spokeflow pipelines with its own activities:
 *
 *   Worker.create({ taskQueue: 'team-x', plugins: [pipelinePlugin({ activities: { scoreThing } })] })
 *
 * and starts pipelines on its own queue (`spokeflow run pipelineWorkflow --task-queue team-x …`).
 */
export const pipelinePlugin = definePlugin<PipelinePluginOptions>('spokeflow.pipelines', ({ clients, options }) => {
  const own = { ...createPipelineActivities({ catalog: clients.catalog }), ...options.activities } as Record<
    string,
    (input: never) => Promise<unknown>
  >;
  // runPipelineBatch runs chains of local nodes (batch_local) over the activities this plugin registers;
  // evaluateFlowExpressions is the QuickJS sandbox of OpenFlow steps' JavaScript (a local activity);
  // the flow concurrency slots ask the worker's own client whether a holder still runs.
  return {
    activities: {
      ...own,
      ...createBatchActivity(() => own),
      ...createFlowExpressionActivities(),
      ...createFlowConcurrency(clients.catalog, holderRunning),
    },
  };
});

/** Whether a concurrency slot's holder still runs; a run Temporal no longer knows (deleted by retention) does not. */
async function holderRunning({ workflowId, runId }: FlowSlotHolder): Promise<boolean> {
  try {
    return (await Context.current().client.workflow.getHandle(workflowId, runId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Two plugins as one: what DOMAIN_PLUGINS (one plugin per domain) can hold. */
class PluginPair extends SimplePlugin {
  constructor(
    private readonly first: SimplePlugin,
    private readonly second: SimplePlugin,
    /** What the pair opened for both (their shared clients): closed after both have stopped. */
    private readonly opened: Closable[],
  ) {
    super({ name: `${first.name}+${second.name}` });
  }
  override configureWorker(options: WorkerOptions): WorkerOptions {
    return this.second.configureWorker(this.first.configureWorker(options));
  }
  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    return this.second.configureReplayWorker(this.first.configureReplayWorker(options));
  }
  override configureBundler(options: BundleOptions): BundleOptions {
    return this.second.configureBundler(this.first.configureBundler(options));
  }
  override runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    return closingAfter(() => this.first.runWorker(worker, (w) => this.second.runWorker(w, next)), this.opened);
  }
}

/** A domain's plugin with the pipeline runner beside it, sharing its config and clients. */
export function withPipelines(domainPlugin: (options: PluginOptions) => SimplePlugin): (options: PluginOptions) => SimplePlugin {
  return (options = {}) => {
    const { config, clients, opened } = resolveRuntime(options);
    const shared = { ...options, config, clients };
    return new PluginPair(domainPlugin(shared), pipelinePlugin(shared), opened);
  };
}

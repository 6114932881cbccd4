import { pathToFileURL } from 'node:url';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { PipelineFailureDetails } from '../common/pipeline/spec.js';
import { runLink } from './run.js';
import { loadConfig } from '../runtime/config.js';
import { connectClient } from '../runtime/temporal.js';

/**
 * Re-runs a failed pipeline from its failed node: reads the last run's input and failure details
 * (the outputs of the nodes that succeeded) and starts the same spec again under the same
 * workflow id with `resume_from`, so only the failed node and what depends on it run again.
 */
export async function rerunFailedPipeline(client: Client, workflowId: string, options: { taskQueue?: string } = {}) {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  if (description.status.name !== 'FAILED')
    throw new Error(`${workflowId} is ${description.status.name}: only a failed pipeline can be re-run from its failed node`);
  const failure = await handle.result().then(
    () => undefined,
    (err: unknown) => (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure ? err.cause : undefined),
  );
  const details = failure?.details?.[0] as PipelineFailureDetails | undefined;
  if (!details?.outputs) throw new Error(`${workflowId} failed without pipeline failure details (${failure?.message ?? 'no failure'})`);
  const started = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
  const [spec] = await Promise.all(
    (started?.input?.payloads ?? []).map((p) =>
      client.options.loadedDataConverter.payloadConverter.fromPayload<Record<string, unknown>>(p),
    ),
  );
  if (!spec) throw new Error(`${workflowId}: no input in its first event`);
  const next = await client.workflow.start('pipelineWorkflow', {
    taskQueue: options.taskQueue ?? description.taskQueue,
    workflowId,
    args: [{ ...spec, resume_from: { outputs: details.outputs, run_id: details.runId } }],
    staticSummary: `re-run from ${details.failedNode}: ${(await description.staticSummary()) ?? workflowId}`,
  });
  return { handle: next, failedNode: details.failedNode, reused: Object.keys(details.outputs) };
}

// npx tsx cli/pipeline-rerun.ts <workflow id>   e.g. pipeline:nightly
async function main(): Promise<void> {
  const workflowId = process.argv[2];
  if (!workflowId) throw new Error('usage: npx tsx cli/pipeline-rerun.ts <workflow id of a failed pipeline>');
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const { handle, failedNode, reused } = await rerunFailedPipeline(client, workflowId);
    console.log(
      `re-running ${workflowId} from ${failedNode}, reusing ${reused.join(', ') || 'nothing'}\n  ${runLink(config, workflowId, handle.firstExecutionRunId)}`,
    );
  } finally {
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import type { PipelineResult } from '../../common/pipeline/spec.js';
import { TaskQueue } from '../../common/task-queues.js';
import { WORKFLOWS } from '../../common/workflows.js';

const NIGHTLY = new URL('../../pipelines/nightly.yaml', import.meta.url);

/**
 * Runs the platform's nightly pipeline (pipelines/nightly.yaml) once, as its schedule would:
 * sync every dataset → anomaly scan → health scoring, embedding refresh beside them → digests.
 * Returns the lines to print, one per node.
 */
export async function runNightly(client: Client): Promise<string[]> {
  const spec = parseYaml(await readFile(NIGHTLY, 'utf8')) as unknown;
  const entry = WORKFLOWS.pipelineWorkflow!;
  const started = Date.now();
  const result: PipelineResult = await client.workflow.execute('pipelineWorkflow', {
    taskQueue: TaskQueue[entry.domain],
    workflowId: entry.workflowIdOf(spec),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [spec],
    staticSummary: entry.summaryOf(spec),
  });
  const lines = [`nightly  pipeline ${result.pipeline} ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`];
  for (const [id, node] of Object.entries(result.nodes)) {
    const counts = node.total !== undefined ? ` (${node.done ?? 0} of ${node.total} done, ${node.failed ?? 0} failed)` : '';
    lines.push(
      `         ${id.padEnd(13)} ${node.kind.padEnd(11)} ${node.status}${counts}${node.durationMs !== undefined ? `, ${(node.durationMs / 1000).toFixed(1)} s` : ''}`,
    );
  }
  return lines;
}

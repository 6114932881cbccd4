import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { SMTPServer } from 'smtp-server';
import { parse as parseYaml } from 'yaml';
import type { PipelineResult } from '../../common/pipeline-spec.js';
import { TaskQueue } from '../../common/task-queues.js';
import { WORKFLOWS } from '../../common/workflows.js';

const NIGHTLY = new URL('../../pipelines/nightly.yaml', import.meta.url);

/**
 * A mailbox on loopback for the demo's digests, so the demo delivers real SMTP without a mail
 * server of the user's (SPOKEFLOW_SMTP_URL, when set, wins). Counts messages by Message-ID.
 */
export async function startDemoMailbox(): Promise<{ url: string; received: Map<string, number>; close(): Promise<void> }> {
  const received = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const id = /^message-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '(none)';
        received.set(id, (received.get(id) ?? 0) + 1);
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

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
    lines.push(`         ${id.padEnd(13)} ${node.kind.padEnd(11)} ${node.status}${counts}${node.durationMs !== undefined ? `, ${(node.durationMs / 1000).toFixed(1)} s` : ''}`);
  }
  return lines;
}

import { setCurrentDetails } from '@temporalio/workflow';
import type { PipelineRun } from './state.js';

/** The Web UI's current details: each top-level node's state, and how to approve what waits. */
export function report({ spec, progress, workflowId, steps }: PipelineRun): void {
  const lines = (steps ?? spec.modules).map((m) => {
    const n = progress.nodes[m.id];
    if (!n) return `- \`${m.id}\``;
    const extra = [
      n.total !== undefined ? `${n.done ?? 0}/${n.total}${n.failed ? ` (${n.failed} failed)` : ''}` : '',
      n.branch !== undefined ? (n.branch >= 0 ? `branch ${n.branch}` : 'default branch') : '',
      n.durationMs !== undefined ? `${n.durationMs} ms` : '',
      n.attempts ? `attempt ${n.attempts}` : '',
      n.decidedBy !== undefined ? `decided by ${n.decidedBy ?? 'timeout'}` : '',
      n.error ? `— ${n.error.slice(0, 200)}` : '',
    ].filter(Boolean);
    return `- \`${m.id}\` ${n.kind} **${n.status}**${extra.length ? ` ${extra.join(', ')}` : ''}${m.summary ? ` · ${m.summary}` : ''}`;
  });
  const waiting = progress.waitingForApproval.map(
    (n) =>
      `\n\nwaiting for approval: \`temporal workflow update execute --name approve --workflow-id ${workflowId} --input '{"node":"${n}","by":"<you>"}'\``,
  );
  const queued = progress.queuedFor
    ? `\n\nqueued: ${progress.queuedFor.held} runs hold the concurrency slots of \`${progress.queuedFor.key}\``
    : '';
  setCurrentDetails(
    `**pipeline ${spec.id}** — ${progress.status}, ${progress.finished} of ${progress.total} nodes done\n\n${lines.join('\n')}${waiting.join('')}${queued}`,
  );
}

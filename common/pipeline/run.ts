import type { Domain } from '../task-queues.js';
import type { NodeKind, PipelineSpecInput, Retry } from './spec.js';

/** What a running pipeline needs beyond its spec: where nodes go, retries, and the run's own types. */

/** Where a task node's work goes: its own queue, its domain's queue (as overridden by the spec), or the pipeline's. */
export function queueOf(
  v: { task_queue?: string; domain?: Domain },
  taskQueues: Partial<Record<Domain, string>>,
  defaults: Record<Domain, string>,
): string | undefined {
  if (v.task_queue) return v.task_queue;
  if (v.domain) return taskQueues[v.domain] ?? defaults[v.domain];
  return undefined;
}

/** The Temporal retry policy of a node's `retry` (Windmill's shape); by default two retries with backoff. */
export function retryPolicyOf(retry: Retry | undefined): {
  maximumAttempts: number;
  initialInterval: number;
  backoffCoefficient: number;
  maximumInterval?: number;
} {
  if (retry?.constant)
    return {
      maximumAttempts: retry.constant.attempts + 1,
      initialInterval: Math.max(1, retry.constant.seconds * 1000),
      backoffCoefficient: 1,
    };
  if (retry?.exponential) {
    const e = retry.exponential;
    return {
      maximumAttempts: e.attempts + 1,
      initialInterval: Math.max(1, e.seconds * 1000),
      backoffCoefficient: e.multiplier,
      ...(e.max_seconds !== undefined ? { maximumInterval: Math.max(1, e.max_seconds * 1000) } : {}),
    };
  }
  return { maximumAttempts: 3, initialInterval: 1_000, backoffCoefficient: 2 };
}

export const PIPELINE_OUTPUT_LIMIT_BYTES = 64 * 1024;

/** Progress of one node, as the `progress` query and the Web UI show it. */
export interface NodeProgress {
  /** A spec's node kind, or an OpenFlow step's type. */
  kind: NodeKind | 'script' | 'identity' | 'rawscript' | 'flow' | 'whileloopflow' | 'aiagent';
  status: 'pending' | 'running' | 'waiting' | 'sleeping' | 'succeeded' | 'failed' | 'skipped' | 'reused' | 'blocked' | 'deferred';
  summary?: string;
  startedAt?: string;
  durationMs?: number;
  attempts?: number;
  /** forloopflow: iterations done, failed and in all. */
  done?: number;
  failed?: number;
  total?: number;
  /** branchone: the branch taken (-1: default). */
  branch?: number;
  /** suspend: who decided. */
  decidedBy?: string | null;
  error?: string;
}

export interface PipelineProgress {
  pipeline: string;
  runId: string;
  status: 'running' | 'succeeded' | 'failed' | 'handling failure';
  nodes: Record<string, NodeProgress>;
  /** Top-level nodes finished in all runs of this pipeline execution, and in all. */
  finished: number;
  total: number;
  waitingForApproval: string[];
  /** An OpenFlow run waiting for a slot of its concurrency key: how many runs hold them. */
  queuedFor?: { key: string; held: number };
  /** An OpenFlow run's `early_return` step, once it finished: what `flows run` returns at once. */
  earlyReturn?: { step: string; result: unknown };
}

export interface PipelineResult {
  pipeline: string;
  status: 'succeeded';
  /** Outputs of the top-level nodes. */
  outputs: Record<string, unknown>;
  nodes: Record<string, NodeProgress>;
  /** OpenFlow runs: the flow's result as Windmill gives it (the last step's, or the stopping step's). */
  result?: unknown;
  /** OpenFlow runs: the step whose stop_after_if ended the flow early, and whether it was marked skipped. */
  stopped?: { step: string; skipped: boolean };
}

/** Details of a failed run (the ApplicationFailure's first detail): what `resume_from` takes back. */
export interface PipelineFailureDetails {
  failedNode: string;
  message: string;
  outputs: Record<string, unknown>;
  runId: string;
}

export interface ApprovalRequest {
  node: string;
  approved?: boolean;
  by: string;
  comment?: string;
  /** An OpenFlow step's resume payload (its resume form's values): `resume` in the next step. */
  payload?: unknown;
}

export interface ApprovalDecision {
  node: string;
  approved: boolean;
  by: string | null;
  comment?: string;
  payload?: unknown;
  timedOut: boolean;
  at: string;
}

/** Builds `resume_from` for a re-run of a failed pipeline: the same spec, the succeeded outputs kept. */
export function resumeInput(spec: PipelineSpecInput, failure: PipelineFailureDetails): PipelineSpecInput {
  return { ...spec, resume_from: { outputs: failure.outputs, run_id: failure.runId } };
}

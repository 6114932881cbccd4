import { workflowInfo } from '@temporalio/workflow';
import type { ExprContext } from '../../common/pipeline/expr.js';
import type { ApprovalDecision, ModuleValue, NodeProgress, PipelineProgress, PipelineSpec } from '../../common/pipeline/spec.js';
import { report } from './report.js';
import type { PipelineCarry } from './workflow.js';

/** One pipeline run's shared state, handed to each part of the runner. */
export interface PipelineRun {
  readonly spec: PipelineSpec;
  /** Default child ids and the approve command derive from it. */
  readonly workflowId: string;
  /** The first run of this execution: a failed run's details name it for resume_from. */
  readonly firstRunId: string;
  readonly progress: PipelineProgress;
  /** Outputs of the top-level nodes so far: the result, or what a failed run gives back. */
  readonly outputs: Record<string, unknown>;
  /** Outputs given back in `resume_from`: those nodes are not run again. */
  readonly reuse: Record<string, unknown>;
  /** suspend nodes: waiting for a decision (undefined) or decided. */
  readonly approvals: Map<string, ApprovalDecision | undefined>;
  /** OpenFlow suspends: the events a step needs, those it has, and its resume form's check. */
  readonly approvalEvents: Map<string, ApprovalEvents>;
  /** Top-level nodes this run finished; past `nodes_per_run` it starts no more and continues as new. */
  finishedThisRun: number;
  deferring: boolean;
  /** OpenFlow runs: the top-level steps the Web UI lists (a spec lists its modules). */
  steps?: readonly { id: string; summary?: string }[];
}

/** A suspended OpenFlow step's approvals: decided by the first rejection or the `required`-th approval. */
export interface ApprovalEvents {
  readonly required: number;
  readonly events: ApprovalDecision[];
  /** The resume form's JSON Schema as a check of an approval's payload: problems, field first. */
  readonly checkPayload?: (payload: unknown) => string[];
}

/** Where a node runs: what its expressions read, and its position inside for-loops. */
export interface Scope extends ExprContext {
  /** Position inside for-loops (`/3/0`): no per-iteration progress, unique child ids. */
  iteration?: string;
}

export type NodeValue<K extends ModuleValue['type']> = Extract<ModuleValue, { type: K }>;

/** Every top-level node pending, or as the previous run left it when this one continues it. */
export function startRun(spec: PipelineSpec, carry: PipelineCarry | undefined): PipelineRun {
  const info = workflowInfo();
  const firstRunId = carry?.firstRunId ?? info.runId;
  const progress: PipelineProgress = {
    pipeline: spec.id,
    runId: firstRunId,
    status: 'running',
    nodes: carry?.nodes ?? {},
    finished: carry?.finished ?? 0,
    total: spec.modules.length,
    waitingForApproval: [],
  };
  for (const m of spec.modules)
    progress.nodes[m.id] ??= { kind: m.value.type, status: 'pending', ...(m.summary ? { summary: m.summary } : {}) };
  return {
    spec,
    workflowId: info.workflowId,
    firstRunId,
    progress,
    outputs: {},
    reuse: spec.resume_from?.outputs ?? {},
    approvals: new Map(),
    approvalEvents: new Map(),
    finishedThisRun: 0,
    deferring: false,
  };
}

/** Nodes inside for-loops have no progress of their own: there would be one per iteration. */
export function tracked(scope: Scope): boolean {
  return scope.iteration === undefined;
}

export function setNode(run: PipelineRun, id: string, patch: Partial<NodeProgress>): void {
  const current = run.progress.nodes[id] ?? { kind: 'activity', status: 'pending' };
  run.progress.nodes[id] = { ...current, ...patch };
  report(run);
}

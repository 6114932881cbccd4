import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ContinueAsNew,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { describeIssues, ErrorType } from '../common/errors.js';
import { truthy, type ExprContext } from '../common/pipeline/expr.js';
import { badValue, checkOutputSize, evaluateField, evaluateInput, failedNodeOf } from '../common/pipeline/node-io.js';
import {
  PipelineErrorType,
  PipelineSpec,
  moduleDependencies,
  queueOf,
  retryPolicyOf,
  siblingDependencies,
  topologicalOrder,
  unregisteredWorkflows,
  type ApprovalDecision,
  type ApprovalRequest,
  type Module,
  type NodeProgress,
  type PipelineFailureDetails,
  type PipelineProgress,
  type PipelineResult,
} from '../common/pipeline/spec.js';
import { SearchAttr } from '../common/search-attributes.js';
import { TaskQueue } from '../common/task-queues.js';
import type { createBatchActivity } from '../activities/pipeline/batch.js';
import { workflowEntry } from '../common/workflows.js';

export const pipelineProgressQuery = defineQuery<PipelineProgress>('progress');
/** A person's decision on a `suspend` node: `{ node, by, approved?: true, comment? }`. */
export const approvePipelineNode = defineUpdate<ApprovalDecision, [ApprovalRequest]>('approve');

/** What a pipeline carries into its next run when it continues as new. */
export interface PipelineCarry {
  nodes: Record<string, NodeProgress>;
  finished: number;
  firstRunId: string;
}

type AnyFn = (input: unknown) => Promise<unknown>;

/** The first failure of a node, where it happened: containers pass it up unchanged. */
class NodeFailed extends Error {
  constructor(
    readonly node: string,
    message: string,
    readonly original: unknown,
  ) {
    super(message);
    this.name = 'NodeFailed';
  }
}
/** A node not started because a node it depends on failed, or deferred to the next run. */
const BLOCKED = Symbol('blocked');
const DEFERRED = Symbol('deferred');

interface Scope extends ExprContext {
  /** Position inside for-loops (`/3/0`): no per-iteration progress, unique child ids. */
  iteration?: string;
}

/**
 * Runs any pipeline spec: validates it before anything starts, then runs its modules as a graph
 * (each once the nodes it reads or waits for are done, independent ones at once). Tasks are
 * activities (local for cheap steps) or registered workflows as children; containers are
 * for-loops and branches; `suspend` waits for a person's `approve` update. A failed run's
 * failure details carry the outputs of the nodes that succeeded: give them back as
 * `resume_from` to re-run from the failed node.
 */
export async function pipelineWorkflow(raw: unknown, carry?: PipelineCarry): Promise<PipelineResult> {
  const parsed = PipelineSpec.safeParse(raw);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid pipeline spec: ${describeIssues(parsed.error)}`, ErrorType.invalidInput);
  }
  const spec = parsed.data;
  const unknown = unregisteredWorkflows(spec, (name) => workflowEntry(name) !== undefined);
  if (unknown.length > 0) {
    throw ApplicationFailure.nonRetryable(`invalid pipeline spec: ${unknown.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, ErrorType.invalidInput);
  }

  const info = workflowInfo();
  const firstRunId = carry?.firstRunId ?? info.runId;
  const reuse = spec.resume_from?.outputs ?? {};
  const progress: PipelineProgress = {
    pipeline: spec.id,
    runId: firstRunId,
    status: 'running',
    nodes: carry?.nodes ?? {},
    finished: carry?.finished ?? 0,
    total: spec.modules.length,
    waitingForApproval: [],
  };
  for (const m of spec.modules) progress.nodes[m.id] ??= { kind: m.value.type, status: 'pending', ...(m.summary ? { summary: m.summary } : {}) };

  const approvals = new Map<string, ApprovalDecision | undefined>();
  setHandler(pipelineProgressQuery, () => progress);
  setHandler(
    approvePipelineNode,
    (request) => {
      const decision: ApprovalDecision = {
        node: request.node,
        approved: request.approved ?? true,
        by: request.by,
        ...(request.comment !== undefined ? { comment: request.comment } : {}),
        timedOut: false,
        at: new Date().toISOString(),
      };
      approvals.set(request.node, decision);
      return decision;
    },
    {
      validator: (request) => {
        if (typeof request?.by !== 'string' || request.by.trim() === '' || request.by.length > 200) {
          throw new Error('by: who decides, 1 to 200 characters');
        }
        if (!approvals.has(request.node) || approvals.get(request.node) !== undefined) {
          const waiting = [...approvals].filter(([, d]) => d === undefined).map(([n]) => n);
          throw new Error(`node ${String(request.node)} is not waiting for approval (waiting: ${waiting.join(', ') || 'none'})`);
        }
      },
    },
  );
  upsertSearchAttributes([{ key: SearchAttr.kind, value: 'pipeline' }]);
  report();

  let deferring = false;
  let finishedThisRun = 0;
  const outputs: Record<string, unknown> = {};
  try {
    const top = await runList(spec.modules, { input: spec.input, nodes: {} }, true);
    if (top.deferred) {
      const next = { ...(raw as Record<string, unknown>), resume_from: { outputs, run_id: firstRunId } };
      await continueAsNew<typeof pipelineWorkflow>(next, { nodes: progress.nodes, finished: progress.finished, firstRunId });
    }
    progress.status = 'succeeded';
    report();
    upsertSearchAttributes([{ key: SearchAttr.outcome, value: 'succeeded' }]);
    return { pipeline: spec.id, status: 'succeeded', outputs, nodes: progress.nodes };
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    const failedNode = err instanceof NodeFailed ? err.node : '(pipeline)';
    const message = err instanceof Error ? err.message : String(err);
    log.error('pipeline failed', { pipeline: spec.id, failedNode, message });
    if (spec.failure_module) {
      progress.status = 'handling failure';
      report();
      try {
        const error = { node: failedNode, message };
        await runList([spec.failure_module], { input: spec.input, nodes: { ...outputs }, error }, false);
      } catch (handlerErr) {
        log.error('failure module failed', { pipeline: spec.id, message: handlerErr instanceof Error ? handlerErr.message : String(handlerErr) });
      }
    }
    progress.status = 'failed';
    report();
    upsertSearchAttributes([{ key: SearchAttr.outcome, value: 'failed' }]);
    const details: PipelineFailureDetails = { failedNode, message, outputs, runId: firstRunId };
    const type = err instanceof NodeFailed && err.original instanceof ApplicationFailure && err.original.type ? err.original.type : PipelineErrorType.nodeFailed;
    throw ApplicationFailure.create({ message: `node ${failedNode} failed: ${message}`, type, nonRetryable: true, details: [details] });
  }

  /**
   * Runs one list of modules as a graph and returns their outputs. At the top level it also
   * reuses `resume_from` outputs and stops starting nodes once the run should continue as new.
   */
  async function runList(
    modules: Module[],
    scope: Scope,
    top: boolean,
  ): Promise<{ outputs: Record<string, unknown>; last: unknown; deferred: boolean }> {
    const deps = dependenciesOf(modules);
    const nodes: Record<string, unknown> = { ...scope.nodes };
    const inner: Scope = { ...scope, nodes };
    const runs = new Map<string, Promise<void>>();
    let deferred = false;
    const { chains, memberOf } = spec.batch_local ? chainsOf(modules, deps, top ? reuse : {}) : { chains: new Map<string, Module[]>(), memberOf: new Map<string, string>() };
    for (const m of orderOf(modules)) {
      const head = memberOf.get(m.id);
      if (head !== undefined) {
        runs.set(m.id, runs.get(head)!); // done when its chain is
        continue;
      }
      const chain = chains.get(m.id);
      const mine = deps.get(m.id) ?? [];
      runs.set(
        m.id,
        (async () => {
          const before = await Promise.allSettled(mine.map((d) => runs.get(d)!));
          const tracked = scope.iteration === undefined;
          const rejected = before.filter((b): b is PromiseRejectedResult => b.status === 'rejected');
          if (rejected.length > 0) {
            // Waiting on a node left for the next run is not being blocked by a failure.
            const left = rejected.every((r) => r.reason === DEFERRED);
            if (tracked) setNode(m.id, { status: left ? 'pending' : 'blocked' });
            throw left ? DEFERRED : BLOCKED;
          }
          if (top && Object.hasOwn(reuse, m.id)) {
            nodes[m.id] = outputs[m.id] = reuse[m.id];
            if (progress.nodes[m.id]?.status === 'pending') {
              setNode(m.id, { status: 'reused' });
              progress.finished++;
            }
            return;
          }
          if (top && deferring) {
            deferred = true;
            setNode(m.id, { status: 'pending' });
            throw DEFERRED;
          }
          const ran = chain ? await runChain(chain, inner) : [{ id: m.id, output: await runModule(m, inner) }];
          for (const { id, output } of ran) nodes[id] = output;
          if (top) {
            for (const { id, output } of ran) outputs[id] = output; // kept even if a sibling fails: a re-run reuses it
            progress.finished += ran.length;
            finishedThisRun += ran.length;
            if (finishedThisRun >= spec.nodes_per_run || workflowInfo().continueAsNewSuggested) deferring = true;
            report();
          }
        })(),
      );
    }
    const settled = await Promise.allSettled(modules.map((m) => runs.get(m.id)!));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason !== BLOCKED && s.reason !== DEFERRED);
    if (failure) throw failure.reason;
    const own = Object.fromEntries(modules.filter((m) => Object.hasOwn(nodes, m.id)).map((m) => [m.id, nodes[m.id]]));
    const lastId = modules[modules.length - 1]?.id;
    return { outputs: own, last: lastId !== undefined ? (nodes[lastId] ?? null) : null, deferred };
  }

  /** A chain of plain local activity nodes in one local activity (`batch_local`). */
  async function runChain(chain: Module[], scope: Scope): Promise<{ id: string; output: unknown }[]> {
    const tracked = scope.iteration === undefined;
    const ids = new Set(chain.map((c) => c.id));
    const reads = new Set(chain.flatMap((c) => moduleDependencies(c)).filter((d) => !ids.has(d) && Object.hasOwn(scope.nodes, d)));
    const started = Date.now();
    if (tracked) for (const c of chain) setNode(c.id, { status: 'running', startedAt: new Date(started).toISOString() });
    const steps = chain.map((c) => {
      const v = c.value as Extract<Module['value'], { type: 'activity' }>;
      return { id: c.id, name: v.name, input_transforms: v.input_transforms };
    });
    try {
      const batch = proxyLocalActivities<ReturnType<typeof createBatchActivity>>({
        startToCloseTimeout: 600_000,
        retry: retryPolicyOf(undefined),
        summary: `${spec.id}/${chain[0]!.id} … ${chain[chain.length - 1]!.id}: ${chain.length} nodes in one batch`,
      });
      const result = await batch.runPipelineBatch({
        steps,
        scope: { input: scope.input, nodes: Object.fromEntries([...reads].map((d) => [d, scope.nodes[d]])), item: scope.item, index: scope.index },
      });
      if (tracked) chain.forEach((c, i) => setNode(c.id, { status: 'succeeded', durationMs: result.durationsMs[i] ?? 0 }));
      return chain.map((c, i) => ({ id: c.id, output: result.outputs[i] ?? null }));
    } catch (err) {
      if (isCancellation(err)) throw err;
      const message = messageOf(err);
      // The batch names the step that failed in the failure's details; a timeout names none.
      const failedId = failedNodeOf(reasonOf(err));
      const failed = chain.find((c) => c.id === failedId) ?? chain[0]!;
      if (tracked) {
        let after = false;
        for (const c of chain) {
          if (c === failed) setNode(c.id, { status: 'failed', durationMs: Date.now() - started, error: message });
          else setNode(c.id, { status: after ? 'blocked' : 'succeeded' });
          after ||= c === failed;
        }
      }
      throw new NodeFailed(failed.id, message, reasonOf(err));
    }
  }

  /** One module: skip condition, its kind's work, `continue_on_error`, progress and the output limit. */
  async function runModule(m: Module, scope: Scope): Promise<unknown> {
    const tracked = scope.iteration === undefined;
    const started = Date.now();
    try {
      if (m.skip_if && truthy(evaluateField(m.id, 'skip_if.expr', m.skip_if.expr, scope))) {
        if (tracked) setNode(m.id, { status: 'skipped' });
        return null;
      }
      if (tracked) setNode(m.id, { status: 'running', startedAt: new Date(started).toISOString() });
      const output = await runKind(m, scope);
      checkOutputSize(m.id, output);
      if (tracked) setNode(m.id, { status: 'succeeded', durationMs: Date.now() - started });
      return output ?? null;
    } catch (err) {
      if (isCancellation(err) || err instanceof ContinueAsNew) throw err;
      const failed = err instanceof NodeFailed ? err : new NodeFailed(m.id, messageOf(err), reasonOf(err));
      if (tracked) setNode(m.id, { status: 'failed', durationMs: Date.now() - started, error: failed.message });
      if (m.continue_on_error) return { error: failed.message, node: failed.node };
      throw failed;
    }
  }

  async function runKind(m: Module, scope: Scope): Promise<unknown> {
    const v = m.value;
    switch (v.type) {
      case 'activity': {
        const input = evaluateInput(m.id, v.input_transforms, scope);
        const options: ActivityOptions = {
          startToCloseTimeout: m.timeout ?? 600_000,
          retry: retryPolicyOf(m.retry),
          summary: `${spec.id}/${m.id}: ${m.summary ?? v.name}`,
        };
        if (v.local) return (proxyLocalActivities<Record<string, AnyFn>>(options)[v.name] as AnyFn)(input);
        const taskQueue = queueOf(v, spec.task_queues, TaskQueue);
        return (proxyActivities<Record<string, AnyFn>>({ ...options, ...(taskQueue ? { taskQueue } : {}) })[v.name] as AnyFn)(input);
      }
      case 'workflow':
        return runChild(m, v, scope);
      case 'forloopflow': {
        const list = v.iterator.type === 'static' ? v.iterator.value : evaluateField(m.id, 'iterator.expr', v.iterator.expr, scope);
        if (!Array.isArray(list)) throw badValue(m.id, 'iterator', `must give a list, not ${kindOf(list)}`);
        const tracked = scope.iteration === undefined;
        const counts = { done: 0, failed: 0, total: list.length };
        if (tracked) setNode(m.id, counts);
        const results: unknown[] = v.collect === 'all' ? new Array<unknown>(list.length).fill(null) : [];
        const errors: { index: number; item: unknown; node: string; error: string }[] = [];
        let next = 0;
        let failure: unknown;
        const lane = async (): Promise<void> => {
          while (next < list.length && failure === undefined) {
            const index = next++;
            const iteration = `${scope.iteration ?? ''}/${m.id}.${index}`;
            try {
              const body = await runList(v.modules, { ...scope, item: list[index], index, iteration }, false);
              if (v.collect === 'all') results[index] = body.last;
            } catch (err) {
              if (!v.skip_failures || isCancellation(err)) {
                failure ??= err;
                return;
              }
              const error = err instanceof Error ? err.message : String(err);
              const node = err instanceof NodeFailed ? err.node : m.id;
              if (v.collect === 'all') results[index] = { error, node };
              else if (errors.length < 20) errors.push({ index, item: typeof list[index] === 'object' ? null : (list[index] as unknown), node, error });
              counts.failed++;
            }
            counts.done++;
            if (tracked) setNode(m.id, counts);
          }
        };
        const width = v.parallel ? Math.min(v.parallelism ?? list.length, list.length) : Math.min(1, list.length);
        await Promise.all(Array.from({ length: width }, lane));
        if (failure !== undefined) throw failure;
        if (v.collect === 'all') return results;
        return { total: list.length, succeeded: counts.done - counts.failed, failed: counts.failed, errors: errors.slice(0, 20) };
      }
      case 'branchone': {
        const branch = v.branches.findIndex((b, i) => truthy(evaluateField(m.id, `branches.${i}.expr`, b.expr, scope)));
        if (scope.iteration === undefined) setNode(m.id, { branch });
        const chosen = branch >= 0 ? v.branches[branch]!.modules : v.default;
        return (await runList(chosen, scope, false)).last;
      }
      case 'branchall': {
        const one = async (i: number): Promise<unknown> => {
          const b = v.branches[i]!;
          try {
            return (await runList(b.modules, scope, false)).last;
          } catch (err) {
            if (!b.skip_failure || isCancellation(err)) throw err;
            return { error: err instanceof Error ? err.message : String(err), node: err instanceof NodeFailed ? err.node : m.id };
          }
        };
        if (!v.parallel) {
          const out: unknown[] = [];
          for (let i = 0; i < v.branches.length; i++) out.push(await one(i));
          return out;
        }
        const settled = await Promise.allSettled(v.branches.map((_, i) => one(i)));
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
      }
      case 'suspend': {
        approvals.set(m.id, undefined);
        progress.waitingForApproval.push(m.id);
        setNode(m.id, { status: 'waiting' });
        const decided = await condition(() => approvals.get(m.id) !== undefined, v.timeout);
        progress.waitingForApproval = progress.waitingForApproval.filter((n) => n !== m.id);
        const decision: ApprovalDecision = decided
          ? approvals.get(m.id)!
          : { node: m.id, approved: v.on_timeout === 'approve', by: null, timedOut: true, at: new Date().toISOString() };
        approvals.set(m.id, decision);
        setNode(m.id, { status: 'running', decidedBy: decision.by });
        if (!decision.approved && !v.continue_on_reject) {
          const who = decision.timedOut ? `nobody decided within ${v.timeout / 1000} s` : `rejected by ${decision.by}`;
          throw ApplicationFailure.nonRetryable(`${who}${decision.comment ? `: ${decision.comment}` : ''}`, PipelineErrorType.rejected);
        }
        return decision;
      }
      case 'sleep': {
        let ms = v.duration ?? 0;
        if (v.until !== undefined) {
          const until = evaluateField(m.id, 'until', v.until, scope);
          const at = typeof until === 'string' ? Date.parse(until) : NaN;
          if (Number.isNaN(at)) throw badValue(m.id, 'until', `must give an ISO date-time, not ${kindOf(until)}`);
          ms = at - Date.now();
        }
        if (scope.iteration === undefined) setNode(m.id, { status: 'sleeping' });
        if (ms > 0) await sleep(ms, { summary: `${spec.id}/${m.id}: sleep` });
        return { sleptMs: Math.max(0, ms) };
      }
    }
  }

  async function runChild(m: Module, v: Extract<Module['value'], { type: 'workflow' }>, scope: Scope): Promise<unknown> {
    const input = evaluateInput(m.id, v.input_transforms, scope);
    const entry = workflowEntry(v.name);
    if (entry) {
      const checked = entry.input.safeParse(input);
      if (!checked.success) throw badValue(m.id, 'input_transforms', `${v.name} input: ${describeIssues(checked.error)}`);
    }
    const explicitId = v.workflow_id ? (v.workflow_id.type === 'static' ? v.workflow_id.value : evaluateField(m.id, 'workflow_id.expr', v.workflow_id.expr, scope)) : undefined;
    if (explicitId !== undefined && (typeof explicitId !== 'string' || explicitId === '')) throw badValue(m.id, 'workflow_id', 'must give a non-empty string');
    const workflowId = (explicitId as string | undefined) ?? entry?.workflowIdOf(input) ?? `${info.workflowId}/${m.id}${scope.iteration ?? ''}`;
    const taskQueue = v.task_queue ?? (entry ? (spec.task_queues[entry.domain] ?? TaskQueue[entry.domain]) : undefined);
    const dataset = entry?.datasetOf(input);
    const policy = retryPolicyOf(m.retry);
    for (let attempt = 1; ; attempt++) {
      try {
        return await executeChild(v.name, {
          args: [input],
          workflowId,
          ...(taskQueue ? { taskQueue } : {}),
          staticSummary: `${spec.id}/${m.id}: ${entry?.summaryOf(input) ?? m.summary ?? v.name}`,
          ...(m.timeout ? { workflowExecutionTimeout: m.timeout } : {}),
          ...(entry
            ? {
                typedSearchAttributes: [
                  { key: SearchAttr.kind, value: entry.kind },
                  ...(dataset ? [{ key: SearchAttr.dataset, value: dataset }] : []),
                ],
              }
            : {}),
        });
      } catch (err) {
        const reason = reasonOf(err);
        const permanent = reason instanceof ApplicationFailure && reason.nonRetryable;
        if (isCancellation(err) || permanent || attempt >= policy.maximumAttempts) throw err;
        if (scope.iteration === undefined) setNode(m.id, { attempts: attempt + 1 });
        const wait = Math.min(policy.initialInterval * policy.backoffCoefficient ** (attempt - 1), policy.maximumInterval ?? 600_000);
        await sleep(wait, { summary: `${spec.id}/${m.id}: retry ${attempt + 1} of ${v.name}` });
      }
    }
  }

  function setNode(id: string, patch: Partial<NodeProgress>): void {
    const current = progress.nodes[id] ?? { kind: 'activity', status: 'pending' };
    progress.nodes[id] = { ...current, ...patch };
    report();
  }

  /** The Web UI's current details: each top-level node's state, and how to approve what waits. */
  function report(): void {
    const lines = spec.modules.map((m) => {
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
      (n) => `\n\nwaiting for approval: \`temporal workflow update execute --name approve --workflow-id ${info.workflowId} --input '{"node":"${n}","by":"<you>"}'\``,
    );
    setCurrentDetails(
      `**pipeline ${spec.id}** — ${progress.status}, ${progress.finished} of ${progress.total} nodes done\n\n${lines.join('\n')}${waiting.join('')}`,
    );
  }
}

/**
 * Chains of plain local activity nodes: each the only dependant of the one before and waiting on
 * nothing else; keyed by their first node. Reused (resume_from) nodes never join a chain.
 */
function chainsOf(modules: Module[], deps: Map<string, string[]>, reuse: Record<string, unknown>) {
  const fusable = (m: Module | undefined): m is Module =>
    m !== undefined &&
    m.value.type === 'activity' &&
    m.value.local &&
    !m.skip_if &&
    !m.continue_on_error &&
    !m.retry &&
    m.timeout === undefined &&
    !Object.hasOwn(reuse, m.id);
  const byId = new Map(modules.map((m) => [m.id, m]));
  const dependents = new Map<string, string[]>(modules.map((m) => [m.id, []]));
  for (const m of modules) for (const d of deps.get(m.id) ?? []) dependents.get(d)?.push(m.id);
  const chains = new Map<string, Module[]>();
  const memberOf = new Map<string, string>();
  for (const m of orderOf(modules)) {
    if (memberOf.has(m.id) || !fusable(m)) continue;
    const chain = [m];
    for (;;) {
      const next = dependents.get(chain[chain.length - 1]!.id)!;
      const candidate = next.length === 1 ? byId.get(next[0]!) : undefined;
      if (!fusable(candidate) || (deps.get(candidate.id) ?? []).length !== 1) break;
      chain.push(candidate);
    }
    if (chain.length > 1) {
      chains.set(m.id, chain);
      for (const c of chain.slice(1)) memberOf.set(c.id, m.id);
    }
  }
  return { chains, memberOf };
}

const orders = new WeakMap<Module[], Module[]>();
const dependencies = new WeakMap<Module[], Map<string, string[]>>();
function orderOf(modules: Module[]): Module[] {
  let o = orders.get(modules);
  if (!o) orders.set(modules, (o = topologicalOrder(modules)));
  return o;
}
function dependenciesOf(modules: Module[]): Map<string, string[]> {
  let d = dependencies.get(modules);
  if (!d) dependencies.set(modules, (d = siblingDependencies(modules)));
  return d;
}

/** An activity's or child's own error rather than "Activity task failed". */
function reasonOf(err: unknown): unknown {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e;
}

function messageOf(err: unknown): string {
  const e = reasonOf(err);
  return e instanceof Error ? e.message : String(e);
}

function kindOf(x: unknown): string {
  return x === null || x === undefined ? 'null' : Array.isArray(x) ? 'a list' : typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}

import { workflowInfo } from '@temporalio/workflow';
import { siblingDependencies, topologicalOrder, type Module } from '../../common/pipeline/spec.js';
import { runModule } from './node.js';
import { runChain } from './nodes/batch-chain.js';
import { report } from './report.js';
import { setNode, tracked, type PipelineRun, type Scope } from './state.js';

/** A node not started because a node it depends on failed, or deferred to the next run. */
const BLOCKED = Symbol('blocked');
const DEFERRED = Symbol('deferred');

export interface ListResult {
  outputs: Record<string, unknown>;
  /** The last module's output: what a container (loop body, branch) gives back. */
  last: unknown;
  /** Top level: nodes were left for the next run (continue as new). */
  deferred: boolean;
}

/**
 * Runs one list of modules as a graph: each once the siblings it reads or waits for are done,
 * independent ones at once. At the top level it also reuses `resume_from` outputs, records the
 * pipeline's outputs and stops starting nodes once the run should continue as new.
 */
export async function runList(run: PipelineRun, modules: Module[], scope: Scope, top: boolean): Promise<ListResult> {
  const { spec, progress, reuse, outputs } = run;
  const deps = dependenciesOf(modules);
  const nodes: Record<string, unknown> = { ...scope.nodes };
  const inner: Scope = { ...scope, nodes };
  const runs = new Map<string, Promise<void>>();
  let deferred = false;
  const { chains, memberOf } = spec.batch_local
    ? chainsOf(modules, deps, top ? reuse : {})
    : { chains: new Map<string, Module[]>(), memberOf: new Map<string, string>() };
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
        const rejected = before.filter((b): b is PromiseRejectedResult => b.status === 'rejected');
        if (rejected.length > 0) {
          // Waiting on a node left for the next run is not being blocked by a failure.
          const left = rejected.every((r) => r.reason === DEFERRED);
          if (tracked(scope)) setNode(run, m.id, { status: left ? 'pending' : 'blocked' });
          throw left ? DEFERRED : BLOCKED;
        }
        if (top && Object.hasOwn(reuse, m.id)) {
          nodes[m.id] = outputs[m.id] = reuse[m.id];
          if (progress.nodes[m.id]?.status === 'pending') {
            setNode(run, m.id, { status: 'reused' });
            progress.finished++;
          }
          return;
        }
        if (top && run.deferring) {
          deferred = true;
          setNode(run, m.id, { status: 'pending' });
          throw DEFERRED;
        }
        const ran = chain ? await runChain(run, chain, inner) : [{ id: m.id, output: await runModule(run, m, inner) }];
        for (const { id, output } of ran) nodes[id] = output;
        if (top) {
          for (const { id, output } of ran) outputs[id] = output; // kept even if a sibling fails: a re-run reuses it
          progress.finished += ran.length;
          run.finishedThisRun += ran.length;
          if (run.finishedThisRun >= spec.nodes_per_run || workflowInfo().continueAsNewSuggested) run.deferring = true;
          report(run);
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

// Computed once per list of the spec: a for-loop runs its body's list once per iteration.
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

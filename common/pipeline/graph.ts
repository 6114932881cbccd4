import { ExprError, parseExpr, referencedNodes, referencedRoots, type Expr } from './expr.js';
import type { InputTransform, Module, ModuleValue, PipelineSpec } from './spec.js';

/** The checks of a spec's graph (ids, expressions, dependencies, cycles) and the ordering the runner uses. */

export interface SpecProblem {
  path: (string | number)[];
  message: string;
}

/** Node ids and their modules, everywhere in the spec (ids are unique across the whole pipeline). */
export function allModules(spec: Pick<PipelineSpec, 'modules' | 'failure_module'>): Module[] {
  const out: Module[] = [];
  const visit = (ms: Module[]) => {
    for (const m of ms) {
      out.push(m);
      for (const child of childLists(m.value)) visit(child);
    }
  };
  visit(spec.modules);
  if (spec.failure_module) visit([spec.failure_module]);
  return out;
}

function childLists(v: ModuleValue): Module[][] {
  switch (v.type) {
    case 'forloopflow':
      return [v.modules];
    case 'branchone':
      return [...v.branches.map((b) => b.modules), v.default];
    case 'branchall':
      return v.branches.map((b) => b.modules);
    default:
      return [];
  }
}

/** Every expression of a module itself (not of the modules nested in it), with the field it sits in. */
export function moduleExpressions(m: Module): { field: (string | number)[]; text: string }[] {
  const out: { field: (string | number)[]; text: string }[] = [];
  if (m.skip_if) out.push({ field: ['skip_if', 'expr'], text: m.skip_if.expr });
  const v = m.value;
  const transforms = (ts: Record<string, InputTransform>, at: string) => {
    for (const [k, t] of Object.entries(ts)) if (t.type === 'expr') out.push({ field: ['value', at, k, 'expr'], text: t.expr });
  };
  switch (v.type) {
    case 'activity':
      transforms(v.input_transforms, 'input_transforms');
      break;
    case 'workflow':
      transforms(v.input_transforms, 'input_transforms');
      if (v.workflow_id?.type === 'expr') out.push({ field: ['value', 'workflow_id', 'expr'], text: v.workflow_id.expr });
      break;
    case 'forloopflow':
      if (v.iterator.type === 'expr') out.push({ field: ['value', 'iterator', 'expr'], text: v.iterator.expr });
      break;
    case 'branchone':
      v.branches.forEach((b, i) => out.push({ field: ['value', 'branches', i, 'expr'], text: b.expr }));
      break;
    case 'sleep':
      if (v.until) out.push({ field: ['value', 'until'], text: v.until });
      break;
    default:
      break;
  }
  return out;
}

const parsedCache = new Map<string, Expr>();
/** Parses once per distinct text; the runner and the checks share the cache. */
export function compiled(text: string): Expr {
  let ast = parsedCache.get(text);
  if (!ast) {
    ast = parseExpr(text);
    if (parsedCache.size > 5_000) parsedCache.clear();
    parsedCache.set(text, ast);
  }
  return ast;
}

/** Node ids a module reads or waits for, anywhere in its subtree (its own nested ids excluded). */
export function moduleDependencies(m: Module): string[] {
  const own = new Set(allModules({ modules: [m] }).map((x) => x.id));
  const deps = new Set<string>(m.after);
  for (const x of allModules({ modules: [m] })) {
    for (const e of moduleExpressions(x)) {
      try {
        for (const id of referencedNodes(compiled(e.text))) if (!own.has(id)) deps.add(id);
      } catch {
        // reported by checkGraph
      }
    }
    if (x !== m) for (const id of x.after) if (!own.has(id)) deps.add(id);
  }
  return [...deps];
}

/**
 * The modules of one list in an order where each comes after the siblings it depends on; stable
 * (spec order among independent ones). Throws on a cycle, naming it.
 */
export function topologicalOrder(modules: Module[]): Module[] {
  const ids = new Set(modules.map((m) => m.id));
  const deps = new Map(modules.map((m) => [m.id, moduleDependencies(m).filter((d) => ids.has(d))]));
  const done = new Set<string>();
  const out: Module[] = [];
  while (out.length < modules.length) {
    const next = modules.find((m) => !done.has(m.id) && deps.get(m.id)!.every((d) => done.has(d)));
    if (!next) throw new Error(`cycle: ${describeCycle(modules, deps)}`);
    done.add(next.id);
    out.push(next);
  }
  return out;
}

function describeCycle(modules: Module[], deps: Map<string, string[]>): string {
  // Walk dependencies from any node left until one repeats.
  let at = modules.find((m) => deps.get(m.id)!.length > 0)!.id;
  const seen: string[] = [];
  while (!seen.includes(at)) {
    seen.push(at);
    at = deps.get(at)!.find((d) => deps.has(d)) ?? at;
  }
  const loop = seen.slice(seen.indexOf(at));
  return [...loop, at].join(' → ');
}

/** The sibling ids a module depends on, within its own list. */
export function siblingDependencies(modules: Module[]): Map<string, string[]> {
  const ids = new Set(modules.map((m) => m.id));
  return new Map(modules.map((m) => [m.id, moduleDependencies(m).filter((d) => ids.has(d))]));
}

/**
 * The checks a zod schema of the fields cannot make: ids unique, every reference to a node that
 * exists and is visible, no cycle, expressions that parse and read only names that exist where
 * they run, options on the kinds they apply to. Each problem names the node and the field.
 */
export function checkGraph(spec: Pick<PipelineSpec, 'modules' | 'failure_module'>): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const seen = new Map<string, string>();

  const checkList = (
    modules: Module[],
    at: (string | number)[],
    visible: Set<string>,
    scope: { loop: boolean; failure: boolean; ancestors: Set<string> },
  ) => {
    const siblings = new Set(modules.map((m) => m.id));
    const here = new Set([...visible, ...siblings]);
    modules.forEach((m, i) => {
      const path = [...at, i];
      const where = `node ${m.id}`;
      if (seen.has(m.id)) problems.push({ path: [...path, 'id'], message: `${where}: duplicate id (also at ${seen.get(m.id)})` });
      else seen.set(m.id, path.join('.'));

      m.after.forEach((a, j) => {
        if (a === m.id) problems.push({ path: [...path, 'after', j], message: `${where}: after: a node cannot wait for itself` });
        else if (!here.has(a)) problems.push({ path: [...path, 'after', j], message: `${where}: after: ${unknownRef(a)}` });
      });
      for (const e of moduleExpressions(m)) {
        let ast: Expr;
        try {
          ast = compiled(e.text);
        } catch (err) {
          problems.push({
            path: [...path, ...e.field],
            message: `${where}: ${e.field.join('.')}: bad expression: ${err instanceof ExprError ? err.message : String(err)}`,
          });
          continue;
        }
        for (const ref of referencedNodes(ast)) {
          if (ref === m.id)
            problems.push({ path: [...path, ...e.field], message: `${where}: ${e.field.join('.')}: a node cannot read its own output` });
          else if (scope.ancestors.has(ref))
            problems.push({
              path: [...path, ...e.field],
              message: `${where}: ${e.field.join('.')}: ${ref} contains this node: its output does not exist yet`,
            });
          else if (!here.has(ref))
            problems.push({ path: [...path, ...e.field], message: `${where}: ${e.field.join('.')}: ${unknownRef(ref)}` });
        }
        for (const root of referencedRoots(ast)) {
          if ((root === 'item' || root === 'index') && !scope.loop) {
            problems.push({
              path: [...path, ...e.field],
              message: `${where}: ${e.field.join('.')}: ${root} only exists inside a forloopflow`,
            });
          }
          if (root === 'error' && !scope.failure) {
            problems.push({
              path: [...path, ...e.field],
              message: `${where}: ${e.field.join('.')}: error only exists inside the failure_module`,
            });
          }
        }
      }

      const v = m.value;
      const task = v.type === 'activity' || v.type === 'workflow';
      if (m.retry && !task)
        problems.push({ path: [...path, 'retry'], message: `${where}: retry: only applies to activity and workflow nodes, not ${v.type}` });
      if (m.timeout !== undefined && !task) {
        problems.push({
          path: [...path, 'timeout'],
          message: `${where}: timeout: only applies to activity and workflow nodes (a suspend has value.timeout)`,
        });
      }
      if (v.type === 'activity' && v.local && (v.domain || v.task_queue)) {
        problems.push({
          path: [...path, 'value', 'local'],
          message: `${where}: local: a local activity runs on the pipeline's worker; drop domain and task_queue`,
        });
      }
      if (v.type === 'activity' && v.domain && v.task_queue) {
        problems.push({ path: [...path, 'value', 'task_queue'], message: `${where}: task_queue: give domain or task_queue, not both` });
      }
      if (v.type === 'suspend' && scope.loop) {
        problems.push({
          path: [...path, 'value', 'type'],
          message: `${where}: type: suspend cannot sit inside a forloopflow (one decision per node)`,
        });
      }
      if (v.type === 'forloopflow') {
        if (v.parallelism !== undefined && !v.parallel)
          problems.push({ path: [...path, 'value', 'parallelism'], message: `${where}: parallelism: only with parallel: true` });
        if (v.modules.length === 0)
          problems.push({ path: [...path, 'value', 'modules'], message: `${where}: modules: a forloopflow needs at least one module` });
        checkList(v.modules, [...path, 'value', 'modules'], here, { ...scope, loop: true, ancestors: new Set([...scope.ancestors, m.id]) });
      } else if (v.type === 'branchone') {
        const inner = { ...scope, ancestors: new Set([...scope.ancestors, m.id]) };
        v.branches.forEach((b, j) => checkList(b.modules, [...path, 'value', 'branches', j, 'modules'], here, inner));
        checkList(v.default, [...path, 'value', 'default'], here, inner);
      } else if (v.type === 'branchall') {
        const inner = { ...scope, ancestors: new Set([...scope.ancestors, m.id]) };
        v.branches.forEach((b, j) => checkList(b.modules, [...path, 'value', 'branches', j, 'modules'], here, inner));
      }
    });

    const unique = new Set(modules.map((m) => m.id)).size === modules.length;
    if (unique)
      try {
        topologicalOrder(modules);
      } catch (err) {
        const cycle = (err as Error).message;
        const first = cycle.replace(/^cycle: /, '').split(' → ')[0];
        const i = modules.findIndex((m) => m.id === first);
        problems.push({
          path: [...at, i, 'after'],
          message: `node ${first}: after: ${cycle} (a node waits, directly or through its expressions, for one that waits for it)`,
        });
      }
  };

  function unknownRef(id: string): string {
    return seen.has(id) || allIds.has(id)
      ? `${id} is not visible here: it sits inside another node (read that node's output instead) or in the failure_module`
      : `unknown node ${id}`;
  }
  const allIds = new Set(allModules(spec).map((m) => m.id));

  checkList(spec.modules, ['modules'], new Set(), { loop: false, failure: false, ancestors: new Set() });
  if (spec.failure_module) {
    const topIds = new Set(spec.modules.map((m) => m.id));
    checkList([spec.failure_module], ['failure_module'], topIds, { loop: false, failure: true, ancestors: new Set() });
    // checkList indexes its list; the failure module is a single module, not a list.
    for (const p of problems) if (p.path[0] === 'failure_module' && p.path[1] === 0) p.path.splice(1, 1);
  }
  return problems;
}

/**
 * Workflow nodes naming a workflow that is neither registered (common/workflows.ts, passed in to
 * keep this module free of the registry) nor given a task queue of its own.
 */
export function unregisteredWorkflows(
  spec: Pick<PipelineSpec, 'modules' | 'failure_module'>,
  isRegistered: (name: string) => boolean,
): SpecProblem[] {
  const paths = new Map<string, (string | number)[]>();
  const walk = (ms: Module[], at: (string | number)[], single = false) =>
    ms.forEach((m, i) => {
      const path = single ? at : [...at, i];
      paths.set(m.id, path);
      const v = m.value;
      if (v.type === 'forloopflow') walk(v.modules, [...path, 'value', 'modules']);
      if (v.type === 'branchone') {
        v.branches.forEach((b, j) => walk(b.modules, [...path, 'value', 'branches', j, 'modules']));
        walk(v.default, [...path, 'value', 'default']);
      }
      if (v.type === 'branchall') v.branches.forEach((b, j) => walk(b.modules, [...path, 'value', 'branches', j, 'modules']));
    });
  walk(spec.modules, ['modules']);
  if (spec.failure_module) walk([spec.failure_module], ['failure_module'], true);
  return allModules(spec).flatMap((m) =>
    m.value.type === 'workflow' && !m.value.task_queue && !isRegistered(m.value.name)
      ? [
          {
            path: [...(paths.get(m.id) ?? []), 'value', 'name'],
            message: `node ${m.id}: value.name: ${m.value.name} is not a workflow of common/workflows.ts: give value.task_queue for a workflow of your own`,
          },
        ]
      : [],
  );
}

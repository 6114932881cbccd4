import { z } from 'zod';
import { ExprError, parseExpr, referencedNodes, referencedRoots, type Expr } from './expr.js';
import { DOMAINS, type Domain } from '../task-queues.js';

/**
 * A pipeline spec: a flow declared as data, run durably by `pipelineWorkflow`. The shape follows
 * Windmill's OpenFlow where it maps (`modules`, `value.type`, `forloopflow`, `branchone`,
 * `branchall`, `suspend`, `failure_module`, `input_transforms`, `skip_if`, `retry`,
 * `continue_on_error`); what differs: modules form a graph (edges from the nodes an expression
 * reads, plus `after`) instead of a list run in order, a task is a spokeflow activity or a
 * registered workflow instead of a script, and expressions are spokeflow's own small language
 * (`type: expr`) instead of JavaScript.
 */

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const NodeId = z.string().regex(NODE_ID, 'must be a node id of letters, digits and _ (usable in nodes.<id>)');
const Slug = z.string().regex(/^[a-z][a-z0-9._-]{0,79}$/, 'must be a slug of lower-case letters, digits and . _ -');
const QueueName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a task queue name of letters, digits and . _ : -');
const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'must be an activity or workflow name');
const ExprText = z.string().min(1).max(2_000);

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds of `1h30m`, `45s`, `250ms` or `2d`; undefined for anything else. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!text || !match) return undefined;
  const [, d = '0', h = '0', m = '0', s = '0', ms = '0'] = match;
  return Number(d) * UNIT_MS.d + Number(h) * UNIT_MS.h + Number(m) * UNIT_MS.m + Number(s) * UNIT_MS.s + Number(ms);
}

/** Seconds (Windmill's unit) or a duration like `10m`; kept as milliseconds. */
const Duration = z.union(
  [
    z
      .number()
      .positive()
      .max(365 * 86_400)
      .transform((s) => Math.round(s * 1000)),
    z.string().transform((text, ctx) => {
      const ms = durationMs(text);
      if (ms === undefined || ms === 0) {
        ctx.addIssue({ code: 'custom', message: 'must be seconds or a duration like 10m, 1h30m, 45s, 250ms' });
        return z.NEVER;
      }
      return ms;
    }),
  ],
  { error: () => 'must be seconds or a duration like 10m, 1h30m, 45s, 250ms' },
);

/** Windmill's input transform: a static value, or an expression (`type: expr`, where Windmill has `javascript`). */
export const InputTransform = z.discriminatedUnion(
  'type',
  [z.object({ type: z.literal('static'), value: z.unknown() }).strict(), z.object({ type: z.literal('expr'), expr: ExprText }).strict()],
  { error: () => 'must be { type: static, value } or { type: expr, expr } (spokeflow expressions, not JavaScript)' },
);
export type InputTransform = z.output<typeof InputTransform>;
const InputTransforms = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'must be an argument name'), InputTransform);

/** Windmill's retry: `attempts` are retries after the first try. */
export const Retry = z
  .object({
    constant: z
      .object({ attempts: z.number().int().min(0).max(100), seconds: z.number().min(0).max(3_600).default(1) })
      .strict()
      .optional(),
    exponential: z
      .object({
        attempts: z.number().int().min(0).max(100),
        seconds: z.number().min(0).max(3_600).default(1),
        multiplier: z.number().min(1).max(10).default(2),
        max_seconds: z.number().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => (r.constant === undefined) !== (r.exponential === undefined), 'give exactly one of constant and exponential');
export type Retry = z.output<typeof Retry>;

const ActivityValue = z
  .object({
    type: z.literal('activity'),
    name: Name.describe('the activity, as registered on the worker that runs it'),
    domain: z.enum(DOMAINS).optional().describe("run on this domain's task queue"),
    task_queue: QueueName.optional().describe('run on this task queue (instead of domain)'),
    local: z
      .boolean()
      .default(false)
      .describe("run as a local activity on the pipeline's own worker: for cheap steps (no server round trip)"),
    input_transforms: InputTransforms.default({}).describe('the activity input object, field by field'),
  })
  .strict();

const WorkflowValue = z
  .object({
    type: z.literal('workflow'),
    name: Name.describe('a workflow of common/workflows.ts, or any workflow type with task_queue'),
    task_queue: QueueName.optional().describe("defaults to the registered workflow's domain queue"),
    workflow_id: InputTransform.optional().describe(
      "defaults to the registered workflow's id (like sync:<dataset>), else <pipeline run>/<node>",
    ),
    input_transforms: InputTransforms.default({}).describe('the child workflow input object, field by field'),
  })
  .strict();

const SuspendValue = z
  .object({
    type: z.literal('suspend'),
    timeout: Duration.describe('how long to wait for a decision'),
    on_timeout: z.enum(['approve', 'reject']).default('reject').describe('the decision when nobody decides in time'),
    message: z.string().max(2_000).optional().describe('what the approver is asked'),
    continue_on_reject: z
      .boolean()
      .default(false)
      .describe('a rejection becomes the output { approved: false } instead of failing the pipeline'),
  })
  .strict();

const SleepValue = z
  .object({
    type: z.literal('sleep'),
    duration: Duration.optional().describe('sleep this long'),
    until: ExprText.optional().describe('sleep until this time: an expression giving an ISO date-time'),
  })
  .strict()
  .refine((s) => (s.duration === undefined) !== (s.until === undefined), 'give exactly one of duration and until');

export interface Module {
  id: string;
  summary?: string;
  after: string[];
  skip_if?: { expr: string };
  timeout?: number;
  retry?: Retry;
  continue_on_error: boolean;
  value: ModuleValue;
}
export type ModuleValue =
  | z.output<typeof ActivityValue>
  | z.output<typeof WorkflowValue>
  | z.output<typeof SuspendValue>
  | z.output<typeof SleepValue>
  | {
      type: 'forloopflow';
      iterator: InputTransform;
      modules: Module[];
      parallel: boolean;
      parallelism?: number;
      skip_failures: boolean;
      collect: 'all' | 'counts';
    }
  | { type: 'branchone'; branches: { summary?: string; expr: string; modules: Module[] }[]; default: Module[] }
  | { type: 'branchall'; branches: { summary?: string; skip_failure: boolean; modules: Module[] }[]; parallel: boolean };

export const NODE_KINDS = ['activity', 'workflow', 'forloopflow', 'branchone', 'branchall', 'suspend', 'sleep'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

const Modules: z.ZodType<Module[], unknown> = z.lazy(() => z.array(ModuleSchema).max(500));

const ForLoopValue = z
  .object({
    type: z.literal('forloopflow'),
    iterator: InputTransform.describe('the list to iterate over; inside, item and index are the current element and its position'),
    modules: Modules,
    parallel: z.boolean().default(false).describe('iterations run at once, up to parallelism'),
    parallelism: z.number().int().min(1).max(1_000).optional().describe('at most this many iterations at once (with parallel)'),
    skip_failures: z.boolean().default(false).describe('a failed iteration yields { error } instead of failing the loop'),
    collect: z
      .enum(['all', 'counts'])
      .default('all')
      .describe(
        'all: the output is the list of iteration results; counts: { total, succeeded, failed, errors } (the first 20), for wide loops',
      ),
  })
  .strict();

const BranchOneValue = z
  .object({
    type: z.literal('branchone'),
    branches: z.array(z.object({ summary: z.string().max(200).optional(), expr: ExprText, modules: Modules }).strict()).min(1),
    default: Modules.default([]).describe('run when no branch expression holds'),
  })
  .strict();

const BranchAllValue = z
  .object({
    type: z.literal('branchall'),
    branches: z
      .array(z.object({ summary: z.string().max(200).optional(), skip_failure: z.boolean().default(false), modules: Modules }).strict())
      .min(1),
    parallel: z.boolean().default(true),
  })
  .strict();

const ModuleValueSchema = z.discriminatedUnion(
  'type',
  [ActivityValue, WorkflowValue, ForLoopValue, BranchOneValue, BranchAllValue, SuspendValue, SleepValue],
  {
    error: (issue) => {
      const kind = (issue.input as { type?: unknown } | undefined)?.type;
      return issue.code === 'invalid_union' && kind !== undefined
        ? `unknown node kind ${JSON.stringify(kind)}: one of ${NODE_KINDS.join(', ')}`
        : undefined;
    },
  },
);

const ModuleSchema: z.ZodType<Module, unknown> = z
  .object({
    id: NodeId,
    summary: z.string().max(200).optional(),
    after: z.array(NodeId).default([]).describe('nodes this one waits for besides those its expressions read'),
    skip_if: z.object({ expr: ExprText }).strict().optional().describe('skip the node (output null) when this holds'),
    timeout: Duration.optional().describe('per attempt of an activity, or the whole child workflow'),
    retry: Retry.optional().describe('retries of an activity or child workflow (default: 2 retries with backoff)'),
    continue_on_error: z.boolean().default(false).describe('a failure becomes the output { error } instead of failing the pipeline'),
    value: ModuleValueSchema,
  })
  .strict() as unknown as z.ZodType<Module, unknown>;

const PipelineSpecFields = z
  .object({
    id: Slug.describe('the pipeline name: its runs have the workflow id pipeline:<id>'),
    summary: z.string().max(200).optional(),
    description: z.string().max(5_000).optional(),
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('the pipeline input, read by expressions as input.<field> (Windmill: flow_input)'),
    modules: Modules.refine((m) => m.length > 0, 'a pipeline needs at least one module'),
    failure_module: ModuleSchema.optional().describe(
      'runs when the pipeline fails, with error.node and error.message; the run still fails',
    ),
    task_queues: z
      .partialRecord(z.enum(DOMAINS), QueueName)
      .default({})
      .describe("task queue per domain, instead of the domain's own (for staging or tests)"),
    batch_local: z
      .boolean()
      .default(false)
      .describe(
        'run each chain of plain local activity nodes (one after the other, nothing else waiting on them) in one local activity: ' +
          'one history marker instead of one per node; the chain retries as a whole',
      ),
    nodes_per_run: z
      .number()
      .int()
      .min(2)
      .max(10_000)
      .default(1_000)
      .describe('top-level nodes one run completes before it continues as new'),
    resume_from: z
      .object({
        outputs: z.record(NodeId, z.unknown()).describe('outputs of top-level nodes that already succeeded: they are not run again'),
        run_id: z.string().max(200).optional().describe('the run they come from, for the record'),
      })
      .strict()
      .optional()
      .describe('re-run from the failed node: give back the outputs of a failed run (its failure details)'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const problem of checkGraph(spec)) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });

/** The raw spec before the checks; it describes itself by the fields' JSON Schema (see below). */
const RawSpec = z.unknown();

/** The spec schema; every message about a module starts with `node <id>:`, whatever check made it. */
export const PipelineSpec = RawSpec.transform((raw, ctx): z.output<typeof PipelineSpecFields> => {
  const parsed = PipelineSpecFields.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const node = nodeAt(raw, issue.path);
    const message = node && !issue.message.startsWith('node ') ? `node ${node}: ${issue.message}` : issue.message;
    ctx.addIssue({ code: 'custom', message, path: issue.path as (string | number)[] });
  }
  return z.NEVER;
});
export type PipelineSpec = z.output<typeof PipelineSpecFields>;
/** A spec as written (durations as text, defaults left out). */
export type PipelineSpecInput = z.input<typeof PipelineSpecFields>;

/** The id of the innermost module on a path into the raw spec, if it has one. */
function nodeAt(raw: unknown, path: PropertyKey[]): string | undefined {
  let at: unknown = raw;
  let id: string | undefined;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) break;
    at = (at as Record<PropertyKey, unknown>)[key];
    const candidate = typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as { id?: unknown }).id : undefined;
    if (typeof candidate === 'string' && candidate !== '' && (at as { value?: unknown }).value !== undefined) id = candidate;
  }
  return id;
}

/** The JSON Schema of a spec, for editors (`# yaml-language-server: $schema=…`). */
export function pipelineJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PipelineSpecFields, { io: 'input', unrepresentable: 'any', cycles: 'ref' }) as Record<string, unknown>;
}
// The wrapper above parses `unknown`; zod's hook for a schema's own JSON Schema makes
// `spokeflow schema pipelineWorkflow` print the fields instead of `{}`.
(RawSpec._zod as { toJSONSchema?: () => object }).toJSONSchema = () => {
  const schema = pipelineJsonSchema();
  delete schema.$schema; // the caller's document has its own
  return schema;
};

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
  kind: NodeKind;
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
}

export interface PipelineResult {
  pipeline: string;
  status: 'succeeded';
  /** Outputs of the top-level nodes. */
  outputs: Record<string, unknown>;
  nodes: Record<string, NodeProgress>;
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
}

export interface ApprovalDecision {
  node: string;
  approved: boolean;
  by: string | null;
  comment?: string;
  timedOut: boolean;
  at: string;
}

/** Builds `resume_from` for a re-run of a failed pipeline: the same spec, the succeeded outputs kept. */
export function resumeInput(spec: PipelineSpecInput, failure: PipelineFailureDetails): PipelineSpecInput {
  return { ...spec, resume_from: { outputs: failure.outputs, run_id: failure.runId } };
}

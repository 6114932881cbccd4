import { z } from 'zod';
import { DOMAINS } from '../task-queues.js';
import { FEATURES, type FeatureStatus } from './features.js';
import { nestedModules, type FlowModule, type OpenFlow } from './schema.js';
import { checkFlow } from './validate.js';

/**
 * What `pipelineWorkflow` takes to run an OpenFlow file: the file itself (checked again in the
 * workflow), the declared table that maps its `script` paths to spokeflow activities and
 * workflows, and the run's input (already validated against the file's `schema` by the CLI).
 */

const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'must be an activity or workflow name');
const QueueName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a task queue name of letters, digits and . _ : -');
const ArgMapping = z
  .record(z.string(), z.string())
  .default({})
  .describe("the script's argument name → the field of the activity or workflow input it fills; others keep their names");

/** One `scripts:` entry: a Windmill script path run as a registered activity or workflow. */
export const ScriptTarget = z.union([
  z
    .object({
      activity: Name.describe('the activity, as registered on the worker that runs it'),
      domain: z.enum(DOMAINS).optional().describe("run on this domain's task queue"),
      task_queue: QueueName.optional().describe('run on this task queue (instead of domain)'),
      local: z.boolean().default(false).describe("a local activity on the flow's own worker"),
      input: ArgMapping,
    })
    .strict(),
  z
    .object({
      workflow: Name.describe('a workflow of common/workflows.ts, or any workflow type with task_queue'),
      task_queue: QueueName.optional(),
      input: ArgMapping,
    })
    .strict(),
]);
export type ScriptTarget = z.output<typeof ScriptTarget>;
export const ScriptTable = z.record(z.string().min(1), ScriptTarget);
export type ScriptTable = z.output<typeof ScriptTable>;

/** `flow` paths → the sub-flow files they resolve to (read by the CLI from a flows folder). */
export const FlowTable = z.record(z.string().min(1), z.record(z.string(), z.unknown()));
export type FlowTable = z.output<typeof FlowTable>;

export const FlowRunInput = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9._-]{0,79}$/, 'must be a slug of lower-case letters, digits and . _ -')
      .describe('the run name: its workflow id is pipeline:<id>'),
    openflow: z.record(z.string(), z.unknown()).describe('the OpenFlow file as Windmill writes it ({ summary, value, schema })'),
    scripts: ScriptTable.default({}).describe('script path → activity or workflow (for the sub-flows too)'),
    flows: FlowTable.default({}).describe('flow path → the OpenFlow file a `flow` step runs as a child pipelineWorkflow'),
    input: z.record(z.string(), z.unknown()).default({}).describe('the flow input (flow_input)'),
    task_queues: z.partialRecord(z.enum(DOMAINS), QueueName).default({}).describe("task queue per domain, instead of the domain's own"),
  })
  .strict();
export type FlowRunInput = z.output<typeof FlowRunInput>;

/** A sub-flow's run name: the parent's and the step's, as a slug FlowRunInput accepts. */
export function childFlowId(parent: string, step: string): string {
  const slug = `${parent}.${step}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  return (/^[a-z]/.test(slug) ? slug : `f${slug}`).slice(0, 80);
}

/** A pipelineWorkflow input is an OpenFlow run when it carries a file; otherwise it is a pipeline spec. */
export function isFlowRun(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'openflow');
}

/** A run of an OpenFlow file asking for a slot of its concurrency key (value.concurrent_limit). */
export interface FlowSlotHolder {
  workflowId: string;
  runId: string;
}
export interface FlowSlotClaim extends FlowSlotHolder {
  key: string;
  limit: number;
  windowSeconds: number;
}
/** Granted, or how many hold the key's slots and, when only starts in the window do, when one frees. */
export type FlowSlotAnswer = { granted: true } | { granted: false; held: number; retryInMs?: number };

/**
 * A flow's concurrency key as Windmill writes it: `$workspace` (here the Temporal namespace) and
 * `$args[name]` (a flow input field) filled in; without one, the flow's own id (Windmill: its path).
 */
export function flowConcurrencyKey(
  template: string | undefined,
  flowId: string,
  namespace: string,
  input: Record<string, unknown>,
): string {
  if (template === undefined || template === '') return `flow/${flowId}`;
  return template
    .replaceAll('$workspace', namespace)
    .replace(/\$args\[([A-Za-z_][A-Za-z0-9_]*)\]/g, (_, name: string) => {
      const value = input[name];
      return typeof value === 'string' ? value : JSON.stringify(value ?? null);
    })
    .slice(0, 255);
}

/** Windmill's names an expression reads. */
export interface FlowExpressionContext {
  flow_input: unknown;
  results: Record<string, unknown>;
  previous_result: unknown;
  [name: string]: unknown;
}
export interface FlowExpressionsInput {
  step: string;
  /** field → JavaScript text */
  expressions: Record<string, string>;
  context: FlowExpressionContext;
}
export interface FlowExpressionsResult {
  values: Record<string, unknown>;
}

function status(feature: string): FeatureStatus | undefined {
  return (FEATURES as Record<string, FeatureStatus>)[feature];
}
function notRun(feature: string): string | undefined {
  const s = status(feature);
  return s && s.status !== 'runs' ? s.reason : undefined;
}

/**
 * What keeps a valid file from running as Windmill would: script paths the table does not map,
 * and features `flows validate` accepts but the runner does not honour yet. One line per step and
 * field; an empty list means the run may start.
 */
export function runProblems(flow: OpenFlow, scripts: ScriptTable, flows: FlowTable = {}, within: string[] = []): string[] {
  const problems: string[] = [];
  for (const field of Object.keys(flow.value)) {
    const reason = notRun(`value.${field}`);
    if (reason) problems.push(`value.${field}: ${reason}`);
  }
  const visit = (m: FlowModule): void => {
    const step = `step '${m.id}'`;
    for (const option of Object.keys(m)) {
      const reason = notRun(`module.${option}`);
      if (reason) problems.push(`${step}: ${option}: ${reason}`);
    }
    if (m.timeout !== undefined && typeof m.timeout !== 'number')
      problems.push(`${step}: timeout: ${FEATURES['module.timeout.expr'].reason}`);
    const suspend = m.suspend as Record<string, unknown> | undefined;
    for (const field of Object.keys(suspend ?? {})) {
      const reason = notRun(`module.suspend.${field}`);
      if (reason) problems.push(`${step}: suspend.${field}: ${reason}`);
    }
    const v = m.value;
    const transforms = (v as { input_transforms?: Record<string, { type: string; value?: unknown }> }).input_transforms ?? {};
    for (const [arg, t] of Object.entries(transforms))
      if (t.type === 'static' && typeof t.value === 'string' && /^\$(res|var):/.test(t.value))
        problems.push(`${step}: input_transforms.${arg}: ${FEATURES['input.resources'].reason}`);
    const reason = notRun(`type.${v.type}`);
    if (reason) problems.push(`${step}: value.type '${v.type}': ${reason}`);
    if (v.type === 'script' && !Object.hasOwn(scripts, v.path))
      problems.push(`${step}: script path '${v.path}' is not in the scripts table`);
    if (v.type === 'flow') problems.push(...subFlowProblems(step, v.path, scripts, flows, within));
    if (v.type === 'whileloopflow') problems.push(...whileLoopProblems(m, v.max_iterations));
    nestedModules(v).forEach(visit);
    if (m.retry !== undefined && !['script', 'flow', 'rawscript'].includes(v.type))
      problems.push(`${step}: retry: ${FEATURES['module.retry.container'].reason}`);
  };
  flow.value.modules.forEach(visit);
  if (flow.value.failure_module) visit(flow.value.failure_module as FlowModule);
  return problems;
}

/**
 * A while loop's body runs at most this many times in all (iterations × steps in the body, at any
 * depth): the bound that keeps one run's history well inside Temporal's limits, a handful of
 * events per step run. No continue-as-new: a loop can sit at any depth of the flow, inside other
 * loops and branches, and its whole scope would have to travel to the next run.
 */
export const WHILE_LOOP_STEP_RUNS = 2_000;

/** A sub-flow must resolve, must not include itself, and must itself be able to run (checked whole, as its child run will). */
function subFlowProblems(step: string, path: string, scripts: ScriptTable, flows: FlowTable, within: string[]): string[] {
  if (!Object.hasOwn(flows, path)) return [`${step}: flow path '${path}' resolves to no flow file (<flows folder>/${path}.flow/flow.yaml)`];
  if (within.includes(path)) return [`${step}: flow path '${path}' runs itself (${[...within, path].join(' → ')})`];
  const check = checkFlow(JSON.parse(JSON.stringify(flows[path])) as unknown); // checkFlow fills defaults in place;
  const inner = check.flow ? [...check.problems, ...runProblems(check.flow, scripts, flows, [...within, path])] : check.problems;
  return inner.map((p) => `${step}: flow '${path}': ${p}`);
}

function stepsIn(modules: FlowModule[]): number {
  return modules.reduce((n, m) => n + 1 + stepsIn(nestedModules(m.value)), 0);
}

function whileLoopProblems(m: FlowModule, limit: number | undefined): string[] {
  const step = `step '${m.id}'`;
  if (limit === undefined)
    return [`${step}: value.max_iterations: a while loop runs only with an iteration limit (Windmill loops until cancelled)`];
  const steps = Math.max(1, stepsIn((m.value as { modules: FlowModule[] }).modules));
  if (limit * steps > WHILE_LOOP_STEP_RUNS)
    return [
      `${step}: value.max_iterations: ${limit} iterations of ${steps} step(s) exceed ${WHILE_LOOP_STEP_RUNS} step runs in one flow run`,
    ];
  return [];
}

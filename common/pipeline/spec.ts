import { z } from 'zod';
import { QualityChecksInput } from '../checks.js';
import { DOMAINS } from '../task-queues.js';
import { durationMs } from '../time.js';
import { checkGraph } from './graph.js';

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

/** Seconds (Windmill's unit) or a duration like `10m`; kept as milliseconds. */
const Duration = z.union(
  [
    z
      .number()
      .positive()
      .max(365 * 86_400)
      .transform((s) => Math.round(s * 1000)),
    z.string().transform((text, ctx) => {
      const ms = durationMs(text, { millis: true });
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

/**
 * A dataset's data-quality checks as a gate, after Dagster's blocking asset checks: a failing
 * (or unevaluable) blocking check fails the node, so the nodes after it do not run. The scope
 * is qualityChecksWorkflow's own input.
 */
const ChecksValue = z
  .object({ type: z.literal('checks'), ...QualityChecksInput.shape })
  .strict()
  .refine((c) => c.dataset === undefined || c.team === undefined, { message: 'give dataset or team, not both', path: ['team'] })
  .describe(
    "runs the checks of a dataset, a team's datasets or (neither) every dataset with checks; a failing blocking check fails the node " +
      '(with continue_on_error: marks it) so that what depends on it does not run; other failures only count',
  );

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
  | z.output<typeof ChecksValue>
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

export const NODE_KINDS = ['activity', 'workflow', 'forloopflow', 'branchone', 'branchall', 'suspend', 'sleep', 'checks'] as const;
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
  [ActivityValue, WorkflowValue, ForLoopValue, BranchOneValue, BranchAllValue, SuspendValue, SleepValue, ChecksValue],
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

// The graph checks and the run's types live beside the schema; importers take them from here.
export * from './graph.js';
export * from './run.js';

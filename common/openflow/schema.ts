import { z } from 'zod';

/**
 * OpenFlow as Windmill writes it (windmill-labs/windmill openflow.openapi.yaml). Objects are loose:
 * a field Windmill adds later that changes nothing here must not fail a real file; fields that
 * change behaviour are checked against the feature table (features.ts) by validate.ts.
 */

export const InputTransform = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('static'), value: z.unknown().optional() }),
  z.looseObject({ type: z.literal('javascript'), expr: z.string() }),
]);
export type InputTransform = z.output<typeof InputTransform>;
const InputTransforms = z.record(z.string(), InputTransform);

export const StopAfterIf = z.looseObject({
  expr: z.string(),
  skip_if_stopped: z.boolean().optional(),
  error_message: z.string().optional(),
});

export const Retry = z.looseObject({
  constant: z.looseObject({ attempts: z.number().int().min(0).default(0), seconds: z.number().min(0).default(0) }).optional(),
  exponential: z
    .looseObject({
      attempts: z.number().int().min(0).default(0),
      multiplier: z.number().min(0).default(1),
      seconds: z.number().min(0).default(0),
      random_factor: z.number().min(0).max(100).optional(),
    })
    .optional(),
  retry_if: z.looseObject({ expr: z.string() }).optional(),
});

export const Suspend = z.looseObject({
  required_events: z.number().int().min(0).optional(),
  timeout: z.number().min(0).optional(),
  resume_form: z.looseObject({ schema: z.record(z.string(), z.unknown()).optional() }).optional(),
  user_auth_required: z.boolean().optional(),
  user_groups_required: InputTransform.optional(),
  self_approval_disabled: z.boolean().optional(),
  hide_cancel: z.boolean().optional(),
  continue_on_disapprove_timeout: z.boolean().optional(),
});

export const RawScript = z.looseObject({
  type: z.literal('rawscript'),
  content: z.string(),
  language: z.string(),
  input_transforms: InputTransforms.default({}),
  path: z.string().optional(),
  lock: z.string().optional(),
  tag: z.string().optional(),
  concurrent_limit: z.number().optional(),
  concurrency_time_window_s: z.number().optional(),
  custom_concurrency_key: z.string().optional(),
});
export const PathScript = z.looseObject({
  type: z.literal('script'),
  path: z.string().min(1),
  input_transforms: InputTransforms.default({}),
  hash: z.string().optional(),
  tag_override: z.string().optional(),
});
export const PathFlow = z.looseObject({ type: z.literal('flow'), path: z.string().min(1), input_transforms: InputTransforms.default({}) });
export const Identity = z.looseObject({ type: z.literal('identity'), flow: z.boolean().optional() });
const Parallelism = z.union([z.number().int().min(1), InputTransform]);

export interface FlowModule {
  id: string;
  summary?: string;
  value: FlowModuleValue;
  [option: string]: unknown;
}
export type FlowModuleValue =
  | z.output<typeof RawScript>
  | z.output<typeof PathScript>
  | z.output<typeof PathFlow>
  | z.output<typeof Identity>
  | {
      type: 'forloopflow';
      modules: FlowModule[];
      iterator: InputTransform;
      skip_failures: boolean;
      parallel?: boolean;
      parallelism?: unknown;
    }
  | {
      type: 'whileloopflow';
      modules: FlowModule[];
      skip_failures: boolean;
      parallel?: boolean;
      parallelism?: unknown;
      max_iterations?: number;
    }
  | { type: 'branchone'; branches: { summary?: string; expr: string; modules: FlowModule[] }[]; default: FlowModule[] }
  | {
      type: 'branchall';
      branches: { summary?: string; skip_failure?: boolean; parallel?: boolean; modules: FlowModule[] }[];
      parallel?: boolean;
    }
  | { type: 'aiagent'; [field: string]: unknown };

/** The steps a loop or branch holds, in file order (none for a step that runs something). */
export function nestedModules(v: FlowModuleValue): FlowModule[] {
  switch (v.type) {
    case 'forloopflow':
    case 'whileloopflow':
      return v.modules;
    case 'branchone':
      return [...v.branches.flatMap((b) => b.modules), ...v.default];
    case 'branchall':
      return v.branches.flatMap((b) => b.modules);
    default:
      return [];
  }
}

const Modules: z.ZodType<FlowModule[], unknown> = z.lazy(() => z.array(FlowModuleSchema));

const ForloopFlow = z.looseObject({
  type: z.literal('forloopflow'),
  modules: Modules,
  iterator: InputTransform,
  skip_failures: z.boolean().default(false),
  parallel: z.boolean().optional(),
  parallelism: Parallelism.optional(),
  squash: z.boolean().optional(),
});
const WhileloopFlow = z.looseObject({
  type: z.literal('whileloopflow'),
  modules: Modules,
  skip_failures: z.boolean().default(false),
  parallel: z.boolean().optional(),
  parallelism: Parallelism.optional(),
  squash: z.boolean().optional(),
  // spokeflow's own field (Windmill loops until a break or a cancel): `flows run` requires it.
  max_iterations: z.number().int().min(1).optional(),
});
const BranchOne = z.looseObject({
  type: z.literal('branchone'),
  branches: z.array(z.looseObject({ summary: z.string().optional(), expr: z.string(), modules: Modules })),
  default: Modules.default([]),
});
const BranchAll = z.looseObject({
  type: z.literal('branchall'),
  branches: z.array(
    z.looseObject({
      summary: z.string().optional(),
      skip_failure: z.boolean().optional(),
      parallel: z.boolean().optional(),
      modules: Modules,
    }),
  ),
  parallel: z.boolean().optional(),
});
const AiAgent = z.looseObject({ type: z.literal('aiagent') });

export const MODULE_TYPES = [
  'rawscript',
  'script',
  'flow',
  'forloopflow',
  'whileloopflow',
  'branchone',
  'branchall',
  'identity',
  'aiagent',
] as const;

const FlowModuleValueSchema = z.discriminatedUnion(
  'type',
  [RawScript, PathScript, PathFlow, ForloopFlow, WhileloopFlow, BranchOne, BranchAll, Identity, AiAgent],
  {
    error: (issue) => {
      const kind = (issue.input as { type?: unknown } | undefined)?.type;
      return issue.code === 'invalid_union' && kind !== undefined
        ? `unknown step type ${JSON.stringify(kind)}: one of ${MODULE_TYPES.join(', ')}`
        : undefined;
    },
  },
);

const FlowModuleSchema = z.looseObject({
  id: z.string().min(1),
  summary: z.string().optional(),
  value: FlowModuleValueSchema,
  stop_after_if: StopAfterIf.optional(),
  stop_after_all_iters_if: StopAfterIf.optional(),
  skip_if: z.looseObject({ expr: z.string() }).optional(),
  sleep: InputTransform.optional(),
  cache_ttl: z.number().optional(),
  timeout: z.union([z.number().min(0), InputTransform]).optional(),
  delete_after_use: z.boolean().optional(),
  mock: z.looseObject({ enabled: z.boolean().optional(), return_value: z.unknown().optional() }).optional(),
  suspend: Suspend.optional(),
  priority: z.number().optional(),
  continue_on_error: z.boolean().optional(),
  retry: Retry.optional(),
}) as unknown as z.ZodType<FlowModule, unknown>;

export const FlowValue = z.looseObject({
  modules: Modules,
  failure_module: FlowModuleSchema.optional(),
  preprocessor_module: FlowModuleSchema.optional(),
  same_worker: z.boolean().optional(),
  concurrent_limit: z.number().optional(),
  concurrency_key: z.string().optional(),
  concurrency_time_window_s: z.number().optional(),
  skip_expr: z.string().optional(),
  cache_ttl: z.number().optional(),
  priority: z.number().optional(),
  early_return: z.string().optional(),
});

export const OpenFlow = z.looseObject({
  summary: z.string().default(''),
  description: z.string().optional(),
  value: FlowValue,
  schema: z.record(z.string(), z.unknown()).optional(),
});
export type OpenFlow = z.output<typeof OpenFlow>;

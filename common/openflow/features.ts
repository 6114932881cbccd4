/**
 * Every OpenFlow feature and what spokeflow does with it: the one place validation, docs and the
 * CLI read. Behaviour references: windmill-labs/windmill openflow.openapi.yaml.
 *
 * - runs: `flows validate` accepts it and `flows run` honours it with Windmill's meaning;
 * - validated: `flows validate` accepts it, `flows run` refuses to start a flow using it (step and
 *   field named, with the reason) rather than run it differently;
 * - refused: `flows validate` itself refuses it.
 */
export type FeatureStatus = { status: 'runs' } | { status: 'validated'; reason: string } | { status: 'refused'; reason: string };
const runs = { status: 'runs' } as const;
const later = (reason: string) => ({ status: 'validated', reason }) as const;

export const FEATURES = {
  'value.modules': runs,
  'value.failure_module': runs,
  'value.preprocessor_module': later('preprocessor modules do not run yet'),
  'value.same_worker': later('steps are activities on any worker: no shared folder between them'),
  'value.concurrent_limit': runs, // across runs, slots in the catalog (workflows/pipeline/flow/concurrency.ts)
  'value.concurrency_key': runs, // $workspace (the namespace) and $args[name] filled in
  'value.concurrency_time_window_s': runs,
  'value.skip_expr': later('skipping a whole flow by expression does not run yet'),
  'value.cache_ttl': later('result caching is not implemented'),
  'value.priority': later('priorities are not mapped to Temporal yet'),
  'value.early_return': runs, // flows run returns that top-level step's result; the run goes on
  'value.notes': runs,
  'value.groups': runs,
  'value.flow_env': { status: 'refused', reason: 'flow environment variables are not passed to steps' },
  'value.debounce_delay_s': { status: 'refused', reason: 'debounced starts are not implemented' },
  'value.debounce_key': { status: 'refused', reason: 'debounced starts are not implemented' },
  'value.chat_input_enabled': { status: 'refused', reason: 'chat input is not implemented' },
  'type.rawscript': later('rawscript sandboxes do not run yet: map the step to a script by path'),
  'type.script': runs,
  'type.flow': runs, // a child pipelineWorkflow; its file from the flows folder (cli/flow-run.ts)
  'type.forloopflow': runs,
  'type.whileloopflow': runs, // with spokeflow's required value.max_iterations (common/openflow/run.ts)
  'type.branchone': runs,
  'type.branchall': runs,
  'type.identity': runs,
  'type.aiagent': { status: 'refused', reason: 'AI agent steps are not implemented' },
  'module.input_transforms': runs,
  'input.resources': later('$res: and $var: values do not resolve yet (they would reach the step as text)'),
  'module.stop_after_if': runs,
  'module.stop_after_all_iters_if': runs,
  'module.skip_if': runs,
  'module.sleep': runs,
  'module.suspend': runs,
  'module.suspend.required_events': runs, // that many approve updates; the first rejection decides
  'module.suspend.timeout': runs,
  'module.suspend.resume_form': runs, // its schema checks each approval's payload (the update is refused)
  'module.suspend.user_auth_required': later('approvers are not authenticated yet'),
  'module.suspend.self_approval_disabled': later('approvers are not authenticated yet'),
  'module.suspend.continue_on_disapprove_timeout': runs, // the next step reads Windmill's { error } as resume
  'module.suspend.hide_cancel': runs,
  'module.suspend.user_groups_required': { status: 'refused', reason: 'approver groups are not checked' },
  'module.retry': runs,
  'module.retry.container': later('retries run on script steps only, not on loops and branches'),
  'module.retry.retry_if': { status: 'refused', reason: 'conditional retries are not implemented' },
  'module.timeout': runs,
  'module.timeout.expr': later('a timeout must be a number of seconds to run'),
  'module.continue_on_error': runs,
  'module.cache_ttl': later('result caching is not implemented'),
  'module.cache_ignore_s3_path': { status: 'refused', reason: 'result caching by S3 path is not implemented' },
  'module.priority': later('priorities are not mapped to Temporal yet'),
  'module.mock': runs,
  'module.delete_after_use': later('results are kept in history: they cannot be deleted after use'),
  'rawscript.tag': { status: 'refused', reason: 'worker tags are not mapped to task queues' },
} as const satisfies Record<string, FeatureStatus>;
export type Feature = keyof typeof FEATURES;

/** rawscript languages that run in a sandboxed child process; the rest of Windmill's are refused. */
export const RAWSCRIPT_LANGUAGES = {
  deno: later('rawscripts do not run yet'),
  bun: later('rawscripts do not run yet'),
  nativets: later('rawscripts do not run yet'),
  bash: later('rawscripts do not run yet'),
  python3: later('rawscripts do not run yet'),
  postgresql: later('rawscripts do not run yet'),
  mysql: later('rawscripts do not run yet'),
} as const satisfies Record<string, FeatureStatus>;

export function featureStatus(feature: string): FeatureStatus | undefined {
  return (FEATURES as Record<string, FeatureStatus>)[feature];
}

/** The table as lines, for docs and reports. */
export function featureTable(): { feature: string; status: string; reason?: string }[] {
  return Object.entries(FEATURES as Record<string, FeatureStatus>).map(([feature, s]) => ({
    feature,
    status: s.status,
    ...(s.status !== 'runs' ? { reason: s.reason } : {}),
  }));
}

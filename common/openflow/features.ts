/**
 * Every OpenFlow feature and what spokeflow does with it: the one place validation, docs and the
 * CLI read. Behaviour references: windmill-labs/windmill openflow.openapi.yaml.
 */
export type FeatureStatus = { status: 'supported' } | { status: 'refused'; reason: string };

export const FEATURES = {
  'value.modules': { status: 'supported' },
  'value.failure_module': { status: 'supported' },
  'value.preprocessor_module': { status: 'supported' },
  'value.same_worker': { status: 'supported' },
  'value.concurrent_limit': { status: 'supported' },
  'value.concurrency_key': { status: 'supported' },
  'value.concurrency_time_window_s': { status: 'supported' },
  'value.skip_expr': { status: 'supported' },
  'value.cache_ttl': { status: 'supported' },
  'value.priority': { status: 'supported' },
  'value.early_return': { status: 'supported' },
  'value.notes': { status: 'supported' },
  'value.groups': { status: 'supported' },
  'value.flow_env': { status: 'refused', reason: 'flow environment variables are not passed to steps' },
  'value.debounce_delay_s': { status: 'refused', reason: 'debounced starts are not implemented' },
  'value.debounce_key': { status: 'refused', reason: 'debounced starts are not implemented' },
  'value.chat_input_enabled': { status: 'refused', reason: 'chat input is not implemented' },
  'type.rawscript': { status: 'supported' },
  'type.script': { status: 'supported' },
  'type.flow': { status: 'supported' },
  'type.forloopflow': { status: 'supported' },
  'type.whileloopflow': { status: 'supported' },
  'type.branchone': { status: 'supported' },
  'type.branchall': { status: 'supported' },
  'type.identity': { status: 'supported' },
  'type.aiagent': { status: 'refused', reason: 'AI agent steps are not implemented' },
  'module.input_transforms': { status: 'supported' },
  'module.stop_after_if': { status: 'supported' },
  'module.stop_after_all_iters_if': { status: 'supported' },
  'module.skip_if': { status: 'supported' },
  'module.sleep': { status: 'supported' },
  'module.suspend': { status: 'supported' },
  'module.suspend.user_groups_required': { status: 'refused', reason: 'approver groups are not checked' },
  'module.retry': { status: 'supported' },
  'module.retry.retry_if': { status: 'refused', reason: 'conditional retries are not implemented' },
  'module.timeout': { status: 'supported' },
  'module.continue_on_error': { status: 'supported' },
  'module.cache_ttl': { status: 'supported' },
  'module.cache_ignore_s3_path': { status: 'refused', reason: 'result caching by S3 path is not implemented' },
  'module.priority': { status: 'supported' },
  'module.mock': { status: 'supported' },
  'module.delete_after_use': { status: 'supported' },
  'rawscript.tag': { status: 'refused', reason: 'worker tags are not mapped to task queues' },
} as const satisfies Record<string, FeatureStatus>;
export type Feature = keyof typeof FEATURES;

/** rawscript languages that run in a sandboxed child process; the rest of Windmill's are refused. */
export const RAWSCRIPT_LANGUAGES = {
  deno: { status: 'supported' },
  bun: { status: 'supported' },
  nativets: { status: 'supported' },
  bash: { status: 'supported' },
  python3: { status: 'supported' },
  postgresql: { status: 'supported' },
  mysql: { status: 'supported' },
} as const satisfies Record<string, FeatureStatus>;

export function featureStatus(feature: string): FeatureStatus | undefined {
  return (FEATURES as Record<string, FeatureStatus>)[feature];
}

/** The table as lines, for docs and reports. */
export function featureTable(): { feature: string; status: string; reason?: string }[] {
  return Object.entries(FEATURES as Record<string, FeatureStatus>).map(([feature, s]) => ({
    feature,
    status: s.status,
    ...(s.status === 'refused' ? { reason: s.reason } : {}),
  }));
}

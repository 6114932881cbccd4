import { SimplePlugin, type SimplePluginOptions } from '@temporalio/plugin';
import type { Tracing } from '../runtime/tracing.js';
import { WORKFLOW_BUNDLE_PATH, WORKFLOW_TRACED_BUNDLE_PATH } from './plugin-options.js';

type BundleParameter = Extract<NonNullable<SimplePluginOptions['workflowBundle']>, (...args: never[]) => unknown>;

// A prebuilt bundle cannot take interceptor modules at worker start: its traced twin holds them.
const tracedBundle: BundleParameter = (existing) =>
  (existing && 'codePath' in existing && existing.codePath === WORKFLOW_BUNDLE_PATH
    ? { codePath: WORKFLOW_TRACED_BUNDLE_PATH }
    : existing)!;

/**
 * What a worker that traces loads after its domain plugins: the SDK's OpenTelemetry plugin
 * (client, activity and workflow interceptors, the sink exporting workflow spans) and, when it runs
 * the pack's prebuilt bundle, the bundle built with those workflow interceptors. Nothing otherwise.
 */
export function tracingPlugins(tracing: Tracing | undefined): SimplePlugin[] {
  if (!tracing) return [];
  return [tracing.plugin, new SimplePlugin({ name: 'spokeflow.traced-bundle', workflowBundle: tracedBundle })];
}

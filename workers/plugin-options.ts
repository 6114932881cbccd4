import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { SimplePluginOptions } from '@temporalio/plugin';
import type { BundleOptions } from '@temporalio/worker';
import type { Clients } from '../runtime/clients.js';
import type { SpokeflowConfig } from '../runtime/config.js';
import { FAILURE_CONVERTER_PATH } from '../runtime/data-converter.js';
import { siblingModule } from '../runtime/package-paths.js';

/**
 * The workflow code of the whole pack. Temporal's plugin API takes one `workflowsPath` per worker,
 * so every domain plugin registers the same module: loading two of them is harmless, and a worker
 * that has its own workflows re-exports ours from its module (`export * from 'spokeflow/workflows'`).
 */
export const WORKFLOWS_PATH = fileURLToPath(siblingModule('../workflows/index', import.meta.url));

/** The pack's workflows bundled once by `npm run build` (infra/build.ts); only the compiled package has it. */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../workflow-bundles/spokeflow.js', import.meta.url));

/** The same bundle with the SDK's OpenTelemetry workflow interceptors, for workers that trace. */
export const WORKFLOW_TRACED_BUNDLE_PATH = fileURLToPath(new URL('../workflow-bundles/spokeflow-traced.js', import.meta.url));

/** The SDK's workflow interceptors of OpenTelemetry (what its plugin adds to a worker that bundles at start). */
export const TRACING_WORKFLOW_MODULES = [
  createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * What the workflow bundle is made of, for the build and for workers that bundle at start alike:
 * interceptor modules or a payload converter go here, in one place.
 */
export function workflowBundleOptions(
  options: { traced?: boolean } = {},
): Pick<BundleOptions, 'workflowsPath' | 'failureConverterPath' | 'workflowInterceptorModules'> {
  // The failure converter encodes failure messages; a worker given a prebuilt bundle cannot add it later.
  return {
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(options.traced ? { workflowInterceptorModules: TRACING_WORKFLOW_MODULES } : {}),
  };
}

/** 'bundle' where the prebuilt bundle sits next to the code (the compiled package), else 'source'. */
export function defaultWorkflowCode(): WorkflowCode {
  return existsSync(WORKFLOW_BUNDLE_PATH) ? 'bundle' : 'source';
}

/** The `workflowsPath` parameter of every spokeflow plugin. */
export function sharedWorkflowsPath(existing: string | undefined): string {
  if (existing && existing !== WORKFLOWS_PATH) {
    throw new Error(
      `this worker already has workflowsPath ${existing}; re-export spokeflow's workflows from it ` +
        `(export * from '${WORKFLOWS_PATH}') and pass registerWorkflows: false to the spokeflow plugins`,
    );
  }
  return WORKFLOWS_PATH;
}

type WorkflowBundleOption = NonNullable<Exclude<SimplePluginOptions['workflowBundle'], (...args: never[]) => unknown>>;

/** The `workflowBundle` parameter of every spokeflow plugin: one bundle, however many plugins load it. */
export function sharedWorkflowBundle(existing: WorkflowBundleOption | undefined): WorkflowBundleOption {
  const codePath = existing && 'codePath' in existing ? existing.codePath : undefined;
  if (codePath === WORKFLOW_TRACED_BUNDLE_PATH) return existing!; // a tracing worker's choice (workers/tracing-plugins.ts)
  if (existing && codePath !== WORKFLOW_BUNDLE_PATH) {
    throw new Error(
      `this worker already has a workflow bundle; bundle spokeflow's workflows into it ` +
        `(export * from 'spokeflow/workflows') and pass registerWorkflows: false to the spokeflow plugins`,
    );
  }
  return { codePath: WORKFLOW_BUNDLE_PATH };
}

/** The part of a plugin that registers the pack's workflow code, prebuilt or bundled at worker start. */
export function workflowCodeParameters(mode: WorkflowCode): Pick<SimplePluginOptions, 'workflowsPath' | 'workflowBundle'> {
  return mode === 'bundle' ? { workflowBundle: sharedWorkflowBundle } : { workflowsPath: sharedWorkflowsPath };
}

/** `bundle`: the prebuilt dist/workflow-bundles/spokeflow.js; `source`: webpack bundles the workflows at worker start. */
export type WorkflowCode = 'bundle' | 'source';

export interface PluginOptions {
  config?: SpokeflowConfig;
  clients?: Clients;
  /** false when the worker already bundles spokeflow's workflows itself (see WORKFLOWS_PATH). */
  registerWorkflows?: boolean;
  /** Where the workflow code comes from; 'bundle' when the package was built, else 'source'. */
  workflowCode?: WorkflowCode;
}

import { fileURLToPath } from 'node:url';
import type { Clients } from '../runtime/clients.js';
import type { SpokeflowConfig } from '../runtime/config.js';

/**
 * The workflow code of the whole pack. Temporal's plugin API takes one `workflowsPath` per worker,
 * so every domain plugin registers the same module: loading two of them is harmless, and a worker
 * that has its own workflows re-exports ours from its module (`export * from 'spokeflow/workflows'`).
 */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

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

export interface PluginOptions {
  config?: SpokeflowConfig;
  clients?: Clients;
  /** false when the worker already bundles spokeflow's workflows itself (see WORKFLOWS_PATH). */
  registerWorkflows?: boolean;
}

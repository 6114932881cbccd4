import { SimplePlugin } from '@temporalio/plugin';
import { withErrorClassification } from '../activities/store-errors.js';
import { createClients, storeErrorClassifier, type Clients } from '../runtime/clients.js';
import { loadConfig, type SpokeflowConfig } from '../runtime/config.js';
import { spokeflowDataConverter } from '../runtime/data-converter.js';
import { redactingActivityErrors, redactorOf } from '../runtime/redact.js';
import { defaultWorkflowCode, workflowCodeParameters, type PluginOptions } from './plugin-options.js';

/** Something a plugin holds for as long as its worker runs. */
export interface Closable {
  close(): unknown;
}

/** The config and clients a plugin runs with: the caller's, or its own (`opened`, which it must close). */
export function resolveRuntime(options: PluginOptions): { config: SpokeflowConfig; clients: Clients; opened: Closable[] } {
  const config = options.config ?? loadConfig();
  if (options.clients) return { config, clients: options.clients, opened: [] };
  const clients = createClients(config);
  return { config, clients, opened: [clients] };
}

/** Closes every one, even when another fails; the first failure is rethrown. */
export async function closeAll(closables: readonly Closable[]): Promise<void> {
  const results = await Promise.allSettled(closables.map(async (c) => c.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs a worker (`next`), then closes what was opened for it. */
export async function closingAfter(next: () => Promise<void>, closables: readonly Closable[]): Promise<void> {
  try {
    await next();
  } finally {
    await closeAll(closables);
  }
}

/** What a domain's plugin is made of, given its config and clients. */
export interface PluginParts {
  activities: object;
  /** What the domain opened for this plugin (threads, pools): closed when the worker stops. */
  owns?: Closable[];
}

/**
 * A domain plugin factory: resolves the config, uses the caller's clients or opens its own,
 * registers the shared workflows, and when its worker stops closes exactly what it opened —
 * its own clients (never the caller's) and what the domain says it owns.
 */
export function definePlugin<O extends PluginOptions = PluginOptions>(
  name: string,
  build: (runtime: { config: SpokeflowConfig; clients: Clients; options: O }) => PluginParts,
): (options?: O) => SimplePlugin {
  return (options = {} as O) => {
    const { config, clients, opened } = resolveRuntime(options);
    let parts: PluginParts;
    try {
      parts = build({ config, clients, options });
    } catch (err) {
      void closeAll(opened).catch(() => undefined); // the build's error is the one to report
      throw err;
    }
    const owned = [...(parts.owns ?? []), ...opened];
    return new SimplePlugin({
      name,
      // A store's permanent error (wrong password, unknown database …) fails at once, saying what to fix.
      activities: withErrorClassification(parts.activities, storeErrorClassifier(config)),
      dataConverter: spokeflowDataConverter(config), // payload encryption, when keys are configured
      workerInterceptors: { activity: [redactingActivityErrors(redactorOf(config))] }, // no credential in a failure
      ...(options.registerWorkflows === false ? {} : workflowCodeParameters(options.workflowCode ?? defaultWorkflowCode())),
      runContext: (next) => closingAfter(next, owned),
    });
  };
}

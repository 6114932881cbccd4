import { fileURLToPath } from 'node:url';
import { SimplePlugin } from '@temporalio/plugin';
import { createBackfillActivities } from '../activities/ingestion/backfill.js';
import { createIngestionActivities } from '../activities/ingestion/index.js';
import { createParquetEncoder } from '../activities/ingestion/parquet-encoder.js';
import { createSyncMetrics } from '../activities/metrics/sync-metrics.js';
import { createBronzeStore } from '../activities/objects/bronze.js';
import { createSourceConnections } from '../activities/sources/index.js';
import type { Domain } from '../common/task-queues.js';
import { createClients, type Clients } from './clients.js';
import { loadConfig, sourceUrl, type SpokeflowConfig } from './config.js';

/**
 * The workflow code of the whole pack. Temporal's plugin API takes one `workflowsPath` per worker,
 * so every domain plugin registers the same module: loading two of them is harmless, and a worker
 * that has its own workflows re-exports ours from its module (`export * from 'spokeflow/workflows'`).
 */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

function sharedWorkflowsPath(existing: string | undefined): string {
  if (existing && existing !== WORKFLOWS_PATH) {
    throw new Error(
      `this worker already has workflowsPath ${existing}; re-export spokeflow's workflows from it ` +
        `(export * from '${WORKFLOWS_PATH}') and drop workflowsPath from the spokeflow plugin options`,
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

/** The ingestion domain: sync and backfill, against the source, MinIO, MySQL and InfluxDB. */
export function ingestionPlugin(options: PluginOptions = {}): SimplePlugin {
  const config = options.config ?? loadConfig();
  const clients = options.clients ?? createClients(config);
  const sources = createSourceConnections((_kind, name) => sourceUrl(config, name));
  const parquet = createParquetEncoder();
  const activities = createIngestionActivities({
    catalog: clients.catalog,
    catalogDatabase: config.mysql.database,
    silverDatabase: config.mysql.silverDatabase,
    bronze: createBronzeStore(clients.minio, config.minio.bronzeBucket),
    metrics: createSyncMetrics(clients.influx, config.influx.org, config.influx.bucket),
    sources,
    parquet,
  });
  const backfill = createBackfillActivities({ catalog: clients.catalog, sync: activities });
  return new SimplePlugin({
    name: 'spokeflow.ingestion',
    activities: { ...activities, ...backfill },
    ...(options.registerWorkflows === false ? {} : { workflowsPath: sharedWorkflowsPath }),
    // Source pools live as long as the worker.
    runContext: async (next) => {
      try {
        await next();
      } finally {
        await Promise.all([sources.closeAll(), parquet.close()]);
      }
    },
  });
}

/** The plugins of each domain; domains whose workflows have not landed yet have none. */
export const DOMAIN_PLUGINS: Partial<Record<Domain, (options: PluginOptions) => SimplePlugin>> = {
  ingestion: ingestionPlugin,
};

import type { SimplePlugin } from '@temporalio/plugin';
import { createBackfillActivities } from '../activities/ingestion/backfill.js';
import { createIngestionActivities } from '../activities/ingestion/index.js';
import { createParquetEncoder } from '../activities/ingestion/parquet-encoder.js';
import { createSyncMetrics } from '../activities/metrics/sync-metrics.js';
import { createBronzeStore } from '../activities/objects/bronze.js';
import { createSourceConnections } from '../activities/sources/index.js';
import type { Domain } from '../common/task-queues.js';
import { sourceUrl } from '../runtime/config.js';
import { definePlugin } from './define-plugin.js';
import type { PluginOptions } from './plugin-options.js';
import { withPipelines } from './pipeline-plugin.js';
import { notificationsPlugin } from './notifications-plugin.js';
import { knowledgePlugin } from './knowledge-plugin.js';
import { qualityPlugin } from './quality-plugin.js';

export { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH, type PluginOptions, type WorkflowCode } from './plugin-options.js';

/** The ingestion domain: sync and backfill, against the source, MinIO, MySQL and InfluxDB. */
export const ingestionPlugin = definePlugin('spokeflow.ingestion', ({ config, clients }) => {
  // Source pools and the Parquet thread live as long as the worker.
  const sources = createSourceConnections((_kind, name) => sourceUrl(config, name), clients.tracer);
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
  return { activities: { ...activities, ...backfill }, owns: [{ close: () => sources.closeAll() }, parquet] };
});

/** The plugins of each domain; domains whose workflows have not landed yet have none. */
export const DOMAIN_PLUGINS: Partial<Record<Domain, (options: PluginOptions) => SimplePlugin>> = {
  ingestion: withPipelines(ingestionPlugin), // pipelines run on the ingestion queue (workers/pipeline-plugin.ts)
  quality: qualityPlugin,
  knowledge: knowledgePlugin,
  notifications: notificationsPlugin,
};

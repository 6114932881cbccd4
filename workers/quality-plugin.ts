import { SimplePlugin } from '@temporalio/plugin';
import { createHealthActivities } from '../activities/quality/health.js';
import { createQualityActivities } from '../activities/quality/index.js';
import { createThreadScorer } from '../activities/quality/series-scorer.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { sharedWorkflowsPath, type PluginOptions } from './plugin-options.js';

/** The quality domain: anomaly scan and health scoring, against InfluxDB (run metrics, scores) and MySQL. */
export function qualityPlugin(options: PluginOptions = {}): SimplePlugin {
  const config = options.config ?? loadConfig();
  const clients = options.clients ?? createClients(config);
  const scorer = createThreadScorer();
  const stores = { catalog: clients.catalog, influx: clients.influx, influxOrg: config.influx.org, influxBucket: config.influx.bucket };
  const activities = { ...createQualityActivities({ ...stores, scorer }), ...createHealthActivities(stores) };
  return new SimplePlugin({
    name: 'spokeflow.quality',
    activities,
    ...(options.registerWorkflows === false ? {} : { workflowsPath: sharedWorkflowsPath }),
    // The scoring thread lives as long as the worker.
    runContext: async (next) => {
      try {
        await next();
      } finally {
        await scorer.close();
      }
    },
  });
}

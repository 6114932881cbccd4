import { createHealthActivities } from '../activities/quality/health.js';
import { createQualityActivities } from '../activities/quality/index.js';
import { createThreadScorer } from '../activities/quality/series-scorer.js';
import { definePlugin } from './define-plugin.js';

/** The quality domain: anomaly scan and health scoring, against InfluxDB (run metrics, scores) and MySQL. */
export const qualityPlugin = definePlugin('spokeflow.quality', ({ config, clients }) => {
  // The scoring thread lives as long as the worker.
  const scorer = createThreadScorer();
  const stores = { catalog: clients.catalog, influx: clients.influx, influxOrg: config.influx.org, influxBucket: config.influx.bucket };
  return {
    activities: { ...createQualityActivities({ ...stores, scorer }), ...createHealthActivities(stores) },
    owns: [scorer],
  };
});

import { createChecksActivities } from '../activities/quality/checks.js';
import { createHealthActivities } from '../activities/quality/health.js';
import { createQualityActivities } from '../activities/quality/index.js';
import { createThreadScorer } from '../activities/quality/series-scorer.js';
import { createCheckMetrics } from '../activities/metrics/check-metrics.js';
import { createCheckSamples } from '../activities/objects/check-samples.js';
import { definePlugin } from './define-plugin.js';

/**
 * The quality domain: anomaly scan, health scoring and data-quality checks, against InfluxDB
 * (run metrics, scores, check points), MySQL (catalog and silver) and MinIO (failing-row samples).
 */
export const qualityPlugin = definePlugin('spokeflow.quality', ({ config, clients }) => {
  // The scoring thread lives as long as the worker.
  const scorer = createThreadScorer();
  const stores = { catalog: clients.catalog, influx: clients.influx, influxOrg: config.influx.org, influxBucket: config.influx.bucket };
  const checks = createChecksActivities({
    catalog: clients.catalog,
    silverDatabase: config.mysql.silverDatabase,
    silverSite: {
      store: 'MySQL silver',
      address: `${config.mysql.host}:${config.mysql.port}`,
      database: config.mysql.silverDatabase,
      setting: 'the MYSQL_* settings',
    },
    samples: createCheckSamples(clients.minio, config.minio.bronzeBucket),
    metrics: createCheckMetrics(clients.influx, config.influx.org, config.influx.bucket),
  });
  return {
    activities: { ...createQualityActivities({ ...stores, scorer }), ...createHealthActivities(stores), ...checks },
    owns: [scorer],
  };
});

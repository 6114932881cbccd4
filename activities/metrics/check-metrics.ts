import type { InfluxDB } from '@influxdata/influxdb-client';
import type { StoredCheckResult } from '../catalog/check-results.js';
import { measurementPoint } from './measurements.js';

/** A point per check and run (`check_result`), for charts of failing rows over time. */
export function createCheckMetrics(influx: InfluxDB, org: string, bucket: string) {
  return {
    async write(results: StoredCheckResult[], runStartedAtMs: number): Promise<number> {
      if (results.length === 0) return 0;
      const writeApi = influx.getWriteApi(org, bucket, 'ms', { maxRetries: 3 });
      const at = new Date(runStartedAtMs);
      for (const r of results) {
        writeApi.writePoint(
          measurementPoint(
            'check_result',
            { dataset: r.dataset, team: r.team, check: r.checkId, kind: r.kind, severity: r.severity },
            {
              passed: r.status === 'passed' ? 1 : 0,
              errored: r.status === 'errored' ? 1 : 0,
              failing: r.failing ?? undefined,
              failing_ratio: r.ratio ?? undefined,
              observed: r.observed ?? undefined,
              duration_seconds: r.durationMs / 1000,
            },
            at,
          ),
        );
      }
      await writeApi.close();
      return results.length;
    },
  };
}
export type CheckMetrics = ReturnType<typeof createCheckMetrics>;

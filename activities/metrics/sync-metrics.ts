import type { InfluxDB } from '@influxdata/influxdb-client';
import { measurementPoint } from './measurements.js';

export interface SyncRunMetrics {
  dataset: string;
  team: string;
  mode: string;
  status: string;
  startedAtMs: number;
  durationMs: number;
  rows: number;
  bytes: number;
  objects: number;
  quarantined: number;
  deleted: number;
  /** Seconds between the newest synced cursor and the end of the run, when the cursor is a time. */
  lagSeconds: number | null;
  nullCounts: Record<string, number>;
}

/**
 * Run metrics for charts and the anomaly scan. Points are stamped with the run's start, so a
 * re-written run overwrites its own points instead of adding new ones.
 */
export function createSyncMetrics(influx: InfluxDB, org: string, bucket: string) {
  return {
    async write(m: SyncRunMetrics): Promise<void> {
      const writeApi = influx.getWriteApi(org, bucket, 'ms', { maxRetries: 3 });
      const at = new Date(m.startedAtMs);
      writeApi.writePoint(
        measurementPoint(
          'sync_run',
          { dataset: m.dataset, team: m.team, mode: m.mode, status: m.status },
          {
            rows: m.rows,
            bytes: m.bytes,
            objects: m.objects,
            quarantined: m.quarantined,
            deleted: m.deleted,
            duration_seconds: m.durationMs / 1000,
            freshness_lag_seconds: m.lagSeconds ?? undefined,
          },
          at,
        ),
      );
      for (const [column, nulls] of Object.entries(m.nullCounts)) {
        writeApi.writePoint(
          measurementPoint(
            'sync_column',
            { dataset: m.dataset, team: m.team, column },
            { nulls, null_rate: m.rows > 0 ? nulls / m.rows : 0 },
            at,
          ),
        );
      }
      await writeApi.close();
    },
  };
}
export type SyncMetrics = ReturnType<typeof createSyncMetrics>;

import { Point, type InfluxDB } from '@influxdata/influxdb-client';

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
      const run = new Point('sync_run')
        .tag('dataset', m.dataset)
        .tag('team', m.team)
        .tag('mode', m.mode)
        .tag('status', m.status)
        .intField('rows', m.rows)
        .intField('bytes', m.bytes)
        .intField('objects', m.objects)
        .intField('quarantined', m.quarantined)
        .intField('deleted', m.deleted)
        .floatField('duration_seconds', m.durationMs / 1000)
        .timestamp(at);
      if (m.lagSeconds !== null) run.floatField('freshness_lag_seconds', m.lagSeconds);
      writeApi.writePoint(run);
      for (const [column, nulls] of Object.entries(m.nullCounts)) {
        writeApi.writePoint(
          new Point('sync_column')
            .tag('dataset', m.dataset)
            .tag('team', m.team)
            .tag('column', column)
            .intField('nulls', nulls)
            .floatField('null_rate', m.rows > 0 ? nulls / m.rows : 0)
            .timestamp(at),
        );
      }
      await writeApi.close();
    },
  };
}
export type SyncMetrics = ReturnType<typeof createSyncMetrics>;

import type { InfluxDB } from '@influxdata/influxdb-client';
import { measurementPoint } from './measurements.js';

export interface DatasetDayScore {
  dataset: string;
  team: string;
  score: number;
  documentation: number;
  freshness: number;
  reliability: number;
  quality: number;
  /** Null for a dataset without a checks component (the field is then left out). */
  checks: number | null;
}

export interface TeamDayScore {
  team: string;
  score: number;
  datasets: number;
  worstScore: number;
}

/**
 * A day's health as InfluxDB series, stamped at the day's midnight UTC so a re-run overwrites
 * them: `health_score` per dataset and `team_health` per team.
 */
export function createHealthSeries(influx: InfluxDB, org: string, bucket: string) {
  return {
    async write(at: Date, datasets: DatasetDayScore[], teams: TeamDayScore[]): Promise<number> {
      const write = influx.getWriteApi(org, bucket, 's', { batchSize: 10_000, maxRetries: 3 });
      try {
        for (const r of datasets) {
          const { dataset, team, score, documentation, freshness, reliability, quality, checks } = r;
          const fields = { score, documentation, freshness, reliability, quality, checks: checks ?? undefined };
          write.writePoint(measurementPoint('health_score', { dataset, team }, fields, at));
        }
        for (const r of teams) {
          write.writePoint(
            measurementPoint('team_health', { team: r.team }, { score: r.score, datasets: r.datasets, worst_score: r.worstScore }, at),
          );
        }
        await write.close();
      } catch (err) {
        await write.close().catch(() => undefined);
        throw err;
      }
      return datasets.length + teams.length;
    },
  };
}
export type HealthSeries = ReturnType<typeof createHealthSeries>;

import type { InfluxDB } from '@influxdata/influxdb-client';
import type { Pool } from 'mysql2/promise';
import type { HealthPlan, HealthSpec, TeamHealthSummary } from '../../common/health.js';
import { dayStartMs } from '../../common/time.js';
import { heartbeat } from '../activity-context.js';
import { createHealthStore } from '../catalog/health-store.js';
import { createHealthSeries } from '../metrics/health-series.js';
import { scoreDataset } from './health-score.js';

export interface HealthDeps {
  /** MySQL catalog database: datasets, sync runs, anomalies, and the health history. */
  catalog: Pool;
  influx: InfluxDB;
  influxOrg: string;
  influxBucket: string;
}

/**
 * Health scoring's activities. Every step is set-based over the whole catalog (or one team): a few
 * grouped queries, one pass of the pure scorer, bulk upserts; only counts go back to the workflow.
 */
export function createHealthActivities(deps: HealthDeps) {
  const store = createHealthStore(deps.catalog);
  const series = createHealthSeries(deps.influx, deps.influxOrg, deps.influxBucket);

  return {
    /** What a run covers: how many datasets and teams are in scope. */
    async planHealth(spec: HealthSpec): Promise<HealthPlan> {
      return { spec, ...(await store.countScope(spec)) };
    },

    /**
     * Scores every dataset in scope for the day and upserts one row each (a re-run replaces them);
     * rows of that day for datasets gone from the scope are removed.
     */
    async scoreHealth(spec: HealthSpec): Promise<{ scored: number; averageScore: number | null }> {
      heartbeat({ phase: 'gathering' });
      const facts = await store.facts(spec);
      heartbeat({ phase: 'scoring', datasets: facts.length });
      const scores = facts.map((f) => scoreDataset(f, spec.weights, spec.asOfMs));
      await store.upsertScores(spec, scores, (written) => heartbeat({ phase: 'writing', written }));
      await store.removeOutOfScope(spec);
      const sum = scores.reduce((s, h) => s + h.score, 0);
      return { scored: scores.length, averageScore: scores.length ? Math.round((sum / scores.length) * 10) / 10 : null };
    },

    /** Per-team average and worst dataset for the day; returns the worst teams. */
    async summariseTeams(spec: HealthSpec): Promise<{ teams: number; worstTeams: TeamHealthSummary[] }> {
      return store.summariseTeams(spec);
    },

    /**
     * The day's scores as InfluxDB series, stamped at the day's midnight UTC so a re-run overwrites
     * them: `health_score` per dataset (tags dataset, team) and `team_health` per team.
     */
    async publishHealthSeries(spec: HealthSpec): Promise<{ points: number }> {
      const { datasets, teams } = await store.dayScores(spec);
      heartbeat({ phase: 'publishing', points: datasets.length + teams.length });
      return { points: await series.write(new Date(dayStartMs(spec.day)), datasets, teams) };
    },
  };
}
export type HealthActivities = ReturnType<typeof createHealthActivities>;

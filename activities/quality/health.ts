import { Readable } from 'node:stream';
import { Point, type InfluxDB } from '@influxdata/influxdb-client';
import { heartbeat } from '../activity-context.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { HealthPlan, HealthSpec, TeamHealthSummary } from '../../common/health.js';
import { chunk, inLanes } from '../../common/lanes.js';
import { DAY_MS, dayStartMs, fromSqlTime, sqlTime } from '../../common/time.js';
import { scoreDataset, type DatasetFacts, type DatasetHealth } from './health-score.js';

export interface HealthDeps {
  /** MySQL catalog database: datasets, sync runs, anomalies, and the health history. */
  catalog: Pool;
  influx: InfluxDB;
  influxOrg: string;
  influxBucket: string;
}

/** Rows per LOAD DATA: a few MB each, several loads in flight on the pool's connections. */
const LOAD_ROWS = 10_000;
const LOADS_IN_FLIGHT = 4;
const WORST_TEAMS = 20;

/** A TSV field as LOAD DATA reads it back (ESCAPED BY backslash). */
const tsvField = (s: string): string => s.replace(/[\\\t\n]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : '\\n'));

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Health scoring's activities. Every step is set-based over the whole catalog (or one team): a few
 * grouped queries, one pass of the pure scorer, bulk upserts; only counts go back to the workflow.
 */
export function createHealthActivities(deps: HealthDeps) {
  const mysql = deps.catalog;
  const teamFilter = (spec: HealthSpec, column: string) => (spec.team ? { sql: ` AND ${column} = ?`, args: [spec.team] } : { sql: '', args: [] });

  /** Everything the scorer needs for every dataset in scope, in three grouped queries run side by side. */
  async function gatherFacts(spec: HealthSpec): Promise<DatasetFacts[]> {
    const asOf = sqlTime(spec.asOfMs);
    const from7 = sqlTime(spec.asOfMs - 7 * DAY_MS);
    const from30 = sqlTime(spec.asOfMs - 30 * DAY_MS);
    const team = teamFilter(spec, 'd.team');
    const join = spec.team ? 'JOIN datasets d ON d.name = x.dataset AND d.team = ?' : '';
    const [[datasets], [runs], [anomalies]] = await Promise.all([
      mysql.query<RowDataPacket[]>(
        `SELECT d.name, d.team, d.owner, LEFT(TRIM(d.description), 400) AS description, JSON_LENGTH(d.tags) AS tag_count,
           JSON_UNQUOTE(JSON_EXTRACT(d.declaration, '$.freshnessSlaHours')) AS sla_hours
         FROM datasets d WHERE 1 = 1${team.sql}`,
        team.args,
      ),
      mysql.query<RowDataPacket[]>(
        `SELECT x.dataset,
           MAX(CASE WHEN x.status = 'succeeded' AND x.finished_at < ? THEN x.finished_at END) AS last_ok,
           SUM(x.status IN ('succeeded', 'failed') AND x.started_at >= ?) AS runs7,
           SUM(x.status = 'failed' AND x.started_at >= ?) AS failed7,
           SUM(x.status IN ('succeeded', 'failed') AND x.started_at >= ?) AS runs30,
           SUM(x.status = 'failed' AND x.started_at >= ?) AS failed30
         FROM sync_runs x ${join}
         WHERE x.started_at < ?
         GROUP BY x.dataset`,
        [asOf, from7, from7, from30, from30, ...team.args, asOf],
      ),
      mysql.query<RowDataPacket[]>(
        `SELECT x.dataset, SUM(x.status = 'open') AS open_n, SUM(x.status = 'confirmed') AS confirmed_n
         FROM anomalies x ${join}
         WHERE x.status IN ('open', 'confirmed') AND x.at < ?
         GROUP BY x.dataset`,
        [...team.args, asOf],
      ),
    ]);
    const runsOf = new Map(runs.map((r) => [r.dataset as string, r]));
    const anomaliesOf = new Map(anomalies.map((r) => [r.dataset as string, r]));
    return datasets.map((d) => {
      const r = runsOf.get(d.name as string);
      const a = anomaliesOf.get(d.name as string);
      const sla = d.sla_hours === null || d.sla_hours === 'null' ? null : Number(d.sla_hours);
      return {
        dataset: d.name as string,
        team: d.team as string,
        owner: d.owner as string,
        description: (d.description as string | null) ?? '',
        tagCount: num(d.tag_count),
        slaHours: sla !== null && Number.isFinite(sla) && sla > 0 ? sla : null,
        lastSuccessMs: r?.last_ok ? fromSqlTime(r.last_ok) : null,
        runs7d: num(r?.runs7),
        failed7d: num(r?.failed7),
        runs30d: num(r?.runs30),
        failed30d: num(r?.failed30),
        openAnomalies: num(a?.open_n),
        confirmedAnomalies: num(a?.confirmed_n),
      };
    });
  }

  /**
   * Upserts the day's rows with LOAD DATA … REPLACE (the server's fastest path), a few chunks at
   * once: a re-run of the day replaces the same (dataset, day) rows.
   */
  async function upsertScores(spec: HealthSpec, scores: DatasetHealth[]): Promise<void> {
    const weights = tsvField(JSON.stringify(spec.weights));
    const asOf = sqlTime(spec.asOfMs);
    let written = 0;
    await inLanes(chunk(scores, LOAD_ROWS), LOADS_IN_FLIGHT, async (batch) => {
        const c = batch.map((h) => h.components);
        const tsv = batch
          .map(
            (h, i) =>
              `${tsvField(h.dataset)}\t${spec.day}\t${tsvField(h.team)}\t${h.score}\t${c[i]!.documentation.score}\t${c[i]!.freshness.score}\t` +
              `${c[i]!.reliability.score}\t${c[i]!.quality.score}\t${tsvField(JSON.stringify(h.components))}\t${weights}\t${asOf}\n`,
          )
          .join('');
        const [result] = await mysql.query({
          sql:
            "LOAD DATA LOCAL INFILE 'health.tsv' REPLACE INTO TABLE health_scores CHARACTER SET utf8mb4 " +
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
            '(dataset, day, team, score, documentation, freshness, reliability, quality, components, weights, as_of)',
          infileStreamFactory: () => Readable.from([Buffer.from(tsv, 'utf8')]),
        });
        if ((result as { warningStatus?: number }).warningStatus) throw new Error('loading health scores raised warnings (SHOW WARNINGS on the catalog)');
        written += batch.length;
        heartbeat({ phase: 'writing', written });
    });
  }

  return {
    /** What a run covers: how many datasets and teams are in scope. */
    async planHealth(spec: HealthSpec): Promise<HealthPlan> {
      const team = teamFilter(spec, 'team');
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS datasets, COUNT(DISTINCT team) AS teams FROM datasets WHERE 1 = 1${team.sql}`,
        team.args,
      );
      return { spec, datasets: num(rows[0]?.datasets), teams: num(rows[0]?.teams) };
    },

    /**
     * Scores every dataset in scope for the day and upserts one row each (a re-run replaces them);
     * rows of that day for datasets gone from the scope are removed.
     */
    async scoreHealth(spec: HealthSpec): Promise<{ scored: number; averageScore: number | null }> {
      heartbeat({ phase: 'gathering' });
      const facts = await gatherFacts(spec);
      heartbeat({ phase: 'scoring', datasets: facts.length });
      const scores = facts.map((f) => scoreDataset(f, spec.weights, spec.asOfMs));
      await upsertScores(spec, scores);
      const team = teamFilter(spec, 'h.team');
      await mysql.query(
        `DELETE h FROM health_scores h LEFT JOIN datasets d ON d.name = h.dataset
         WHERE h.day = ?${team.sql} AND (d.name IS NULL OR d.team <> h.team)`,
        [spec.day, ...team.args],
      );
      const sum = scores.reduce((s, h) => s + h.score, 0);
      return { scored: scores.length, averageScore: scores.length ? Math.round((sum / scores.length) * 10) / 10 : null };
    },

    /** Per-team average and worst dataset for the day, in one INSERT … SELECT; returns the worst teams. */
    async summariseTeams(spec: HealthSpec): Promise<{ teams: number; worstTeams: TeamHealthSummary[] }> {
      const scoped = teamFilter(spec, 'team');
      await mysql.query(
        `INSERT INTO team_health (team, day, score, datasets, worst_dataset, worst_score)
         SELECT s.team, s.day, ROUND(AVG(s.score), 1), COUNT(*), MAX(CASE WHEN s.rn = 1 THEN s.dataset END), MIN(s.score)
         FROM (
           SELECT team, day, dataset, score, ROW_NUMBER() OVER (PARTITION BY team ORDER BY score, dataset) AS rn
           FROM health_scores WHERE day = ?${scoped.sql}
         ) s
         GROUP BY s.team, s.day
         ON DUPLICATE KEY UPDATE score = VALUES(score), datasets = VALUES(datasets),
           worst_dataset = VALUES(worst_dataset), worst_score = VALUES(worst_score)`,
        [spec.day, ...scoped.args],
      );
      const t = teamFilter(spec, 't.team');
      await mysql.query(
        `DELETE t FROM team_health t LEFT JOIN (SELECT DISTINCT team FROM health_scores WHERE day = ?) h ON h.team = t.team
         WHERE t.day = ?${t.sql} AND h.team IS NULL`,
        [spec.day, spec.day, ...t.args],
      );
      const [[count], [worst]] = await Promise.all([
        mysql.query<RowDataPacket[]>(`SELECT COUNT(*) AS teams FROM team_health WHERE day = ?${scoped.sql}`, [spec.day, ...scoped.args]),
        mysql.query<RowDataPacket[]>(
          `SELECT team, score, datasets, worst_dataset, worst_score FROM team_health WHERE day = ?${scoped.sql}
           ORDER BY score, team LIMIT ${WORST_TEAMS}`,
          [spec.day, ...scoped.args],
        ),
      ]);
      return {
        teams: num(count[0]?.teams),
        worstTeams: worst.map((r) => ({
          team: r.team as string,
          score: num(r.score),
          datasets: num(r.datasets),
          worstDataset: r.worst_dataset as string,
          worstScore: num(r.worst_score),
        })),
      };
    },

    /**
     * The day's scores as InfluxDB series, stamped at the day's midnight UTC so a re-run overwrites
     * them: `health_score` per dataset (tags dataset, team) and `team_health` per team.
     */
    async publishHealthSeries(spec: HealthSpec): Promise<{ points: number }> {
      const scoped = teamFilter(spec, 'team');
      const [[datasets], [teams]] = await Promise.all([
        mysql.query<RowDataPacket[]>(
          `SELECT dataset, team, score, documentation, freshness, reliability, quality FROM health_scores WHERE day = ?${scoped.sql}`,
          [spec.day, ...scoped.args],
        ),
        mysql.query<RowDataPacket[]>(`SELECT team, score, datasets, worst_score FROM team_health WHERE day = ?${scoped.sql}`, [
          spec.day,
          ...scoped.args,
        ]),
      ]);
      const at = new Date(dayStartMs(spec.day));
      const write = deps.influx.getWriteApi(deps.influxOrg, deps.influxBucket, 's', { batchSize: 10_000, maxRetries: 3 });
      try {
        for (const r of datasets) {
          write.writePoint(
            new Point('health_score')
              .tag('dataset', r.dataset as string)
              .tag('team', r.team as string)
              .floatField('score', num(r.score))
              .floatField('documentation', num(r.documentation))
              .floatField('freshness', num(r.freshness))
              .floatField('reliability', num(r.reliability))
              .floatField('quality', num(r.quality))
              .timestamp(at),
          );
        }
        for (const r of teams) {
          write.writePoint(
            new Point('team_health')
              .tag('team', r.team as string)
              .floatField('score', num(r.score))
              .intField('datasets', num(r.datasets))
              .floatField('worst_score', num(r.worst_score))
              .timestamp(at),
          );
        }
        heartbeat({ phase: 'publishing', points: datasets.length + teams.length });
        await write.close();
      } catch (err) {
        await write.close().catch(() => undefined);
        throw err;
      }
      return { points: datasets.length + teams.length };
    },
  };
}
export type HealthActivities = ReturnType<typeof createHealthActivities>;

import { Readable } from 'node:stream';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { HealthSpec, TeamHealthSummary } from '../../common/health.js';
import { chunk, inLanes } from '../../common/lanes.js';
import { DAY_MS, fromSqlTime, sqlTime } from '../../common/time.js';
import type { DatasetDayScore, TeamDayScore } from '../metrics/health-series.js';
import type { CheckFact, DatasetFacts, DatasetHealth } from '../quality/health-score.js';
import { num } from './columns.js';
import { tsvField } from './load-data.js';

/** Rows per LOAD DATA: a few MB each, several loads in flight on the pool's connections. */
const LOAD_ROWS = 10_000;
const LOADS_IN_FLIGHT = 4;
const WORST_TEAMS = 20;

/** The ids of a JSON path over an array (`$.checks[*].id`): a JSON value, or its text on MariaDB; null when absent. */
function jsonIds(value: unknown): string[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? [...new Set(parsed.filter((v): v is string => typeof v === 'string'))] : [];
}

const teamFilter = (spec: Pick<HealthSpec, 'team'>, column: string) =>
  spec.team ? { sql: ` AND ${column} = ?`, args: [spec.team] } : { sql: '', args: [] };

/**
 * Health scoring's MySQL side: the facts it scores from (datasets, sync runs, anomalies), and the
 * health_scores and team_health history. Every read is a few grouped queries over the whole
 * catalog (or one team), every write a bulk upsert.
 */
export function createHealthStore(mysql: Pool) {
  return {
    /** How many datasets and teams are in scope. */
    async countScope(spec: Pick<HealthSpec, 'team'>): Promise<{ datasets: number; teams: number }> {
      const team = teamFilter(spec, 'team');
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS datasets, COUNT(DISTINCT team) AS teams FROM datasets WHERE 1 = 1${team.sql}`,
        team.args,
      );
      return { datasets: num(rows[0]?.datasets), teams: num(rows[0]?.teams) };
    },

    /** Everything the scorer needs for every dataset in scope, in four grouped queries run side by side. */
    async facts(spec: HealthSpec): Promise<DatasetFacts[]> {
      const asOf = sqlTime(spec.asOfMs);
      const from7 = sqlTime(spec.asOfMs - 7 * DAY_MS);
      const from30 = sqlTime(spec.asOfMs - 30 * DAY_MS);
      const team = teamFilter(spec, 'd.team');
      const join = spec.team ? 'JOIN datasets d ON d.name = x.dataset AND d.team = ?' : '';
      const [[datasets], [runs], [anomalies], [checks]] = await Promise.all([
        mysql.query<RowDataPacket[]>(
          `SELECT d.name, d.team, d.owner, LEFT(TRIM(d.description), 400) AS description, JSON_LENGTH(d.tags) AS tag_count,
             JSON_UNQUOTE(JSON_EXTRACT(d.declaration, '$.freshnessSlaHours')) AS sla_hours,
             JSON_EXTRACT(d.declaration, '$.checks[*].id') AS check_ids
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
        // Each check's latest result before the instant, in one pass over the covering index
        // check_results_latest: the MAX of the time-prefixed text is the newest (DATETIME(6) prints as 26 characters).
        mysql.query<RowDataPacket[]>(
          `SELECT x.dataset, x.check_id, SUBSTRING(MAX(CONCAT(x.checked_at, x.severity, ' ', x.status)), 27) AS latest
           FROM check_results x ${join}
           WHERE x.checked_at < ? GROUP BY x.dataset, x.check_id`,
          [...team.args, asOf],
        ),
      ]);
      const runsOf = new Map(runs.map((r) => [r.dataset as string, r]));
      const anomaliesOf = new Map(anomalies.map((r) => [r.dataset as string, r]));
      const checksOf = new Map<string, Map<string, CheckFact>>();
      for (const c of checks) {
        let of = checksOf.get(c.dataset as string);
        if (!of) checksOf.set(c.dataset as string, (of = new Map()));
        const [severity, status] = String(c.latest).split(' ') as [CheckFact['severity'], CheckFact['status']];
        of.set(c.check_id as string, { checkId: c.check_id as string, severity, status });
      }
      return datasets.map((d) => {
        const r = runsOf.get(d.name as string);
        const a = anomaliesOf.get(d.name as string);
        const sla = d.sla_hours === null || d.sla_hours === 'null' ? null : Number(d.sla_hours);
        // Only checks still declared count: a removed check's old failures no longer weigh.
        const declared = jsonIds(d.check_ids);
        const results = checksOf.get(d.name as string);
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
          checks: results && declared.length ? declared.flatMap((id) => results.get(id) ?? []) : [],
        };
      });
    },

    /**
     * Upserts the day's rows with LOAD DATA … REPLACE (the server's fastest path), a few chunks at
     * once: a re-run of the day replaces the same (dataset, day) rows. `onWritten` gets the running count.
     */
    async upsertScores(spec: HealthSpec, scores: DatasetHealth[], onWritten?: (written: number) => void): Promise<void> {
      const weights = tsvField(JSON.stringify(spec.weights));
      const asOf = sqlTime(spec.asOfMs);
      let written = 0;
      await inLanes(chunk(scores, LOAD_ROWS), LOADS_IN_FLIGHT, async (batch) => {
        const c = batch.map((h) => h.components);
        const tsv = batch
          .map(
            (h, i) =>
              `${tsvField(h.dataset)}\t${spec.day}\t${tsvField(h.team)}\t${h.score}\t${c[i]!.documentation.score}\t${c[i]!.freshness.score}\t` +
              `${c[i]!.reliability.score}\t${c[i]!.quality.score}\t${c[i]!.checks?.score ?? '\\N'}\t${h.failingChecks ?? '\\N'}\t` +
              `${tsvField(JSON.stringify(h.components))}\t${weights}\t${asOf}\n`,
          )
          .join('');
        const [result] = await mysql.query({
          sql:
            "LOAD DATA LOCAL INFILE 'health.tsv' REPLACE INTO TABLE health_scores CHARACTER SET utf8mb4 " +
            "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
            '(dataset, day, team, score, documentation, freshness, reliability, quality, checks, failing_checks, components, weights, as_of)',
          infileStreamFactory: () => Readable.from([Buffer.from(tsv, 'utf8')]),
        });
        if ((result as { warningStatus?: number }).warningStatus)
          throw new Error('loading health scores raised warnings (SHOW WARNINGS on the catalog)');
        written += batch.length;
        onWritten?.(written);
      });
    },

    /** Removes the day's rows of datasets gone from the scope (deleted, or moved to another team). */
    async removeOutOfScope(spec: HealthSpec): Promise<void> {
      const team = teamFilter(spec, 'h.team');
      await mysql.query(
        `DELETE h FROM health_scores h LEFT JOIN datasets d ON d.name = h.dataset
         WHERE h.day = ?${team.sql} AND (d.name IS NULL OR d.team <> h.team)`,
        [spec.day, ...team.args],
      );
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

    /** The day's dataset and team scores in scope, as they are published to InfluxDB. */
    async dayScores(spec: HealthSpec): Promise<{ datasets: DatasetDayScore[]; teams: TeamDayScore[] }> {
      const scoped = teamFilter(spec, 'team');
      const [[datasets], [teams]] = await Promise.all([
        mysql.query<RowDataPacket[]>(
          `SELECT dataset, team, score, documentation, freshness, reliability, quality, checks FROM health_scores WHERE day = ?${scoped.sql}`,
          [spec.day, ...scoped.args],
        ),
        mysql.query<RowDataPacket[]>(`SELECT team, score, datasets, worst_score FROM team_health WHERE day = ?${scoped.sql}`, [
          spec.day,
          ...scoped.args,
        ]),
      ]);
      return {
        datasets: datasets.map((r) => ({
          dataset: r.dataset as string,
          team: r.team as string,
          score: num(r.score),
          documentation: num(r.documentation),
          freshness: num(r.freshness),
          reliability: num(r.reliability),
          quality: num(r.quality),
          checks: r.checks === null ? null : num(r.checks),
        })),
        teams: teams.map((r) => ({
          team: r.team as string,
          score: num(r.score),
          datasets: num(r.datasets),
          worstScore: num(r.worst_score),
        })),
      };
    },

    /** Each dataset's latest score and its day; datasets never scored are absent. */
    async latestScores(datasets: string[]): Promise<Map<string, { score: number; day: string }>> {
      if (datasets.length === 0) return new Map();
      const [scores] = await mysql.query<RowDataPacket[]>(
        `SELECT h.dataset, h.score, DATE_FORMAT(h.day, '%Y-%m-%d') AS day FROM health_scores h
         JOIN (SELECT dataset, MAX(day) AS day FROM health_scores WHERE dataset IN (?) GROUP BY dataset) latest
           ON latest.dataset = h.dataset AND latest.day = h.day`,
        [datasets],
      );
      return new Map(scores.map((r) => [r.dataset as string, { score: Number(r.score), day: r.day as string }]));
    },
  };
}
export type HealthStore = ReturnType<typeof createHealthStore>;

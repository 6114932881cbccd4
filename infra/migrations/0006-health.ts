import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** Health scoring's history: one row per dataset and day, one per team and day; a re-run replaces them. */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  const statements = [
    // components: {documentation: {score, reason}, freshness: …, reliability: …, quality: …}; the
    // component scores are also columns, for queries and charts.
    `CREATE TABLE IF NOT EXISTS \`${db}\`.health_scores (
      dataset VARCHAR(120) NOT NULL,
      day DATE NOT NULL,
      team VARCHAR(64) NOT NULL,
      score DECIMAL(4,1) NOT NULL,
      documentation DECIMAL(4,1) NOT NULL,
      freshness DECIMAL(4,1) NOT NULL,
      reliability DECIMAL(4,1) NOT NULL,
      quality DECIMAL(4,1) NOT NULL,
      components JSON NOT NULL,
      weights JSON NOT NULL,
      as_of DATETIME(3) NOT NULL,
      scored_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      PRIMARY KEY (dataset, day),
      KEY health_scores_day_team (day, team, score)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${db}\`.team_health (
      team VARCHAR(64) NOT NULL,
      day DATE NOT NULL,
      score DECIMAL(4,1) NOT NULL,
      datasets INT NOT NULL,
      worst_dataset VARCHAR(120) NOT NULL,
      worst_score DECIMAL(4,1) NOT NULL,
      scored_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      PRIMARY KEY (team, day),
      KEY team_health_day (day, score)
    ) ${TABLE_OPTIONS}`,
  ];
  for (const sql of statements) await mysql.query(sql);
}

import type { MigrationContext } from './index.js';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** The anomaly scan's tables: what it found, what operators told it, and each scan's run row. */
export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  const statements = [
    // Times are UTC, to the millisecond (run metrics are stamped in ms).
    `CREATE TABLE IF NOT EXISTS \`${db}\`.anomaly_scans (
      scan_id VARCHAR(64) NOT NULL PRIMARY KEY,
      workflow_id VARCHAR(255) NOT NULL,
      status VARCHAR(16) NOT NULL,
      started_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      finished_at DATETIME(6) NULL,
      window_from DATETIME(3) NOT NULL,
      window_to DATETIME(3) NOT NULL,
      training_from DATETIME(3) NOT NULL,
      team VARCHAR(64) NULL,
      metrics JSON NOT NULL,
      detector JSON NOT NULL,
      datasets INT NOT NULL DEFAULT 0,
      series INT NOT NULL DEFAULT 0,
      points BIGINT NOT NULL DEFAULT 0,
      anomalies INT NOT NULL DEFAULT 0,
      confirmed INT NOT NULL DEFAULT 0,
      suppressed INT NOT NULL DEFAULT 0,
      excluded_points BIGINT NOT NULL DEFAULT 0,
      error TEXT NULL,
      KEY anomaly_scans_started (started_at)
    ) ${TABLE_OPTIONS}`,
    // One row per anomalous point: a re-run of a scan over the same window updates it in place.
    // status: open | confirmed (feedback said anomaly) | dismissed (feedback said normal)
    //       | excluded (inside an exclusion window) | closed (an operator closed it; scans leave it be)
    `CREATE TABLE IF NOT EXISTS \`${db}\`.anomalies (
      dataset VARCHAR(120) NOT NULL,
      metric VARCHAR(32) NOT NULL,
      series_key VARCHAR(128) NOT NULL,
      at DATETIME(3) NOT NULL,
      value DOUBLE NOT NULL,
      expected DOUBLE NOT NULL,
      lower_bound DOUBLE NOT NULL,
      upper_bound DOUBLE NOT NULL,
      score DOUBLE NOT NULL,
      direction VARCHAR(8) NOT NULL,
      status VARCHAR(16) NOT NULL,
      scan_id VARCHAR(64) NOT NULL,
      first_seen_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      PRIMARY KEY (dataset, metric, series_key, at),
      KEY anomalies_status (status, at),
      KEY anomalies_at (at),
      KEY anomalies_scan (scan_id)
    ) ${TABLE_OPTIONS}`,
    // dataset / metric NULL: every dataset / every metric. [from_at, to_at)
    `CREATE TABLE IF NOT EXISTS \`${db}\`.anomaly_exclusions (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      dataset VARCHAR(120) NULL,
      metric VARCHAR(32) NULL,
      from_at DATETIME(3) NOT NULL,
      to_at DATETIME(3) NOT NULL,
      reason TEXT NOT NULL,
      created_by VARCHAR(200) NOT NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      KEY anomaly_exclusions_time (to_at, from_at),
      KEY anomaly_exclusions_dataset (dataset)
    ) ${TABLE_OPTIONS}`,
    // An operator's verdict on one point; a later verdict on the same point replaces it.
    `CREATE TABLE IF NOT EXISTS \`${db}\`.anomaly_feedback (
      dataset VARCHAR(120) NOT NULL,
      metric VARCHAR(32) NOT NULL,
      series_key VARCHAR(128) NOT NULL,
      at DATETIME(3) NOT NULL,
      verdict VARCHAR(16) NOT NULL,
      note TEXT NULL,
      created_by VARCHAR(200) NOT NULL DEFAULT '',
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      PRIMARY KEY (dataset, metric, series_key, at),
      KEY anomaly_feedback_at (at),
      CONSTRAINT anomaly_feedback_verdict CHECK (verdict IN ('normal', 'anomaly'))
    ) ${TABLE_OPTIONS}`,
  ];
  for (const sql of statements) await mysql.query(sql);
}

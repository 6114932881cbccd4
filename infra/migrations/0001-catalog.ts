import type { MigrationContext } from './index.js';

// Plain SQL that runs on MySQL 8 and MariaDB 10.11 alike. Binary collation: keys compare as
// the sources compare them ('a' and 'A' are two rows).
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export async function up({ mysql, config }: MigrationContext): Promise<void> {
  const db = config.mysql.database;
  const statements = [
    `CREATE TABLE IF NOT EXISTS \`${db}\`.datasets (
      name VARCHAR(120) NOT NULL PRIMARY KEY,
      declaration JSON NOT NULL,
      source_kind VARCHAR(16) NOT NULL,
      target_table VARCHAR(64) NOT NULL,
      owner VARCHAR(200) NOT NULL,
      team VARCHAR(64) NOT NULL,
      description TEXT NOT NULL,
      tags JSON NOT NULL,
      declaration_sha256 CHAR(64) NOT NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      UNIQUE KEY datasets_target (target_table),
      KEY datasets_team (team)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${db}\`.dataset_columns (
      dataset VARCHAR(120) NOT NULL,
      name VARCHAR(64) NOT NULL,
      ordinal INT NOT NULL,
      source_type VARCHAR(100) NOT NULL,
      canonical_type VARCHAR(40) NOT NULL,
      mysql_type VARCHAR(40) NOT NULL,
      added_by_run VARCHAR(64) NULL,
      added_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (dataset, name)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${db}\`.watermarks (
      dataset VARCHAR(120) NOT NULL PRIMARY KEY,
      position JSON NOT NULL,
      sync_run_id VARCHAR(64) NOT NULL,
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${db}\`.sync_runs (
      sync_run_id VARCHAR(64) NOT NULL PRIMARY KEY,
      dataset VARCHAR(120) NOT NULL,
      workflow_id VARCHAR(255) NOT NULL,
      mode VARCHAR(16) NOT NULL,
      status VARCHAR(16) NOT NULL,
      started_at DATETIME(6) NOT NULL,
      finished_at DATETIME(6) NULL,
      estimated_rows BIGINT NOT NULL DEFAULT 0,
      rows_copied BIGINT NOT NULL DEFAULT 0,
      rows_quarantined BIGINT NOT NULL DEFAULT 0,
      rows_deleted BIGINT NOT NULL DEFAULT 0,
      rows_without_cursor BIGINT NOT NULL DEFAULT 0,
      bytes BIGINT NOT NULL DEFAULT 0,
      objects INT NOT NULL DEFAULT 0,
      watermark_from JSON NULL,
      watermark_to JSON NULL,
      window_from VARCHAR(64) NULL,
      window_to VARCHAR(64) NULL,
      manifest_key VARCHAR(512) NULL,
      error TEXT NULL,
      KEY sync_runs_dataset (dataset, started_at),
      KEY sync_runs_status (status, started_at)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS \`${db}\`.sync_manifest (
      sync_run_id VARCHAR(64) NOT NULL,
      seq INT NOT NULL,
      object_key VARCHAR(512) NULL,
      rows_copied INT NOT NULL,
      bytes BIGINT NOT NULL,
      sha256 CHAR(64) NULL,
      first_position JSON NULL,
      last_position JSON NULL,
      rows_quarantined INT NOT NULL DEFAULT 0,
      quarantine_key VARCHAR(512) NULL,
      null_counts JSON NOT NULL,
      written_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (sync_run_id, seq)
    ) ${TABLE_OPTIONS}`,
    `CREATE DATABASE IF NOT EXISTS \`${config.mysql.silverDatabase}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
  ];
  for (const sql of statements) await mysql.query(sql);
}

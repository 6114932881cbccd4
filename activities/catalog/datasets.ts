import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { DatasetDeclaration } from '../../common/dataset.js';
import { ErrorType, parseInput } from '../../common/errors.js';
import { jsonValue } from './columns.js';

/** The catalog's datasets: what each one reads, where it lands and who owns it. */
export function createDatasetCatalog(mysql: Pool) {
  return {
    /** Declares or re-declares a dataset; returns whether anything changed. */
    async upsert(raw: unknown): Promise<{ name: string; changed: boolean }> {
      const d = parseInput(DatasetDeclaration, raw, 'dataset declaration');
      const json = JSON.stringify(d);
      const sha = createHash('sha256').update(json).digest('hex');
      const [current] = await mysql.query<RowDataPacket[]>('SELECT declaration_sha256 FROM datasets WHERE name = ?', [d.name]);
      if (current[0]?.declaration_sha256 === sha) return { name: d.name, changed: false };
      await mysql.query(
        `INSERT INTO datasets (name, declaration, source_kind, target_table, owner, team, description, tags, declaration_sha256)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           declaration = VALUES(declaration), source_kind = VALUES(source_kind), target_table = VALUES(target_table),
           owner = VALUES(owner), team = VALUES(team), description = VALUES(description), tags = VALUES(tags),
           declaration_sha256 = VALUES(declaration_sha256), updated_at = CURRENT_TIMESTAMP(6)`,
        [d.name, json, d.source.kind, d.target.table, d.owner, d.team, d.description, JSON.stringify(d.tags), sha],
      );
      return { name: d.name, changed: true };
    },

    async get(name: string): Promise<DatasetDeclaration> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT declaration FROM datasets WHERE name = ?', [name]);
      const row = rows[0];
      if (!row) {
        throw ApplicationFailure.nonRetryable(
          `unknown dataset "${name}": declare it first (spokeflow datasets apply <file>)`,
          ErrorType.unknownDataset,
        );
      }
      return DatasetDeclaration.parse(jsonValue(row.declaration));
    },

    /** The dataset's team, or undefined for a name the catalog does not hold. */
    async teamOf(name: string): Promise<string | undefined> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT team FROM datasets WHERE name = ?', [name]);
      return rows[0]?.team as string | undefined;
    },

    async list(): Promise<DatasetDeclaration[]> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT declaration FROM datasets ORDER BY name');
      return rows.map((r) => DatasetDeclaration.parse(jsonValue(r.declaration)));
    },
  };
}
export type DatasetCatalog = ReturnType<typeof createDatasetCatalog>;

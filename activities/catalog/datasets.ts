import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { columnsNamed } from '../../common/checks.js';
import { checkIndexColumns } from '../quality/checks-sql.js';
import { DatasetDeclaration } from '../../common/dataset.js';
import { ErrorType, parseInput } from '../../common/errors.js';
import { jsonValue } from './columns.js';
import { ensureCheckIndexes } from './silver-checks.js';

/** Columns of a silver table, or undefined when it does not exist (yet). */
async function silverColumns(mysql: Pool, database: string, table: string): Promise<string[] | undefined> {
  const [rows] = await mysql.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database, table],
  );
  return rows.length ? rows.map((r) => r.name as string) : undefined;
}

/**
 * The first check of a declaration that names a column its silver table lacks (or, for a
 * relationship, a column the other dataset's silver table lacks), as a sentence naming the check,
 * the field and the column. Tables not synced yet are not judged: their columns come with the first sync.
 */
async function missingCheckColumn(mysql: Pool, silverDatabase: string, d: DatasetDeclaration): Promise<string | undefined> {
  if (!d.checks?.length) return undefined;
  const own = await silverColumns(mysql, silverDatabase, d.target.table);
  for (const [i, check] of d.checks.entries()) {
    for (const { field, column } of own ? columnsNamed(check) : []) {
      if (!own!.includes(column)) {
        return `checks.${i}.${field}: check ${check.id} names column ${column}, which silver table ${d.target.table} does not have (it has ${own!.join(', ')})`;
      }
    }
    if (check.kind === 'relationship') {
      const [other] = await mysql.query<RowDataPacket[]>('SELECT target_table FROM datasets WHERE name = ?', [check.to.dataset]);
      const table = check.to.dataset === d.name ? d.target.table : (other[0]?.target_table as string | undefined);
      const columns = table ? await silverColumns(mysql, silverDatabase, table) : undefined;
      if (columns && !columns.includes(check.to.column)) {
        return `checks.${i}.to.column: check ${check.id} names column ${check.to.column} of ${check.to.dataset}, which silver table ${table} does not have`;
      }
    }
  }
  return undefined;
}

/**
 * The catalog's datasets: what each one reads, where it lands and who owns it. Given the silver
 * database, a declaration whose checks name a column its silver table lacks is refused, and its
 * unique and relationship columns get a secondary index on silver (see ensureCheckIndexes).
 */
export function createDatasetCatalog(mysql: Pool, options: { silverDatabase?: string } = {}) {
  return {
    /** Declares or re-declares a dataset; returns whether anything changed. */
    async upsert(raw: unknown): Promise<{ name: string; changed: boolean }> {
      const d = parseInput(DatasetDeclaration, raw, 'dataset declaration');
      const missing = options.silverDatabase ? await missingCheckColumn(mysql, options.silverDatabase, d) : undefined;
      if (missing) throw ApplicationFailure.nonRetryable(`invalid dataset declaration ${d.name}: ${missing}`, ErrorType.invalidInput);
      // Before the unchanged-declaration return, so re-applying adds an index that went missing.
      if (options.silverDatabase)
        await ensureCheckIndexes(mysql, { database: options.silverDatabase, table: d.target.table }, checkIndexColumns(d.checks ?? []));
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
      // A row edited past validation is refused as bad input naming the field, not as a bare zod error.
      return parseInput(DatasetDeclaration, jsonValue(row.declaration), `stored declaration of ${name}`);
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

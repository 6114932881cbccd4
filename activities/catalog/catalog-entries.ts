import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { CatalogEntry } from '../vectors/entry-text.js';
import { jsonValue } from './columns.js';

const parseTags = (v: unknown): string[] => {
  const tags = jsonValue(v);
  return Array.isArray(tags) ? tags.map(String) : [];
};

/** The MySQL catalog as the embedding refresh reads it: pages of datasets by name, with their columns. */
export function createCatalogEntries(mysql: Pool) {
  return {
    async count(): Promise<number> {
      const [rows] = await mysql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM datasets');
      return Number(rows[0]?.n ?? 0);
    },

    /** Up to `limit` entries with a name after `after` (the catalog's binary order), columns in ordinal order. */
    async page(after: string | null, limit: number): Promise<CatalogEntry[]> {
      const [datasets] = await mysql.query<RowDataPacket[]>(
        'SELECT name, owner, team, description, tags FROM datasets WHERE name > ? ORDER BY name LIMIT ?',
        [after ?? '', limit],
      );
      return withColumns(mysql, datasets);
    },

    /** Every entry of the key range (after, through], to the end when `through` is null. */
    async range(after: string | null, through: string | null): Promise<CatalogEntry[]> {
      const [datasets] = await mysql.query<RowDataPacket[]>(
        'SELECT name, owner, team, description, tags FROM datasets WHERE name > ? AND (? IS NULL OR name <= ?) ORDER BY name',
        [after ?? '', through, through],
      );
      return withColumns(mysql, datasets);
    },

    /**
     * The keys that cut the catalog after `after` into ranges of `size` entries: every size-th
     * name, but never the last one, so the final range (to the end) is never empty.
     */
    async rangeBounds(after: string | null, size: number): Promise<string[]> {
      const [rows] = await mysql.query<RowDataPacket[]>(
        `SELECT name FROM (SELECT name, ROW_NUMBER() OVER (ORDER BY name) AS n, COUNT(*) OVER () AS total FROM datasets WHERE name > ?) ranked
         WHERE n % ? = 0 AND n < total ORDER BY name`,
        [after ?? '', size],
      );
      return rows.map((r) => r.name as string);
    },
  };
}

/** Datasets with their columns in ordinal order. */
async function withColumns(mysql: Pool, datasets: RowDataPacket[]): Promise<CatalogEntry[]> {
  if (datasets.length === 0) return [];
  const names = datasets.map((d) => d.name as string);
  const [columns] = await mysql.query<RowDataPacket[]>(
    'SELECT dataset, name, canonical_type FROM dataset_columns WHERE dataset IN (?) ORDER BY dataset, ordinal, name',
    [names],
  );
  const byDataset = new Map<string, CatalogEntry['columns']>();
  for (const c of columns) {
    const list = byDataset.get(c.dataset as string) ?? [];
    list.push({ name: c.name as string, type: c.canonical_type as string });
    byDataset.set(c.dataset as string, list);
  }
  return datasets.map((d) => ({
    dataset: d.name as string,
    description: (d.description as string) ?? '',
    owner: d.owner as string,
    team: d.team as string,
    tags: parseTags(d.tags),
    columns: byDataset.get(d.name as string) ?? [],
  }));
}

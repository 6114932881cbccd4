import type { Pool } from 'mysql2/promise';
import { mulberry32 } from '../../common/seeded-random.js';

const DOMAINS = ['sales', 'crm', 'finance', 'hr', 'ops', 'marketing', 'logistics', 'support'];
const SUBJECTS = ['orders', 'customers', 'invoices', 'payments', 'shipments', 'tickets', 'employees', 'campaigns', 'sessions', 'refunds'];
const PHRASES = [
  'with customer e-mail addresses and phone numbers',
  'used by the marketing team for campaign targeting',
  'amounts in euros, taxes and due dates',
  'one row per event, partitioned by day',
  'loaded hourly from the production database',
  'tracks delivery status and carrier delays',
];
const COLUMNS = ['id', 'customer_id', 'email', 'amount', 'currency', 'status', 'created_at', 'updated_at', 'country', 'channel'];

/**
 * Writes `count` datasets named `<prefix>.<n>` (with 4–8 columns and a seeded description) straight
 * into the catalog tables, in multi-row inserts: what the embedding refresh reads, made in seconds.
 */
export async function seedCatalog(catalog: Pool, count: number, prefix: string, seed = 12): Promise<string[]> {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const names: string[] = [];
  for (let from = 0; from < count; from += 500) {
    const datasets: unknown[][] = [];
    const columns: unknown[][] = [];
    for (let i = from; i < Math.min(count, from + 500); i++) {
      const name = `${prefix}.${String(i).padStart(6, '0')}`;
      const domain = pick(DOMAINS);
      const description = `${pick(SUBJECTS)} of ${domain} ${pick(PHRASES)}, ${pick(PHRASES)}.`;
      const declaration = {
        name,
        source: { kind: 'postgres', connection: 'synthetic', table: `public.t${i}` },
        target: { table: `${prefix}_${i}` },
      };
      datasets.push([
        name,
        JSON.stringify(declaration),
        'postgres',
        `${prefix}_${i}`,
        `${domain}@example.com`,
        domain,
        description,
        JSON.stringify([domain]),
        '0'.repeat(64),
      ]);
      const n = 4 + Math.floor(random() * 5);
      for (let c = 0; c < n; c++) columns.push([name, COLUMNS[c]!, c, 'text', 'string', 'TEXT']);
      names.push(name);
    }
    await catalog.query(
      'INSERT INTO datasets (name, declaration, source_kind, target_table, owner, team, description, tags, declaration_sha256) VALUES ?',
      [datasets],
    );
    await catalog.query('INSERT INTO dataset_columns (dataset, name, ordinal, source_type, canonical_type, mysql_type) VALUES ?', [
      columns,
    ]);
  }
  return names;
}

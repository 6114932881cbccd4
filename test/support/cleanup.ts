import type { Client as MinioClient } from 'minio';
import type { Pool } from 'mysql2/promise';

/**
 * Catalog tables that hold rows per dataset (column `dataset`). Sync manifests are keyed by sync
 * run and go with the dataset's runs. Anything a test creates in the shared stack must go: a
 * long-lived dev stack otherwise accumulates dead datasets that the nightly pipeline tries to sync.
 */
const PER_DATASET_TABLES = [
  'dataset_columns',
  'watermarks',
  'sync_runs',
  'backfills',
  'backfill_partitions',
  'anomalies',
  'anomaly_exclusions',
  'anomaly_feedback',
  'health_scores',
  'check_results',
] as const;

/** Catalog tables keyed by sync run (column `sync_run_id`): they go with the dataset's runs. */
const PER_RUN_TABLES = ['sync_manifest', 'sync_key_ranges'] as const;

export interface CleanupStores {
  catalog: Pool;
  silverDatabase: string;
  minio: MinioClient;
  bronzeBucket: string;
}

/**
 * Removes datasets as the catalog holds them: their declaration, columns, watermark, sync runs,
 * their manifests and bronze objects, backfills, anomalies and health scores; and the silver
 * tables named in `silverTables`. The product has no "delete a dataset" (one is retired by hand),
 * hence plain SQL here.
 */
export async function removeDatasets(stores: CleanupStores, names: readonly string[], silverTables: readonly string[] = []): Promise<void> {
  const { catalog } = stores;
  if (names.length > 0) {
    const [runs] = await catalog.query('SELECT dataset, sync_run_id FROM sync_runs WHERE dataset IN (?)', [names]);
    await removeRunObjects(stores, runs as { dataset: string; sync_run_id: string }[]);
    await removeCheckSamples(stores, names);
    const tables = await catalogTables(catalog);
    for (const table of PER_RUN_TABLES.filter((t) => tables.has(t))) {
      await catalog.query(`DELETE FROM ${table} WHERE sync_run_id IN (SELECT sync_run_id FROM sync_runs WHERE dataset IN (?))`, [names]);
    }
    for (const table of PER_DATASET_TABLES.filter((t) => tables.has(t)))
      await catalog.query(`DELETE FROM ${table} WHERE dataset IN (?)`, [names]);
    await catalog.query('DELETE FROM datasets WHERE name IN (?)', [names]);
  }
  for (const table of silverTables) await catalog.query(`DROP TABLE IF EXISTS \`${stores.silverDatabase}\`.\`${table}\``);
}

/** The tables this catalog has: a test's own catalog database may hold only some of them. */
async function catalogTables(catalog: Pool): Promise<Set<string>> {
  const [rows] = await catalog.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()');
  return new Set((rows as { name: string }[]).map((r) => r.name));
}

/** Bronze and quarantine objects of these runs only (`<dataset>/<day>/<run>/…`): never another run's. */
async function removeRunObjects(stores: CleanupStores, runs: { dataset: string; sync_run_id: string }[]): Promise<void> {
  for (const dataset of new Set(runs.map((r) => r.dataset))) {
    const ids = new Set(runs.filter((r) => r.dataset === dataset).map((r) => r.sync_run_id));
    for (const prefix of [`${dataset}/`, `_quarantine/${dataset}/`]) {
      const keys: string[] = [];
      for await (const item of stores.minio.listObjectsV2(stores.bronzeBucket, prefix, true) as AsyncIterable<{ name?: string }>) {
        const run = item.name?.slice(prefix.length).split('/')[1];
        if (item.name && run && ids.has(run)) keys.push(item.name);
      }
      if (keys.length > 0) await stores.minio.removeObjects(stores.bronzeBucket, keys);
    }
  }
}

/** Failing-row samples of the datasets' checks (`_checks/<dataset>/…`). */
async function removeCheckSamples(stores: CleanupStores, names: readonly string[]): Promise<void> {
  for (const dataset of names) {
    const keys: string[] = [];
    for await (const item of stores.minio.listObjectsV2(stores.bronzeBucket, `_checks/${dataset}/`, true) as AsyncIterable<{
      name?: string;
    }>) {
      if (item.name) keys.push(item.name);
    }
    if (keys.length > 0) await stores.minio.removeObjects(stores.bronzeBucket, keys);
  }
}

/** How many rows the catalog still has of `names`, in any table that keeps rows per dataset. */
export async function datasetRowsLeft(catalog: Pool, names: readonly string[]): Promise<number> {
  if (names.length === 0) return 0;
  let left = 0;
  const tables = await catalogTables(catalog);
  for (const table of ['datasets', ...PER_DATASET_TABLES.filter((t) => tables.has(t))]) {
    const [rows] = await catalog.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${table === 'datasets' ? 'name' : 'dataset'} IN (?)`, [
      names,
    ]);
    left += Number((rows as { n: number }[])[0]?.n ?? 0);
  }
  return left;
}

/**
 * Records the datasets a test file declares, so that its afterAll removes what the file created:
 * datasets that were not in the catalog before, and silver tables that did not exist before
 * (a test that re-declares the demo's `shop.orders` leaves the demo's alone).
 */
export function trackDatasets(stores: CleanupStores) {
  const created = new Set<string>();
  const silverTables = new Set<string>();
  return {
    created,
    /** The catalog's upsert, remembering what it created. */
    track<R extends { name: string }>(upsert: (raw: unknown) => Promise<R>) {
      return async (raw: unknown): Promise<R> => {
        const declared = raw as { name?: unknown; target?: { table?: unknown } };
        const name = String(declared.name);
        const target = String(declared.target?.table);
        const [known] = await stores.catalog.query('SELECT 1 FROM datasets WHERE name = ?', [name]);
        const [silver] = await stores.catalog.query('SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [
          stores.silverDatabase,
          target,
        ]);
        const result = await upsert(raw);
        if ((known as unknown[]).length === 0) created.add(result.name);
        if ((silver as unknown[]).length === 0 && created.has(result.name)) silverTables.add(target);
        return result;
      };
    },
    /** Removes what was created, then checks the catalog has nothing left of it. */
    async cleanup(): Promise<void> {
      const names = [...created];
      await removeDatasets(stores, names, [...silverTables]);
      const left = await datasetRowsLeft(stores.catalog, names);
      if (left > 0) throw new Error(`cleanup left ${left} catalog rows of ${names.join(', ')}`);
      created.clear();
      silverTables.clear();
    },
  };
}

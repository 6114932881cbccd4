import { Command } from 'commander';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { readDatasetFile } from '../infra/datasets-file.js';
import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../workers/clients.js';
import { loadConfig } from '../workers/config.js';

/** Opens the stores, runs `work`, and always closes them again. */
async function withCatalog<T>(work: (catalog: ReturnType<typeof createDatasetCatalog>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const clients = createClients(config);
  try {
    await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, config });
    return await work(createDatasetCatalog(clients.catalog));
  } finally {
    await clients.close();
  }
}

const program = new Command('spokeflow').description('durable data-platform workflows on Temporal');

const datasets = program.command('datasets').description('declare and list the datasets of the catalog');
datasets
  .command('apply')
  .argument('<file>', 'YAML or JSON file with one dataset declaration or a list of them')
  .description('declare or update the datasets of a file in the catalog (idempotent)')
  .action(async (file: string) => {
    const declarations = await readDatasetFile(file);
    await withCatalog(async (catalog) => {
      for (const d of declarations) {
        const { changed } = await catalog.upsert(d);
        console.log(`${changed ? 'applied  ' : 'unchanged'} ${d.name}`);
      }
    });
  });
datasets
  .command('list')
  .description('list the declared datasets')
  .action(async () => {
    await withCatalog(async (catalog) => {
      const all = await catalog.list();
      console.table(all.map((d) => ({ name: d.name, source: `${d.source.kind}:${d.source.table ?? '(query)'}`, target: d.target.table, team: d.team, owner: d.owner })));
    });
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`spokeflow: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

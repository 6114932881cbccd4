import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { migrate } from './migrations/index.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const clients = createClients(config);
  try {
    const applied = await migrate({
      mysql: clients.catalog,
      minio: clients.minio,
      influxAdmin: clients.influxAdmin,
      postgres: clients.postgres,
      config,
    });
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date');
  } finally {
    await clients.close();
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { migrate } from '../infra/migrations/index.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';

/** Brings every store's schema up to date once before the suite (the stack is already up). */
export default async function setup(): Promise<void> {
  const config = loadConfig();
  const clients = createClients(config);
  try {
    await migrate({ mysql: clients.catalog, minio: clients.minio, influxAdmin: clients.influxAdmin, postgres: clients.postgres, config });
  } finally {
    await clients.close();
  }
}

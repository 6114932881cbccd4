import type { MigrationContext } from './index.js';

export async function up({ influxAdmin }: MigrationContext): Promise<void> {
  await influxAdmin.ensureBucket();
}

import type { MigrationContext } from './index.js';

export async function up({ minio, config }: MigrationContext): Promise<void> {
  const bucket = config.minio.bronzeBucket;
  if (!(await minio.bucketExists(bucket))) {
    try {
      await minio.makeBucket(bucket);
    } catch (err) {
      // Another process may have made it between the check and the call.
      if (!(await minio.bucketExists(bucket))) throw err;
    }
  }
}

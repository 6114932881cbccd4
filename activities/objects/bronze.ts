import { createHash } from 'node:crypto';
import type { Client as MinioClient } from 'minio';

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

/** Bronze: the raw batches as they left the source, under deterministic keys. */
export function createBronzeStore(minio: MinioClient, bucket: string) {
  return {
    bucket,
    async put(key: string, body: Uint8Array | Buffer, contentType: string): Promise<StoredObject> {
      const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const sha256 = createHash('sha256').update(buffer).digest('hex');
      await minio.putObject(bucket, key, buffer, buffer.length, { 'Content-Type': contentType, 'x-amz-meta-sha256': sha256 });
      return { key, bytes: buffer.length, sha256 };
    },
    async get(key: string): Promise<Buffer> {
      const stream = await minio.getObject(bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async list(prefix: string): Promise<string[]> {
      const keys: string[] = [];
      for await (const item of minio.listObjectsV2(bucket, prefix, true)) {
        if (item.name) keys.push(item.name);
      }
      return keys.sort();
    },
  };
}
export type BronzeStore = ReturnType<typeof createBronzeStore>;

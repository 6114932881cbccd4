import type { Client as MinioClient } from 'minio';

/** Rendered digests in MinIO, one object per recipient and period (a re-render overwrites it). */
export function createDigestObjects(minio: MinioClient, bucket: string) {
  return {
    bucket,
    async putHtml(key: string, html: string): Promise<void> {
      const buffer = Buffer.from(html, 'utf8');
      await minio.putObject(bucket, key, buffer, buffer.length, { 'Content-Type': 'text/html; charset=utf-8' });
    },
  };
}
export type DigestObjects = ReturnType<typeof createDigestObjects>;

import type { Client as MinioClient } from 'minio';
import type { SourceColumn } from '../../common/column-types.js';
import type { SilverValue } from '../catalog/silver-checks.js';
import { tsvField } from '../catalog/load-data.js';
import { encodeParquetFromText } from '../ingestion/parquet-page.js';

/** A silver value as page text, the form the bronze Parquet encoder reads. */
function asText(v: SilverValue): string | null {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

/**
 * Failing-row samples in MinIO: at most a hundred rows of a check, primary key first, as Parquet
 * (the bronze encoder) under a key fixed by run and check, so a retry overwrites its own sample.
 */
export function createCheckSamples(minio: MinioClient, bucket: string) {
  return {
    bucket,
    async put(key: string, columns: SourceColumn[], rows: SilverValue[][]): Promise<{ key: string; bytes: number }> {
      const text = rows.map((row) => row.map((v) => tsvField(asText(v))).join('\t') + '\n').join('');
      const parquet = Buffer.from(encodeParquetFromText(columns, Buffer.from(text, 'utf8')));
      await minio.putObject(bucket, key, parquet, parquet.length, { 'Content-Type': 'application/vnd.apache.parquet' });
      return { key, bytes: parquet.length };
    },
  };
}
export type CheckSamples = ReturnType<typeof createCheckSamples>;

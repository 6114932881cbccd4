import { inspectPage, rowsToText } from '../activities/ingestion/page.js';
import { encodeParquetFromText } from '../activities/ingestion/parquet-page.js';
import type { SourceColumn } from '../common/column-types.js';

// npx tsx bench/encode-page.ts: the CPU cost of checking a page of text for silver and of its Parquet.
const columns: SourceColumn[] = [
  { name: 'id', type: { kind: 'int', bits: 64 }, sourceType: 'bigint' },
  { name: 'updated_at', type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' },
  { name: 'name', type: { kind: 'text' }, sourceType: 'text' },
  { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, sourceType: 'numeric(10,2)' },
  { name: 'quantity', type: { kind: 'int', bits: 32 }, sourceType: 'integer' },
];
const PAGE = 50_000;
const text = rowsToText(
  Array.from({ length: PAGE }, (_, i) => [
    String(i + 1),
    `2025-01-01 00:${String(Math.floor(i / 60000) % 60).padStart(2, '0')}:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}`,
    `customer-${i % 50000}`,
    `${(i % 100000) / 100}`,
    String(i % 17),
  ]),
);
for (let round = 0; round < 12; round++) {
  const t = performance.now();
  const silver = inspectPage(columns, text, [0]);
  const tSilver = performance.now();
  const parquet = encodeParquetFromText(columns, silver.text);
  const tBronze = performance.now();
  console.log(
    `${PAGE} rows: silver check ${(tSilver - t).toFixed(0)} ms (${(silver.text.length / 1e6).toFixed(2)} MB), ` +
      `bronze Parquet ${(tBronze - tSilver).toFixed(0)} ms (${(parquet.byteLength / 1e6).toFixed(2)} MB), ` +
      `${Math.round(PAGE / ((tBronze - t) / 1000)).toLocaleString('en-US')} rows/s`,
  );
}

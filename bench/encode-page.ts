import { encodePage } from '../activities/ingestion/page.js';
import type { SourceColumn } from '../common/column-types.js';

// npm run bench:encode: the CPU cost of turning a page of rows into Parquet + LOAD DATA text.
const columns: SourceColumn[] = [
  { name: 'id', type: { kind: 'int', bits: 64 }, sourceType: 'bigint' },
  { name: 'updated_at', type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' },
  { name: 'name', type: { kind: 'text' }, sourceType: 'text' },
  { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, sourceType: 'numeric(10,2)' },
  { name: 'quantity', type: { kind: 'int', bits: 32 }, sourceType: 'integer' },
];
const PAGE = 50_000;
const rows = Array.from({ length: PAGE }, (_, i) => [
  String(i + 1),
  `2025-01-01 00:${String(Math.floor(i / 60000) % 60).padStart(2, '0')}:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}`,
  `customer-${i % 50000}`,
  `${(i % 100000) / 100}`,
  String(i % 17),
]);
for (let round = 0; round < 5; round++) {
  const t = performance.now();
  const page = encodePage(columns, rows);
  const ms = performance.now() - t;
  console.log(`encode ${PAGE} rows: ${ms.toFixed(0)} ms (${Math.round(PAGE / (ms / 1000)).toLocaleString('en-US')} rows/s), parquet ${(page.parquet.byteLength / 1e6).toFixed(2)} MB, tsv ${(page.tsv.length / 1e6).toFixed(2)} MB`);
}

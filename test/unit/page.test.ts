import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { encodePage } from '../../activities/ingestion/page.js';
import type { SourceColumn } from '../../common/column-types.js';

const columns: SourceColumn[] = [
  { name: 'id', type: { kind: 'int', bits: 64 }, sourceType: 'bigint' },
  { name: 'note', type: { kind: 'text' }, sourceType: 'text' },
  { name: 'at', type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' },
  { name: 'price', type: { kind: 'decimal', precision: 10, scale: 2 }, sourceType: 'numeric(10,2)' },
  { name: 'ok', type: { kind: 'bool' }, sourceType: 'boolean' },
  { name: 'day', type: { kind: 'date' }, sourceType: 'date' },
];

describe('encoding a page for bronze and silver', () => {
  it('escapes tabs, newlines and backslashes and writes NULL as \\N', () => {
    const page = encodePage(columns, [
      ['1', 'tab\there\nnew line \\ back', '2024-01-02 03:04:05.123456', '9.99', '1', '2024-01-02'],
      ['2', null, null, null, null, null],
    ]);
    expect(page.tsv.toString('utf8')).toBe(
      '1\ttab\\there\\nnew line \\\\ back\t2024-01-02 03:04:05.123456\t9.99\t1\t2024-01-02\n' + '2\t\\N\t\\N\t\\N\t\\N\t\\N\n',
    );
    expect(page.nullCounts).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it('quarantines values silver cannot hold, naming the column and the value', () => {
    const page = encodePage(columns, [
      ['1', 'fine', '2024-01-02 03:04:05', '1.00', '0', '2024-01-02'],
      ['2', 'forever', 'infinity', '1.00', '0', '2024-01-02'],
      ['3', 'not a number', '2024-01-02 03:04:05', 'NaN', '0', '2024-01-02'],
      ['4', 'ancient', '2024-01-02 03:04:05', '1.00', '0', '0044-03-15 BC'],
    ]);
    expect(page.rows).toBe(1);
    expect(page.quarantined.map((q) => q.reason)).toEqual([
      'at: timestamp outside 1000-01-01 … 9999-12-31 (infinity)',
      'price: not a finite number (NaN)',
      'day: date outside 1000-01-01 … 9999-12-31 (0044-03-15 BC)',
    ]);
    expect(page.quarantined[0]!.row).toMatchObject({ id: '2', note: 'forever' });
    expect(page.tsv.toString('utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('writes Parquet that a standard reader reads back with typed values', async () => {
    const page = encodePage(columns, [
      ['9007199254740993', 'Zoë 東京 🚲', '2024-01-02 03:04:05.123456', '12345678.90', '1', '2024-02-29'],
      ['2', null, null, null, '0', null],
    ]);
    const rows = await parquetReadObjects({ file: new Uint8Array(page.parquet).buffer });
    expect(rows[0]).toEqual({
      id: 9007199254740993n,
      note: 'Zoë 東京 🚲',
      at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)),
      price: '12345678.90',
      ok: true,
      day: new Date(Date.UTC(2024, 1, 29)),
    });
    expect(rows[1]).toMatchObject({ id: 2n, note: null, ok: false, day: null });
  });
});

import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { fromPostgresCopyText, inspectPage, rowsToText } from '../../activities/ingestion/page.js';
import { encodeParquetFromText } from '../../activities/ingestion/parquet-page.js';
import type { SourceColumn } from '../../common/column-types.js';

const columns: SourceColumn[] = [
  { name: 'id', type: { kind: 'int', bits: 64 }, sourceType: 'bigint' },
  { name: 'note', type: { kind: 'text' }, sourceType: 'text' },
  { name: 'at', type: { kind: 'timestamp', utc: true }, sourceType: 'timestamptz' },
  { name: 'price', type: { kind: 'decimal', precision: 10, scale: 2 }, sourceType: 'numeric(10,2)' },
  { name: 'ok', type: { kind: 'bool' }, sourceType: 'boolean' },
  { name: 'day', type: { kind: 'date' }, sourceType: 'date' },
];
const KEY = [0];

describe('page text for silver and bronze', () => {
  it('escapes tabs, newlines and backslashes and writes NULL as \\N', () => {
    const text = rowsToText([
      ['1', 'tab\there\nnew line \\ back', '2024-01-02 03:04:05.123456', '9.99', '1', '2024-01-02'],
      ['2', null, null, null, null, null],
    ]);
    expect(text.toString('utf8')).toBe(
      '1\ttab\\there\\nnew line \\\\ back\t2024-01-02 03:04:05.123456\t9.99\t1\t2024-01-02\n' + '2\t\\N\t\\N\t\\N\t\\N\t\\N\n',
    );
    const page = inspectPage(columns, text, KEY);
    expect(page.nullCounts).toEqual([0, 1, 1, 1, 1, 1]);
    expect([page.rows, page.first, page.last]).toEqual([2, ['1'], ['2']]);
  });

  it('quarantines values silver cannot hold, naming the column and the value, and keeps the rest', () => {
    const page = inspectPage(
      columns,
      rowsToText([
        ['1', 'fine', '2024-01-02 03:04:05', '1.00', '0', '2024-01-02'],
        ['2', 'forever', 'infinity', '1.00', '0', '2024-01-02'],
        ['3', 'not a number', '2024-01-02 03:04:05', 'NaN', '0', '2024-01-02'],
        ['4', 'ancient', '2024-01-02 03:04:05', '1.00', '0', '0044-03-15 BC'],
        ['5', 'also fine', '9999-12-31 23:59:59.999999', '-0.01', '1', '1000-01-01'],
      ]),
      KEY,
    );
    expect(page.quarantined.map((q) => q.reason)).toEqual([
      'at: timestamp outside 1000-01-01 … 9999-12-31 (infinity)',
      'price: not a finite number (NaN)',
      'day: date outside 1000-01-01 … 9999-12-31 (0044-03-15 BC)',
    ]);
    expect(page.quarantined[0]!.row).toMatchObject({ id: '2', note: 'forever' });
    expect(page.rows).toBe(2);
    expect(
      page.text
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual(['1', '5']);
    expect([page.first, page.last]).toEqual([['1'], ['5']]); // positions cover quarantined rows too
  });

  it('turns the two Postgres COPY escapes MySQL does not know into raw bytes', () => {
    const copy = Buffer.from('1\tform\\ffeed \\\\f and \\vtab\\b\n');
    expect(fromPostgresCopyText(copy).toString('latin1')).toBe('1\tform\ffeed \\\\f and \vtab\\b\n');
  });

  it('writes the page text as Parquet that a standard reader reads back with typed values', async () => {
    const wide: SourceColumn[] = [
      ...columns,
      { name: 'doc', type: { kind: 'json' }, sourceType: 'jsonb' },
      { name: 'raw', type: { kind: 'bytes' }, sourceType: 'bytea' },
      { name: 'ratio', type: { kind: 'float', bits: 64 }, sourceType: 'double precision' },
      { name: 'small', type: { kind: 'int', bits: 16 }, sourceType: 'smallint' },
    ];
    const text = rowsToText([
      [
        '9007199254740993',
        'Zoë 東京 🚲\ttab\nline \\N',
        '2024-01-02 03:04:05.123456',
        '12345678.90',
        '1',
        '2024-02-29',
        '{"a": [1, "ü"]}',
        '00ff10',
        '-1.5e-7',
        '-32768',
      ],
      ['2', null, null, null, '0', null, null, null, null, null],
      ['-42', '', '1969-12-31 23:59:59.5', '0.00', '0', '1900-01-01', '[]', '', '0', '7'],
    ]);
    const parquet = encodeParquetFromText(wide, text);
    const rows = await parquetReadObjects({ file: new Uint8Array(parquet).buffer });
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({
      id: 9007199254740993n,
      note: 'Zoë 東京 🚲\ttab\nline \\N',
      at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)),
      price: '12345678.90',
      ok: true,
      day: new Date(Date.UTC(2024, 1, 29)),
      doc: '{"a": [1, "ü"]}', // JSON text under the JSON logical type
      raw: expect.anything(),
      ratio: -1.5e-7,
      small: -32768,
    });
    const raw = await parquetReadObjects({ file: new Uint8Array(parquet).buffer, columns: ['raw'], utf8: false });
    expect(raw.map((r) => r.raw)).toEqual([new Uint8Array([0, 255, 16]), null, new Uint8Array([])]);
    expect(rows[1]).toEqual({
      id: 2n,
      note: null,
      at: null,
      price: null,
      ok: false,
      day: null,
      doc: null,
      raw: null,
      ratio: null,
      small: null,
    });
    expect(rows[2]).toMatchObject({
      id: -42n,
      note: '',
      at: new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 500)),
      day: new Date(Date.UTC(1900, 0, 1)),
      doc: '[]',
      small: 7,
    });
  });
});

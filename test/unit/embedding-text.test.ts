import { describe, expect, it } from 'vitest';
import { vectorLiteral } from '../../activities/vectors/embedder.js';
import { buildEntryText, contentHash, type CatalogEntry } from '../../activities/vectors/entry-text.js';

const orders: CatalogEntry = {
  dataset: 'shop.orders',
  description: 'Every order placed in the web shop,\n  one row per order.',
  owner: 'ana@example.com',
  team: 'commerce',
  tags: ['sales', 'pii'],
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'email', type: 'string', doc: 'buyer e-mail' },
  ],
};

describe('the text embedded for a catalog entry', () => {
  it('names the dataset, its description, columns with their docs, tags, owner and team', () => {
    expect(buildEntryText(orders)).toBe(
      [
        'dataset shop.orders',
        'description: Every order placed in the web shop, one row per order.',
        'columns: id, email (buyer e-mail)',
        'tags: sales, pii',
        'owner: ana@example.com',
        'team: commerce',
      ].join('\n'),
    );
  });

  it('leaves out what the catalog does not say', () => {
    expect(buildEntryText({ ...orders, description: '  ', tags: [], columns: [] })).toBe(
      'dataset shop.orders\nowner: ana@example.com\nteam: commerce',
    );
  });

  it('caps very long descriptions and column lists', () => {
    const text = buildEntryText({
      ...orders,
      description: 'x'.repeat(10_000),
      columns: Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, type: 'string' })),
    });
    expect(text.length).toBeLessThan(3_000);
    expect(text).toContain(', and 40 more');
  });
});

describe('the content hash', () => {
  const hash = (e: CatalogEntry) => contentHash(buildEntryText(e));

  it('is the same for the same entry, and for whitespace-only edits of the description', () => {
    expect(hash(orders)).toBe(hash({ ...orders, columns: [...orders.columns], tags: [...orders.tags] }));
    expect(hash(orders)).toBe(hash({ ...orders, description: ' Every order placed in the web shop, one row per order. ' }));
    expect(hash(orders)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, Partial<CatalogEntry>]>([
    ['description', { description: 'Orders of the shop.' }],
    ['owner', { owner: 'bo@example.com' }],
    ['team', { team: 'finance' }],
    ['tags', { tags: ['sales'] }],
    ['tag order', { tags: ['pii', 'sales'] }],
    ['a column', { columns: [{ name: 'id', type: 'int64' }] }],
    [
      'a column name',
      {
        columns: [
          { name: 'id', type: 'int64' },
          { name: 'mail', type: 'string', doc: 'buyer e-mail' },
        ],
      },
    ],
    [
      'a column doc',
      {
        columns: [
          { name: 'id', type: 'int64' },
          { name: 'email', type: 'string', doc: 'contact' },
        ],
      },
    ],
    ['the name', { dataset: 'shop.order_lines' }],
  ])('changes when the %s changes', (_what, change) => {
    expect(hash({ ...orders, ...change })).not.toBe(hash(orders));
  });
});

describe('vector literals for pgvector', () => {
  it('writes every component with float32 precision', () => {
    expect(vectorLiteral(Float32Array.from([0.5, -0.25, 1e-9]))).toBe('[0.5,-0.25,9.9999997e-10]');
    const v = Float32Array.from([0.123456789, -0.987654321]);
    const parsed = JSON.parse(vectorLiteral(v)) as number[];
    expect(Float32Array.from(parsed)).toEqual(v);
  });
});

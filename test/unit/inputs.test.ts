import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { DatasetDeclaration } from '../../common/dataset.js';
import { parseInput } from '../../common/errors.js';
import { SyncInput } from '../../common/sync.js';

function failure(schema: Parameters<typeof parseInput>[0], raw: unknown): ApplicationFailure {
  try {
    parseInput(schema, raw, 'input');
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected the input to be rejected');
}

const valid = {
  name: 'shop.orders',
  source: { kind: 'postgres', connection: 'local-postgres', table: 'shop.orders', primaryKey: ['order_id'], cursor: 'updated_at' },
  target: { table: 'shop_orders' },
  owner: 'orders@example.com',
  team: 'commerce',
};

describe('input validation', () => {
  it('rejects a bad sync input without retries, naming each field', () => {
    const err = failure(SyncInput, { dataset: 'Shop Orders', pageRows: 0, extra: 1 });
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('InvalidInput');
    expect(err.message).toContain('dataset: must be lower-case words');
    expect(err.message).toContain('pageRows:');
    expect(err.message).toMatch(/extra/);
  });

  it('fills defaults for a minimal sync input', () => {
    expect(parseInput(SyncInput, { dataset: 'shop.orders' })).toEqual({
      dataset: 'shop.orders',
      mode: 'incremental',
      pageRows: 50_000,
      pagesPerChunk: 20,
      whenBusy: 'fail',
    });
  });

  it('refuses names that could carry SQL into a statement', () => {
    for (const [path, patch] of [
      ['source.table', { source: { ...valid.source, table: 'orders; DROP TABLE users' } }],
      ['source.primaryKey.0', { source: { ...valid.source, primaryKey: ['id" OR 1=1 --'] } }],
      ['source.cursor', { source: { ...valid.source, cursor: 'updated_at`' } }],
      ['target.table', { target: { table: 'silver.x' } }],
    ] as const) {
      const err = failure(DatasetDeclaration, { ...valid, ...patch });
      expect(err.message).toContain(`${path}:`);
    }
  });

  it('asks for exactly one of table and query', () => {
    const err = failure(DatasetDeclaration, { ...valid, source: { ...valid.source, query: 'SELECT 1' } });
    expect(err.message).toContain('source.table: give exactly one of table and query');
  });
});

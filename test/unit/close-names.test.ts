import { describe, expect, it } from 'vitest';
import { closeNames } from '../../cli/preflight.js';

describe('the declared names a mistyped one most likely meant', () => {
  const declared = ['shop.customers', 'shop.orders', 'shop.order_lines', 'shop.products', 'crm.contacts'];

  it.each([
    ['shop.ordrs', ['shop.orders']], // a letter left out
    ['shop.ordres', ['shop.orders']], // two letters swapped
    ['crm.orders', ['shop.orders']], // the same table under another schema
    ['shop.order_line', ['shop.order_lines', 'shop.orders']], // closest first
    ['shop.custmer', ['shop.customers']],
    ['finance.ledger', []], // nothing close: no guess
  ])('%s → %j', (typo, expected) => {
    expect(closeNames(typo, declared)).toEqual(expected);
  });

  it('lists at most three, closest first', () => {
    expect(closeNames('a.t', ['a.t1', 'b.t', 'a.t12', 'c.t', 'd.t'])).toEqual(['a.t1', 'b.t', 'c.t']);
  });
});

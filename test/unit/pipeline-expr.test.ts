import { describe, expect, it } from 'vitest';
import { ExprError, evalExpr, parseExpr, referencedNodes, referencedRoots } from '../../common/pipeline/expr.js';

const ctx = {
  input: { team: 'commerce', n: 3, dry: false, tags: ['pii', 'gold'], nested: { deep: { x: 1 } } },
  nodes: { list: { names: ['shop.orders', 'shop.customers'], count: 2 }, scan: { anomalies: 0 }, empty: null },
  item: { dataset: 'shop.orders', rows: 10 },
  index: 4,
};
const ev = (src: string) => evalExpr(src, ctx);

describe('pipeline expressions', () => {
  it('reads paths into the input, node outputs, the loop item and index', () => {
    expect(ev('input.team')).toBe('commerce');
    expect(ev('input.nested.deep.x')).toBe(1);
    expect(ev('nodes.list.names[1]')).toBe('shop.customers');
    expect(ev("nodes.list['count']")).toBe(2);
    expect(ev('nodes.list.names[-1]')).toBe('shop.customers');
    expect(ev('item.dataset')).toBe('shop.orders');
    expect(ev('index')).toBe(4);
    expect(ev('input.tags[index - 3]')).toBe('gold');
  });

  it("accepts Windmill's names results and flow_input", () => {
    expect(ev('results.scan.anomalies')).toBe(0);
    expect(ev('flow_input.n')).toBe(3);
  });

  it('reads a missing field as null instead of failing, on any depth', () => {
    expect(ev('input.nope')).toBeNull();
    expect(ev('input.nope.deeper.still')).toBeNull();
    expect(ev('nodes.empty.field')).toBeNull();
    expect(ev('nodes.list.names[9]')).toBeNull();
  });

  it('never reaches prototype properties', () => {
    expect(ev('input.constructor')).toBeNull();
    expect(ev("input['__proto__']")).toBeNull();
    expect(ev('input.team.length')).toBeNull();
    expect(ev('nodes.list.names.length')).toBe(2);
  });

  it('compares, combines with && || ! and chooses with ?:', () => {
    expect(ev("input.team == 'commerce' && !input.dry")).toBe(true);
    expect(ev('input.n >= 3 && input.n < 4')).toBe(true);
    expect(ev("input.team != 'growth' || false")).toBe(true);
    expect(ev('nodes.scan.anomalies > 0')).toBe(false);
    expect(ev("input.n > 2 ? 'many' : 'few'")).toBe('many');
    expect(ev("input.tags == ['pii', 'gold']")).toBe(true);
    expect(ev('input.nope == null')).toBe(true);
    expect(ev("input.nope || 'fallback'")).toBe('fallback');
  });

  it('does arithmetic and joins strings', () => {
    expect(ev('input.n * 2 + 1')).toBe(7);
    expect(ev('(input.n + 1) * 2')).toBe(8);
    expect(ev('-input.n % 2')).toBe(-1);
    expect(ev("'sync:' + item.dataset")).toBe('sync:shop.orders');
  });

  it('offers a few pure functions', () => {
    expect(ev('len(nodes.list.names)')).toBe(2);
    expect(ev("contains(input.tags, 'pii')")).toBe(true);
    expect(ev("contains(item.dataset, 'orders')")).toBe(true);
    expect(ev('coalesce(input.nope, item.rows, 5)')).toBe(10);
    expect(ev("join(nodes.list.names, ', ')")).toBe('shop.orders, shop.customers');
    expect(ev("pluck([item, item], 'rows')")).toEqual([10, 10]);
    expect(ev('sum([1, 2, input.n])')).toBe(6);
    expect(ev("startsWith(item.dataset, 'shop.')")).toBe(true);
    expect(ev("number('42') + 1")).toBe(43);
  });

  it('rejects what it cannot read, with the position', () => {
    expect(() => parseExpr('input.')).toThrow(/expected a field name after \. \(at character 7\)/);
    expect(() => parseExpr('process.exit(1)')).toThrow(/unknown name process/);
    expect(() => parseExpr('eval("1")')).toThrow(/unknown function eval/);
    expect(() => parseExpr('input.a = 1')).toThrow(/unexpected character "="/);
    expect(() => parseExpr("'open")).toThrow(/unterminated string/);
    expect(() => parseExpr('(input.a')).toThrow(/expected \)/);
    expect(() => parseExpr('nodes')).toThrow(/nodes must be followed by a node id/);
    expect(() => parseExpr('input.a input.b')).toThrow(ExprError);
    expect(() => parseExpr('!'.repeat(100) + 'true')).toThrow(/nested too deeply/);
  });

  it('fails type errors at evaluation, naming the values', () => {
    expect(() => ev('input.team > 3')).toThrow(/cannot compare string "commerce" > number 3/);
    expect(() => ev('input.n / 0')).toThrow(/division by zero/);
    expect(() => ev('input.tags * 2')).toThrow(/cannot compute a list \* number 2/);
  });

  it('names the nodes and roots an expression reads (the edges of the graph)', () => {
    const ast = parseExpr('nodes.a.x + results.b[nodes.c.i] + len(item)');
    expect(referencedNodes(ast).sort()).toEqual(['a', 'b', 'c']);
    expect(referencedRoots(ast).sort()).toEqual(['item', 'nodes']);
  });

  it('is deterministic: the same AST and context give the same value', () => {
    const ast = parseExpr("join(pluck([item, item], 'dataset'), '|') + string(input.nested)");
    expect(JSON.stringify(ast)).toBe(JSON.stringify(parseExpr("join(pluck([item, item], 'dataset'), '|') + string(input.nested)")));
    expect(evalExpr("join(pluck([item, item], 'dataset'), '|') + string(input.nested)", ctx)).toBe(
      'shop.orders|shop.orders{"deep":{"x":1}}',
    );
  });
});

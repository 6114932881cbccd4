import { describe, expect, it } from 'vitest';
import { createFlowExpressionActivities, evaluateExpression } from '../../activities/pipeline/flow-expressions.js';

const context = { flow_input: { n: 3, iter: { value: 'b', index: 1 } }, results: { load: [1, 2, 3] }, previous_result: { ok: true } };

describe('OpenFlow JavaScript expressions in QuickJS', () => {
  it("reads Windmill's names and gives plain JSON values", async () => {
    expect(await evaluateExpression('results.load.length + flow_input.n', context)).toBe(6);
    expect(await evaluateExpression('flow_input.iter.value + flow_input.iter.index', context)).toBe('b1');
    expect(await evaluateExpression('{ total: results.load.reduce((a, b) => a + b, 0) }', context)).toEqual({ total: 6 });
    expect(await evaluateExpression('`n=${flow_input.n}`', context)).toBe('n=3');
    expect(await evaluateExpression('previous_result.missing', context)).toBeNull();
  });

  it('takes statements, giving the last value', async () => {
    expect(await evaluateExpression('let x = flow_input.n * 2; x + 1', context)).toBe(7);
  });

  it('has no I/O and stops a runaway loop within its budget', async () => {
    await expect(evaluateExpression('require("fs")', context)).rejects.toThrow(/require/);
    await expect(evaluateExpression('fetch("http://example.com")', context)).rejects.toThrow(/fetch/);
    const started = Date.now();
    await expect(evaluateExpression('while (true) {}', context)).rejects.toThrow(/interrupted/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(evaluateExpression('let a = []; while (true) a.push("xxxxxxxxxxxxxxxx".repeat(1000))', context)).rejects.toThrow();
  });

  it('fails naming the step and the field, not retryable', async () => {
    const { evaluateFlowExpressions } = createFlowExpressionActivities();
    await expect(
      evaluateFlowExpressions({ step: 'rank', expressions: { 'input_transforms.rows.expr': 'results.nope.rows' }, context }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^input_transforms\.rows\.expr: TypeError/),
      nonRetryable: true,
      details: [{ node: 'rank' }],
    });
  });
});

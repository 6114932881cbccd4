import { ApplicationFailure } from '@temporalio/common';
import { getQuickJS, shouldInterruptAfterDeadline, type QuickJSWASMModule } from 'quickjs-emscripten';
import { ErrorType } from '../../common/errors.js';
import type { FlowExpressionsInput, FlowExpressionsResult } from '../../common/openflow/run.js';

/** Per expression: a runaway loop or allocation fails the step instead of the worker. */
export const EXPRESSION_BUDGET = { millis: 200, memoryBytes: 16 * 1024 * 1024, stackBytes: 512 * 1024 } as const;

let quickjs: Promise<QuickJSWASMModule> | undefined;

/**
 * One JavaScript expression in a fresh QuickJS context (WebAssembly: no I/O, no clock beyond
 * what QuickJS offers, no access to the worker), with Windmill's names bound from `context`.
 * The value travels back as JSON, as Windmill's results do.
 */
export async function evaluateExpression(text: string, context: Record<string, unknown>): Promise<unknown> {
  const module = await (quickjs ??= getQuickJS());
  const runtime = module.newRuntime();
  runtime.setMemoryLimit(EXPRESSION_BUDGET.memoryBytes);
  runtime.setMaxStackSize(EXPRESSION_BUDGET.stackBytes);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + EXPRESSION_BUDGET.millis));
  const vm = runtime.newContext();
  try {
    // Windmill's variable('p') and resource('p') give the reference, never the secret: the
    // rawscript activity resolves it (activities/scripts/flow-secrets.ts), so history holds `$var:p`.
    const references = ['variable', 'resource']
      .filter((name) => !Object.hasOwn(context, name))
      .map((name) => `const ${name} = (path) => '$${name === 'variable' ? 'var' : 'res'}:' + String(path);`);
    const bind = [...references, ...Object.keys(context).map((name) => `const ${name} = __context[${JSON.stringify(name)}];`)].join('\n');
    const json = JSON.stringify(context);
    // An expression first (so `{ a: 1 }` is an object); statements (`let x = …; x`) give their last value.
    const attempts = [`(${text}\n)`, text];
    let lastError: unknown;
    for (const body of attempts) {
      const code = `(() => { const __context = JSON.parse(${JSON.stringify(json)});\n${bind}\nconst __value = eval(${JSON.stringify(body)});\nreturn JSON.stringify(__value === undefined ? null : __value); })()`;
      const result = vm.evalCode(code, 'expression.js');
      if (result.error) {
        const failure = vm.dump(result.error) as { name?: string; message?: string } | string;
        result.error.dispose();
        lastError = failure;
        if (typeof failure === 'object' && failure?.name === 'SyntaxError' && body !== text) continue;
        break;
      }
      const out = vm.getString(result.value);
      result.value.dispose();
      return JSON.parse(out) as unknown;
    }
    const e = lastError as { name?: string; message?: string } | string;
    throw new Error(typeof e === 'string' ? e : `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`);
  } finally {
    vm.dispose();
    runtime.dispose();
  }
}

/**
 * The pipeline worker's expression evaluator for OpenFlow steps. Run as a local activity: its
 * result is a marker in the history, so a replay reads the recorded value instead of evaluating.
 */
export function createFlowExpressionActivities() {
  return {
    async evaluateFlowExpressions(input: FlowExpressionsInput): Promise<FlowExpressionsResult> {
      const values: Record<string, unknown> = {};
      for (const [field, text] of Object.entries(input.expressions)) {
        try {
          values[field] = await evaluateExpression(text, input.context);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          throw ApplicationFailure.create({
            message: `${field}: ${message}`,
            type: ErrorType.pipelineBadValue,
            nonRetryable: true,
            details: [{ node: input.step }],
          });
        }
      }
      return { values };
    },
  };
}

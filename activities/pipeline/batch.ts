import { ApplicationFailure } from '@temporalio/common';
import { evaluate } from '../../common/pipeline/expr.js';
import { PIPELINE_OUTPUT_LIMIT_BYTES, PipelineErrorType, compiled, type InputTransform } from '../../common/pipeline/spec.js';

/** One node of a chain of local activity nodes run in one go (a spec with `batch_local: true`). */
export interface BatchStep {
  id: string;
  name: string;
  input_transforms: Record<string, InputTransform>;
}

export interface BatchInput {
  steps: BatchStep[];
  /** What the steps' expressions read from outside the chain. */
  scope: { input: unknown; nodes: Record<string, unknown>; item?: unknown; index?: number };
}

export interface BatchOutput {
  outputs: unknown[];
  durationsMs: number[];
}

type AnyActivity = (input: never) => Promise<unknown>;

/**
 * Runs a chain of pipeline nodes, each an activity of this worker, one after the other inside one
 * local activity: one marker in the history instead of one per node. The steps are evaluated with
 * the same expression language as in the workflow; a failing step fails the whole batch (retried
 * as one), so batched activities must be idempotent, as every activity should be.
 */
export function createBatchActivity(registry: () => Record<string, AnyActivity>) {
  return {
    async runPipelineBatch({ steps, scope }: BatchInput): Promise<BatchOutput> {
      const nodes = { ...scope.nodes };
      const outputs: unknown[] = [];
      const durationsMs: number[] = [];
      for (const step of steps) {
        const fn = registry()[step.name];
        if (!fn) throw ApplicationFailure.nonRetryable(`node ${step.id}: activity ${step.name} is not registered with the pipeline plugin`, PipelineErrorType.badValue);
        const input: Record<string, unknown> = {};
        for (const [key, t] of Object.entries(step.input_transforms)) {
          try {
            input[key] = t.type === 'static' ? t.value : evaluate(compiled(t.expr), { ...scope, nodes });
          } catch (err) {
            throw ApplicationFailure.nonRetryable(`node ${step.id}: input_transforms.${key}.expr: ${(err as Error).message}`, PipelineErrorType.badValue);
          }
        }
        const started = performance.now();
        let output: unknown;
        try {
          output = (await fn(input as never)) ?? null;
        } catch (err) {
          // Name the node that failed; keep the activity's own retryability.
          const nonRetryable = err instanceof ApplicationFailure && err.nonRetryable === true;
          const type = err instanceof ApplicationFailure && err.type ? err.type : 'Error';
          throw ApplicationFailure.create({ message: `node ${step.id}: ${(err as Error).message}`, type, nonRetryable });
        }
        const size = JSON.stringify(output).length;
        if (size > PIPELINE_OUTPUT_LIMIT_BYTES) {
          throw ApplicationFailure.nonRetryable(`node ${step.id}: output is ${size} bytes, over ${PIPELINE_OUTPUT_LIMIT_BYTES}`, PipelineErrorType.outputTooLarge);
        }
        nodes[step.id] = output;
        outputs.push(output);
        durationsMs.push(Math.round(performance.now() - started));
      }
      return { outputs, durationsMs };
    },
  };
}

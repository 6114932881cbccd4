import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../common/errors.js';
import { checkOutputSize, evaluateInput, nodeFailure } from '../../common/pipeline/node-io.js';
import type { InputTransform } from '../../common/pipeline/spec.js';

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
 * local activity: one marker in the history instead of one per node. Each step's input and output
 * go through the same evaluation and checks as in the workflow (common/pipeline/node-io.ts); a
 * failing step names itself in the failure's details and fails the whole batch (retried as one),
 * so batched activities must be idempotent, as every activity should be.
 */
export function createBatchActivity(registry: () => Record<string, AnyActivity>) {
  return {
    async runPipelineBatch({ steps, scope }: BatchInput): Promise<BatchOutput> {
      const nodes = { ...scope.nodes };
      const outputs: unknown[] = [];
      const durationsMs: number[] = [];
      for (const step of steps) {
        const fn = registry()[step.name];
        if (!fn)
          throw nodeFailure(step.id, `activity ${step.name} is not registered with the pipeline plugin`, ErrorType.pipelineBadValue, true);
        const input = evaluateInput(step.id, step.input_transforms, { ...scope, nodes });
        const started = performance.now();
        let output: unknown;
        try {
          output = (await fn(input as never)) ?? null;
        } catch (err) {
          // Name the node that failed in the details; keep the activity's own retryability.
          const nonRetryable = err instanceof ApplicationFailure && err.nonRetryable === true;
          const type = err instanceof ApplicationFailure && err.type ? err.type : 'Error';
          throw nodeFailure(step.id, (err as Error).message, type, nonRetryable);
        }
        checkOutputSize(step.id, output);
        nodes[step.id] = output;
        outputs.push(output);
        durationsMs.push(Math.round(performance.now() - started));
      }
      return { outputs, durationsMs };
    },
  };
}

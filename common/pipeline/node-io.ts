import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../errors.js';
import { evaluate, type ExprContext } from './expr.js';
import { PIPELINE_OUTPUT_LIMIT_BYTES, compiled, type InputTransform } from './spec.js';

// What goes into and comes out of one node, the same whether the workflow runs it or the
// batch activity (`batch_local`) does: its input evaluated from the spec, its output's size checked.

/** The `details` of a node's failure: which node failed, so nobody has to read it from the message. */
export interface NodeFailureDetails {
  node: string;
}

export function nodeFailure(node: string, message: string, type: string, nonRetryable: boolean): ApplicationFailure {
  const details: NodeFailureDetails = { node };
  return ApplicationFailure.create({ message, type, nonRetryable, details: [details] });
}

/** The node a failure names in its details, if it is a node's failure. */
export function failedNodeOf(err: unknown): string | undefined {
  if (!(err instanceof ApplicationFailure)) return undefined;
  const node = (err.details?.[0] as Partial<NodeFailureDetails> | undefined)?.node;
  return typeof node === 'string' ? node : undefined;
}

/** A field of a node that gave a value it cannot use: permanent, naming the field. */
export function badValue(node: string, field: string, message: string): ApplicationFailure {
  return nodeFailure(node, `${field}: ${message}`, ErrorType.pipelineBadValue, true);
}

/** One expression of a node, evaluated in its scope; a failure names the node and the field. */
export function evaluateField(node: string, field: string, text: string, scope: ExprContext): unknown {
  try {
    return evaluate(compiled(text), scope);
  } catch (err) {
    throw badValue(node, field, err instanceof Error ? err.message : String(err));
  }
}

/** A task node's input object, field by field from its `input_transforms`. */
export function evaluateInput(node: string, transforms: Record<string, InputTransform>, scope: ExprContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, t] of Object.entries(transforms)) {
    out[key] = t.type === 'static' ? t.value : evaluateField(node, `input_transforms.${key}.expr`, t.expr, scope);
  }
  return out;
}

/** Outputs travel through the workflow history: a node must return keys and counts, not data. */
export function checkOutputSize(node: string, output: unknown): void {
  const size = JSON.stringify(output ?? null).length;
  if (size > PIPELINE_OUTPUT_LIMIT_BYTES) {
    throw nodeFailure(
      node,
      `output is ${size} bytes, over ${PIPELINE_OUTPUT_LIMIT_BYTES}: return keys and counts and keep the data in the stores`,
      ErrorType.pipelineOutputTooLarge,
      true,
    );
  }
}

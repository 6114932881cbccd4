import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

/** Error types (the `type` of an ApplicationFailure) that retries cannot fix. */
export const ErrorType = {
  invalidInput: 'InvalidInput',
  unknownDataset: 'UnknownDataset',
  sourceSchema: 'SourceSchemaError',
  missingSecret: 'MissingConnectionSecret',
} as const;

/** `dataset: must match …; window.to: Required` — every issue, each named by its field path. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(input)'}: ${issue.message}`)
    .join('; ');
}

export function invalidInput(what: string, error: z.ZodError): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`invalid ${what}: ${describeIssues(error)}`, ErrorType.invalidInput);
}

/**
 * Validates workflow or activity input against its schema. Bad input fails at once and never
 * retries: a retry cannot make a malformed request valid.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw invalidInput(what, result.error);
  return result.data;
}

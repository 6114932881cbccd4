import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';

/**
 * Every error type of the pack (the `type` of an ApplicationFailure), in one table. All but
 * `digestSendFailed` and `digestClaimHeld` are non-retryable: a retry cannot fix them.
 */
export const ErrorType = {
  invalidInput: 'InvalidInput',
  unknownDataset: 'UnknownDataset',
  sourceSchema: 'SourceSchemaError',
  missingSecret: 'MissingConnectionSecret',
  embeddingModelMissing: 'EmbeddingModelMissing',
  /** A worker with another model joined a refresh mid-way: its vectors would be mislabelled. */
  embeddingModelChanged: 'EmbeddingModelChanged',
  /** Retryable: some recipients' servers refused for now; the next attempt sends only those. */
  digestSendFailed: 'DigestSendFailed',
  /** Retryable: another run holds the claim on some deliveries; retried once it ends. */
  digestClaimHeld: 'DigestClaimHeld',
  /** Another run (its workflow id in the details) holds the dataset's lease. */
  datasetBusy: 'DatasetBusy',
  /** The run's lease expired and another run took it. */
  leaseLost: 'DatasetLeaseLost',
  pipelineNodeFailed: 'PipelineNodeFailed',
  pipelineApprovalRejected: 'PipelineApprovalRejected',
  pipelineOutputTooLarge: 'PipelineOutputTooLarge',
  pipelineBadValue: 'PipelineBadValue',
  /** An OpenFlow rawscript threw, exited non-zero or its SQL failed (its log object in the details). */
  rawScriptFailed: 'RawScriptFailed',
  /** An OpenFlow rawscript ran past its step's timeout and was killed. */
  rawScriptTimedOut: 'RawScriptTimedOut',
  /** A pipeline's checks node: a blocking check failed, so what reads the data must not run. */
  checksBlocking: 'BlockingChecksFailed',
  // What a store said that no retry can change (activities/store-errors.ts maps each driver's codes).
  authenticationFailed: 'AuthenticationFailed',
  unknownHost: 'UnknownHost',
  unknownDatabase: 'UnknownDatabase',
  unknownBucket: 'UnknownBucket',
  malformedUrl: 'MalformedUrl',
  permissionDenied: 'PermissionDenied',
  readOnly: 'ReadOnly',
  missingTable: 'MissingTable',
  missingColumn: 'MissingColumn',
  querySyntax: 'QuerySyntax',
  /** Incremental sync of a source with no primary key, no unique NOT NULL index and no declared key. */
  missingRowKey: 'MissingRowKey',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** `dataset: must match …; window.to: Required` — every issue, each named by its field path. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(input)'}: ${issue.message}`).join('; ');
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

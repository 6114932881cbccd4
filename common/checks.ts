import { z } from 'zod';
import { DatasetName, SqlIdentifier, TeamSlug } from './identifiers.js';

/**
 * Data-quality checks: rules an owner declares beside a dataset (its `checks:` list), run over
 * the silver table. Field names follow dbt / Soda (`max_failing_rows`, `accepted_values`) so a
 * rule reads the same as in the tools people come from. Every name that reaches SQL is a plain
 * identifier; every value is bound as a parameter by the compiler (activities/quality/checks-sql.ts).
 */

export const CheckId = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a check id of lower-case letters, digits and _ (at most 64), like `orders_status_values`');

/** A value compared against a column: bound as a parameter, never spliced into SQL. */
const CheckValue = z.union([z.number().finite(), z.string().max(500)]);

/** `30m`, `6h`, `2d`: how old the newest row may be. */
export const MaxAge = z.string().regex(/^[1-9][0-9]{0,6}(s|m|h|d)$/, 'must be a duration like `30m`, `6h` or `2d`');

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

export function maxAgeSeconds(maxAge: string): number {
  const unit = maxAge.slice(-1) as keyof typeof UNIT_SECONDS;
  return Number(maxAge.slice(0, -1)) * UNIT_SECONDS[unit];
}

const base = {
  id: CheckId,
  severity: z.enum(['warn', 'error']).describe('while failing, `error` takes 25 points off the health score (and may block), `warn` 10'),
  blocking: z.boolean().default(false).describe('a failure stops what depends on the dataset (error severity only)'),
  description: z.string().max(1000).optional(),
  max_failing_rows: z.number().int().nonnegative().optional().describe('passes while at most this many rows fail (default 0)'),
  max_failing_ratio: z.number().min(0).max(1).optional().describe('passes while at most this share of the rows fails'),
};

const NotNullCheck = z.object({ kind: z.literal('not_null'), ...base, column: SqlIdentifier }).strict();

const UniqueCheck = z
  .object({ kind: z.literal('unique'), ...base, columns: z.array(SqlIdentifier).min(1).max(16) })
  .strict()
  .describe('rows whose (non-null) combination of the columns occurs more than once fail');

const AcceptedValuesCheck = z
  .object({ kind: z.literal('accepted_values'), ...base, column: SqlIdentifier, values: z.array(CheckValue).min(1).max(1000) })
  .strict()
  .describe('non-null values outside the list fail');

const RangeCheck = z
  .object({
    kind: z.literal('range'),
    ...base,
    column: SqlIdentifier,
    min: CheckValue.optional(),
    max: CheckValue.optional(),
    min_inclusive: z.boolean().default(true),
    max_inclusive: z.boolean().default(true),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined, { message: 'give min, max or both', path: ['min'] })
  .describe('non-null values outside [min, max] fail (a bound left out is open)');

const RegexCheck = z
  .object({
    kind: z.literal('regex'),
    ...base,
    column: SqlIdentifier,
    pattern: z
      .string()
      .min(1)
      .max(500)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression'),
  })
  .strict()
  .describe('non-null values that do not match the pattern (the server REGEXP, bound as a parameter) fail');

const RowCountCheck = z
  .object({
    kind: z.literal('row_count'),
    ...base,
    min: z.number().int().nonnegative().optional(),
    max: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined, { message: 'give min, max or both', path: ['min'] });

const FreshnessCheck = z
  .object({
    kind: z.literal('freshness'),
    ...base,
    column: SqlIdentifier.optional().describe("timestamp column whose newest value is the data's age; the dataset's cursor by default"),
    max_age: MaxAge,
  })
  .strict();

const SchemaCheck = z
  .object({
    kind: z.literal('schema'),
    ...base,
    columns: z
      .array(
        z
          .object({
            name: SqlIdentifier,
            type: z
              .string()
              .regex(
                /^[a-z][a-z0-9]{0,19}(\([0-9]{1,3}(,[0-9]{1,3})?\))?$/,
                'must be a canonical type like `int32`, `string(200)` or `decimal`',
              )
              .optional()
              .describe('canonical type (`decimal` matches any precision)'),
          })
          .strict(),
      )
      .max(500)
      .default([]),
    allow_new_columns: z.boolean().default(true),
    allow_dropped_columns: z.boolean().default(false).describe('whether a column the catalog recorded may be gone from silver'),
  })
  .strict();

const RelationshipCheck = z
  .object({
    kind: z.literal('relationship'),
    ...base,
    column: SqlIdentifier,
    to: z.object({ dataset: DatasetName, column: SqlIdentifier }).strict(),
  })
  .strict()
  .describe("non-null values with no equal value in the other dataset's column fail (a foreign key across silver tables)");

const SqlCheck = z
  .object({
    kind: z.literal('sql'),
    ...base,
    query: z
      .string()
      .min(1)
      .max(20_000)
      .refine((q) => /^\s*(select|with)\b/i.test(q), 'must be a SELECT (or WITH … SELECT) statement')
      .refine((q) => !q.includes(';'), 'must be a single statement, without `;`')
      .refine((q) => !/(--|#|\/\*)/.test(q), 'must not contain comments')
      .refine((q) => !/\binto\b/i.test(outsideQuotes(q)), 'must not contain INTO (SELECT … INTO writes files and variables)')
      .refine(
        (q) => !/\bfor\s+update\b|\block\s+in\s+share\s+mode\b/i.test(outsideQuotes(q)),
        'must not lock rows (FOR UPDATE, LOCK IN SHARE MODE)',
      )
      .refine((q) => balanced(outsideQuotes(q)), 'must have balanced parentheses (it runs inside a subquery)')
      .describe('returns the failing rows; runs read-only with a statement timeout, `{{table}}` is the silver table'),
  })
  .strict();

/** The query with its quoted strings and identifiers blanked, so keywords inside them do not count. */
function outsideQuotes(q: string): string {
  return q.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`/g, "''");
}

function balanced(q: string): boolean {
  let depth = 0;
  for (const ch of q) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

const CHECK_KINDS = [
  NotNullCheck,
  UniqueCheck,
  AcceptedValuesCheck,
  RangeCheck,
  RegexCheck,
  RowCountCheck,
  FreshnessCheck,
  SchemaCheck,
  RelationshipCheck,
  SqlCheck,
] as const;

export const CheckDeclaration = z
  .discriminatedUnion('kind', CHECK_KINDS)
  .refine((c) => c.max_failing_rows === undefined || c.max_failing_ratio === undefined, {
    message: 'give max_failing_rows or max_failing_ratio, not both',
    path: ['max_failing_ratio'],
  })
  // As Dagster's blocking asset checks: only an error can block.
  .refine((c) => !c.blocking || c.severity === 'error', { message: 'only a check of severity error can block', path: ['blocking'] });

export type CheckDeclaration = z.output<typeof CheckDeclaration>;
export type CheckKind = CheckDeclaration['kind'];
export type CheckOf<K extends CheckKind> = Extract<CheckDeclaration, { kind: K }>;

export const CheckList = z
  .array(CheckDeclaration)
  .max(200)
  .superRefine((checks, ctx) => {
    const seen = new Set<string>();
    checks.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `check id ${c.id} is declared twice`, path: [i, 'id'] });
      seen.add(c.id);
    });
  });

/** Whether a failing count passes the check's threshold (0 failing rows allowed by default). */
export function withinThreshold(check: CheckDeclaration, failing: number, rows: number): boolean {
  if (check.max_failing_ratio !== undefined) return rows === 0 ? failing === 0 : failing / rows <= check.max_failing_ratio;
  return failing <= (check.max_failing_rows ?? 0);
}

/** Columns of the checked table a check names: what apply-time validation looks for in silver. */
export function columnsNamed(check: CheckDeclaration): { field: string; column: string }[] {
  switch (check.kind) {
    case 'unique':
      return check.columns.map((column, i) => ({ field: `columns.${i}`, column }));
    case 'schema':
    case 'row_count':
    case 'sql':
      return [];
    case 'freshness':
      return check.column ? [{ field: 'column', column: check.column }] : [];
    default:
      return [{ field: 'column', column: check.column }];
  }
}

/** The JSON Schema of a `checks:` list, for editors and docs (`spokeflow checks schema`). */
export function checksJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(CheckList, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

// --- what a run of checks passes around (counts and keys only; rows stay in the stores) ---

export const QualityChecksInput = z
  .object({
    dataset: DatasetName.optional().describe('one dataset; or give team; neither runs every dataset with checks'),
    team: TeamSlug.optional(),
    /** Check ids to run (default: all of each dataset). */
    checks: z.array(CheckId).min(1).optional(),
  })
  .strict()
  .refine((i) => i.dataset === undefined || i.team === undefined, { message: 'give dataset or team, not both', path: ['team'] });
export type QualityChecksInput = z.output<typeof QualityChecksInput>;

export type CheckStatus = 'passed' | 'failed' | 'errored';

export interface CheckResult {
  dataset: string;
  checkId: string;
  kind: CheckKind;
  severity: 'warn' | 'error';
  blocking: boolean;
  status: CheckStatus;
  failing: number | null;
  ratio: number | null;
  /** What was observed for a table-level check (rows, age in seconds), for the reason text. */
  observed?: number | null;
  sampleKey?: string | null;
  error?: string | null;
}

export interface DatasetChecksSummary {
  dataset: string;
  checks: number;
  passed: number;
  failed: number;
  errored: number;
  /** Ids of failing (or errored) checks that block. */
  blockingFailed: string[];
  failedIds: string[];
}

export interface QualityChecksResult {
  runId: string;
  datasets: DatasetChecksSummary[];
  checks: number;
  passed: number;
  failed: number;
  errored: number;
  /** `dataset/check` of every failing (or errored) blocking check. */
  blockingFailed: string[];
  /** Datasets whose checks could not run at all (their activity failed), with the reason. */
  unchecked: { dataset: string; reason: string }[];
}

export interface QualityChecksProgress {
  runId: string;
  phase: 'planning' | 'checking' | 'done' | 'failed';
  datasets: number;
  datasetsDone: number;
  checks: number;
  passed: number;
  failed: number;
  errored: number;
}

import { z } from 'zod';
import { CheckList } from './checks.js';
import { DatasetName, QualifiedTableName, SqlIdentifier, TeamSlug } from './identifiers.js';

export { DatasetName, QualifiedTableName, SqlIdentifier, TeamSlug } from './identifiers.js';

/**
 * Where a connection's URL comes from: the name of a connection, resolved from the environment
 * variable `SPOKEFLOW_SOURCE_<NAME>_URL` by the worker that reads it. Secrets never enter the
 * catalog or a workflow's input. `local-postgres` and `local-mysql` name the local stack.
 */
export const ConnectionName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,62}$/,
    'must be a connection name of lower-case letters, digits and - (its URL comes from SPOKEFLOW_SOURCE_<NAME>_URL)',
  );

export const SourceDeclaration = z
  .object({
    kind: z.enum(['postgres', 'mysql']),
    connection: ConnectionName,
    table: QualifiedTableName.optional().describe('source table; give exactly one of table and query'),
    query: z
      .string()
      .min(1)
      .refine((q) => !/;\s*\S/.test(q), 'must be a single SELECT statement')
      .optional()
      .describe('source query, run read-only; give exactly one of table and query'),
    primaryKey: z
      .array(SqlIdentifier)
      .min(1)
      .optional()
      .describe(
        'columns that identify a row; omit for a table to use its primary key, else a unique index of NOT NULL columns (required with query)',
      ),
    cursor: SqlIdentifier.optional().describe('monotonic column (e.g. updated_at) for incremental sync; without it only full refresh'),
  })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), {
    message: 'give exactly one of table and query',
    path: ['table'],
  })
  // A query's result has no index to find a key in.
  .refine((s) => s.query === undefined || s.primaryKey !== undefined, {
    message: 'a source query must declare the columns that identify a row',
    path: ['primaryKey'],
  });

export const DatasetDeclaration = z
  .object({
    name: DatasetName,
    source: SourceDeclaration,
    target: z.object({ table: SqlIdentifier.describe('silver table in the MySQL warehouse') }).strict(),
    owner: z.string().min(1).max(200),
    team: TeamSlug,
    description: z.string().max(5000).default(''),
    tags: z.array(z.string().min(1).max(64)).max(50).default([]),
    freshnessSlaHours: z.number().positive().optional(),
    checks: CheckList.optional().describe('data-quality rules on the silver table (common/checks.ts)'),
    parallelRanges: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'a full or windowed sync above one chunk is cut into primary-key ranges of a chunk each, this many copied at once (default 1: one chunk after another)',
      ),
  })
  .strict();

export type DatasetDeclaration = z.output<typeof DatasetDeclaration>;
export type SourceDeclaration = DatasetDeclaration['source'];

import { ApplicationFailure } from '@temporalio/common';
import type { SourceColumn } from '../../common/column-types.js';
import type { SourceDeclaration } from '../../common/dataset.js';
import { ErrorType } from '../../common/errors.js';
import type { Dialect, PageQuery } from './keyset.js';
import { openMysql } from './mysql.js';
import { openPostgres } from './postgres.js';

/** A row as canonical text values, in the order of the described columns. */
export type Row = (string | null)[];

export interface SourceConnection {
  dialect: Dialect;
  describe(relation: string): Promise<SourceColumn[]>;
  queryRows(sql: string, values: string[]): Promise<Row[]>;
  /** One keyset page as page text (see activities/ingestion/page.ts). */
  readPageText(relation: string, query: PageQuery): Promise<Buffer>;
  close(): Promise<void>;
}

/** Resolves a declared connection name to its URL; secrets live only in the worker's environment. */
export type ResolveConnectionUrl = (kind: SourceDeclaration['kind'], name: string) => string | undefined;

export function connectionEnvVar(name: string): string {
  return `SPOKEFLOW_SOURCE_${name.toUpperCase().replaceAll('-', '_')}_URL`;
}

/** Opens each source connection once per worker and reuses it across activities. */
export function createSourceConnections(resolveUrl: ResolveConnectionUrl) {
  const open = new Map<string, SourceConnection>();
  return {
    get(source: SourceDeclaration): SourceConnection {
      const key = `${source.kind}:${source.connection}`;
      let connection = open.get(key);
      if (!connection) {
        const url = resolveUrl(source.kind, source.connection);
        if (!url) {
          throw ApplicationFailure.nonRetryable(
            `source connection "${source.connection}" is not configured on this worker: set ${connectionEnvVar(source.connection)}`,
            ErrorType.missingSecret,
          );
        }
        connection = source.kind === 'postgres' ? openPostgres(url) : openMysql(url);
        open.set(key, connection);
      }
      return connection;
    },
    async closeAll(): Promise<void> {
      await Promise.all([...open.values()].map((c) => c.close()));
      open.clear();
    },
  };
}
export type SourceConnections = ReturnType<typeof createSourceConnections>;

// Errors a retry cannot fix: the declared relation, a column or the query itself is wrong.
const PERMANENT_POSTGRES_CODES = new Set(['42P01', '42703', '42601', '42883', '3F000']); // undefined table / column, syntax, undefined function, schema
const PERMANENT_MYSQL_ERRNOS = new Set([1146, 1054, 1064, 1049]); // no such table, bad field, syntax, unknown database

/**
 * The source error as a non-retryable failure when it says the declaration no longer matches
 * the source (a table dropped, a column renamed); undefined for errors worth retrying.
 */
export function permanentSourceError(dataset: string, err: unknown): ApplicationFailure | undefined {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  const permanent =
    (typeof e.code === 'string' && PERMANENT_POSTGRES_CODES.has(e.code)) ||
    (typeof e.errno === 'number' && PERMANENT_MYSQL_ERRNOS.has(e.errno));
  if (!permanent) return undefined;
  return ApplicationFailure.nonRetryable(`source of ${dataset}: ${String(e.message)}`, ErrorType.sourceSchema);
}

import type { Tracer } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import type { SourceColumn } from '../../common/column-types.js';
import type { SourceDeclaration } from '../../common/dataset.js';
import { ErrorType } from '../../common/errors.js';
import type { Dialect, PageQuery, UniqueIndex } from './keyset.js';
import { openMysql } from './mysql.js';
import { openPostgres } from './postgres.js';
import {
  mysqlErrorClassifier,
  postgresErrorClassifier,
  siteOfUrl,
  withErrorClassification,
  type ClassifyError,
  type StoreSite,
} from '../store-errors.js';
import { withStoreSpans } from '../store-spans.js';

/** A row as canonical text values, in the order of the described columns. */
export type Row = (string | null)[];

export interface SourceConnection {
  dialect: Dialect;
  describe(relation: string): Promise<SourceColumn[]>;
  /** A declared table's unique indexes (primary key included), to find a key it was declared without. */
  uniqueIndexes(table: string): Promise<UniqueIndex[]>;
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

/** Opens each source connection once per worker and reuses it across activities; with a tracer, each call is a span. */
export function createSourceConnections(resolveUrl: ResolveConnectionUrl, tracer?: Tracer) {
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
        connection = withErrorClassification(openSource(source, url), sourceErrorClassifier(source, url));
        if (tracer) connection = withStoreSpans(connection, sourceSpanSite(source, url), SOURCE_SPANS, tracer);
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

const URL_SCHEMES: Record<SourceDeclaration['kind'], string[]> = { postgres: ['postgres:', 'postgresql:'], mysql: ['mysql:', 'mariadb:'] };

function sourceSite(source: SourceDeclaration, url: string): StoreSite {
  const site = siteOfUrl(url) ?? { address: '(unparsable URL)' };
  const store = `${source.kind === 'postgres' ? 'Postgres' : 'MySQL'} source "${source.connection}"`;
  return { store, ...site, setting: connectionEnvVar(source.connection) };
}

const SOURCE_SPANS = { describe: true, uniqueIndexes: true, queryRows: true, readPageText: true } as const;

function sourceSpanSite(source: SourceDeclaration, url: string) {
  const site = sourceSite(source, url);
  return { name: site.store, system: source.kind === 'postgres' ? ('postgresql' as const) : ('mysql' as const), address: site.address };
}

/** A URL that cannot name a server of its kind fails here, once, instead of on every retry. */
function openSource(source: SourceDeclaration, url: string): SourceConnection {
  const parsed = siteOfUrl(url) && new URL(url);
  if (!parsed || !URL_SCHEMES[source.kind].includes(parsed.protocol) || !parsed.hostname) {
    const wanted = URL_SCHEMES[source.kind][0]!;
    throw ApplicationFailure.nonRetryable(
      `${source.kind} source "${source.connection}": ${connectionEnvVar(source.connection)} is not a ${wanted}//user:password@host:port/database URL`,
      ErrorType.malformedUrl,
    );
  }
  return source.kind === 'postgres' ? openPostgres(url) : openMysql(url);
}

/** The source's driver errors, mapped with the connection's name, address and variable. */
function sourceErrorClassifier(source: SourceDeclaration, url: string): ClassifyError {
  const site = sourceSite(source, url);
  return source.kind === 'postgres' ? postgresErrorClassifier(site) : mysqlErrorClassifier(site);
}

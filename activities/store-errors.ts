import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../common/errors.js';

/**
 * Which store a client talks to, so that a failure says where and what to fix. Never holds a
 * secret: `address` is host:port (or a URL without credentials), `setting` names the variable.
 */
export interface StoreSite {
  /** e.g. `MySQL catalog`, `Postgres source "local-postgres"`. */
  store: string;
  address: string;
  database?: string;
  /** The setting(s) an operator changes to fix a wrong credential, host or database. */
  setting: string;
}

/** A driver error as a non-retryable failure, or undefined when a retry may fix it. */
export type ClassifyError = (err: unknown) => ApplicationFailure | undefined;

/** Structured details of a store failure: what the store said, and where. */
export interface StoreFailureDetails {
  store: string;
  address: string;
  database?: string;
  setting: string;
  code?: string;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  hostname?: unknown;
  severity?: unknown;
  name?: unknown;
  statusCode?: unknown;
  responseCode?: unknown;
}

const asDriverError = (err: unknown): DriverError => (typeof err === 'object' && err !== null ? (err as DriverError) : {});
const messageOf = (err: unknown): string => String(asDriverError(err).message ?? err);

function storeFailure(site: StoreSite, type: ErrorType, what: string, fix: string, err: unknown): ApplicationFailure {
  const where = `${site.address}${site.database ? `/${site.database}` : ''}`;
  const code = asDriverError(err).code;
  const details: StoreFailureDetails = {
    store: site.store,
    address: site.address,
    ...(site.database ? { database: site.database } : {}),
    setting: site.setting,
    ...(typeof code === 'string' ? { code } : {}),
  };
  return ApplicationFailure.create({
    message: `${site.store} at ${where}: ${what} (${messageOf(err)}); ${fix}`,
    type,
    nonRetryable: true,
    details: [details],
  });
}

// Node's own network codes: a wrong host is permanent; refused, reset and timed out are not.
function classifyNetworkError(site: StoreSite, err: unknown): ApplicationFailure | undefined {
  const e = asDriverError(err);
  if (e.code === 'ENOTFOUND') {
    const host = typeof e.hostname === 'string' ? ` "${e.hostname}"` : '';
    return storeFailure(site, ErrorType.unknownHost, `unknown host${host}`, `check the host in ${site.setting}`, err);
  }
  if (e.code === 'ERR_INVALID_URL') {
    return storeFailure(site, ErrorType.malformedUrl, 'malformed URL', `fix ${site.setting}`, err);
  }
  return undefined;
}

function passThrough(err: unknown): boolean {
  // Already classified (or a cancellation): keep it as it is.
  return typeof err === 'object' && err !== null && (err instanceof ApplicationFailure || (err as Error).name === 'CancelledFailure');
}

/**
 * mysql2 (MySQL and MariaDB), by the server's error code. Not here, so retried: lost connections,
 * too many connections, deadlocks and lock waits.
 */
export function mysqlErrorClassifier(site: StoreSite): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const f = (type: ErrorType, what: string, fix: string) => storeFailure(site, type, what, fix, err);
    switch (asDriverError(err).code) {
      case 'ER_ACCESS_DENIED_ERROR':
      case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      case 'ER_NOT_SUPPORTED_AUTH_MODE':
        return f(ErrorType.authenticationFailed, 'authentication failed', `check the user and password in ${site.setting}`);
      case 'ER_DBACCESS_DENIED_ERROR':
        return f(ErrorType.permissionDenied, 'the user may not use this database', `grant it access, or change ${site.setting}`);
      case 'ER_BAD_DB_ERROR':
        return f(ErrorType.unknownDatabase, 'unknown database', `check the database in ${site.setting}`);
      case 'ER_TABLEACCESS_DENIED_ERROR':
      case 'ER_COLUMNACCESS_DENIED_ERROR':
      case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      case 'ER_PROCACCESS_DENIED_ERROR':
        return f(ErrorType.permissionDenied, 'permission denied', `grant the user of ${site.setting} what it needs`);
      case 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION':
      case 'ER_OPTION_PREVENTS_STATEMENT':
      case 'ER_READ_ONLY_MODE':
        return f(ErrorType.readOnly, 'refused a write on a read-only connection or server', 'a declared query may only read');
      case 'ER_NO_SUCH_TABLE':
      case 'ER_BAD_TABLE_ERROR':
        return f(ErrorType.missingTable, 'no such table', 'fix the declared table or query, or restore the table');
      case 'ER_BAD_FIELD_ERROR':
        return f(ErrorType.missingColumn, 'no such column', 'fix the declared columns or query, or restore the column');
      case 'ER_PARSE_ERROR':
      case 'ER_SP_DOES_NOT_EXIST':
        return f(ErrorType.querySyntax, 'the query is not valid SQL here', 'fix the declared query');
      default:
        return classifyNetworkError(site, err);
    }
  };
}

const POSTGRES: Record<string, [ErrorType, string, (site: StoreSite) => string]> = {
  '28P01': [ErrorType.authenticationFailed, 'authentication failed', (s) => `check the user and password in ${s.setting}`],
  '28000': [ErrorType.authenticationFailed, 'authentication refused', (s) => `check the user in ${s.setting} and pg_hba.conf`],
  '3D000': [ErrorType.unknownDatabase, 'unknown database', (s) => `check the database in ${s.setting}`],
  '42501': [ErrorType.permissionDenied, 'permission denied', (s) => `grant the user of ${s.setting} what it needs`],
  '25006': [ErrorType.readOnly, 'refused a write in a read-only transaction', () => 'a declared query may only read'],
  '3F000': [ErrorType.missingTable, 'no such schema', () => 'fix the declared table or query'],
  '42P01': [ErrorType.missingTable, 'no such table', () => 'fix the declared table or query, or restore the table'],
  '42703': [ErrorType.missingColumn, 'no such column', () => 'fix the declared columns or query, or restore the column'],
  '42601': [ErrorType.querySyntax, 'the query is not valid SQL', () => 'fix the declared query'],
  '42883': [ErrorType.querySyntax, 'the query calls a function or operator that does not exist', () => 'fix the declared query'],
};

/**
 * pg, by SQLSTATE. Not here, so retried: connection exceptions (08…), shutdowns and
 * cannot-connect-now (57P…), too many connections (53300), serialization failures (40001).
 */
export function postgresErrorClassifier(site: StoreSite): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const e = asDriverError(err);
    const known = typeof e.code === 'string' && e.severity !== undefined ? POSTGRES[e.code] : undefined;
    if (known) return storeFailure(site, known[0], known[1], known[2](site), err);
    return classifyNetworkError(site, err);
  };
}

/** MinIO / S3, by the S3 error code. Slow-downs, internal errors and timeouts are retried. */
export function minioErrorClassifier(site: StoreSite): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const f = (type: ErrorType, what: string, fix: string) => storeFailure(site, type, what, fix, err);
    switch (asDriverError(err).code) {
      case 'InvalidAccessKeyId':
      case 'SignatureDoesNotMatch':
        return f(ErrorType.authenticationFailed, 'authentication failed', `check ${site.setting}`);
      case 'AccessDenied':
        return f(ErrorType.permissionDenied, 'access denied', `grant the key of ${site.setting} access to the bucket`);
      case 'NoSuchBucket':
        return f(ErrorType.unknownBucket, 'no such bucket', 'run `npm run migrate` or check the bucket setting');
      default:
        return classifyNetworkError(site, err);
    }
  };
}

/** InfluxDB, by HTTP status; 429 and 5xx are retried (the client retries them itself first). */
export function influxErrorClassifier(site: StoreSite): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const f = (type: ErrorType, what: string, fix: string) => storeFailure(site, type, what, fix, err);
    const e = asDriverError(err);
    if (e.name === 'HttpError') {
      if (e.statusCode === 401) return f(ErrorType.authenticationFailed, 'authentication failed', `check ${site.setting}`);
      if (e.statusCode === 403) return f(ErrorType.permissionDenied, 'permission denied', `grant the token of ${site.setting} access`);
      if (e.statusCode === 404) return f(ErrorType.unknownBucket, 'no such bucket or org', 'check INFLUX_ORG and INFLUX_BUCKET');
    }
    return classifyNetworkError(site, err);
  };
}

/** nodemailer: a refused login and an unknown host are permanent; connection and socket errors are retried. */
export function smtpErrorClassifier(site: StoreSite): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const e = asDriverError(err);
    if (e.code === 'EAUTH') return storeFailure(site, ErrorType.authenticationFailed, 'login refused', `check ${site.setting}`, err);
    if (e.code === 'EDNS' && /ENOTFOUND/.test(messageOf(err))) {
      return storeFailure(site, ErrorType.unknownHost, 'unknown host', `check the host in ${site.setting}`, err);
    }
    return classifyNetworkError(site, err);
  };
}

/**
 * Which store an error comes from, by the driver's error shape: mysql2 errors carry `sqlState`
 * (or an `ER_` code), pg errors a `severity`, MinIO errors are `S3Error`s, InfluxDB's `HttpError`s,
 * nodemailer's an `E…` code with a `command`. Node network errors carry none of these.
 */
export type Driver = 'mysql' | 'postgres' | 'minio' | 'influx' | 'smtp';
export function driverOf(err: unknown): Driver | undefined {
  const e = asDriverError(err) as DriverError & { sqlState?: unknown; command?: unknown };
  if (typeof e.code === 'string' && (e.code.startsWith('ER_') || e.sqlState !== undefined)) return 'mysql';
  if (e.severity !== undefined && typeof e.code === 'string') return 'postgres';
  if (e.name === 'S3Error') return 'minio';
  if (e.name === 'HttpError' && typeof e.statusCode === 'number') return 'influx';
  if (e.command !== undefined || e.responseCode !== undefined || e.code === 'EAUTH') return 'smtp';
  return undefined;
}

/**
 * One classifier over several stores: the driver's error shape picks the store's mapping. A bare
 * network error (ENOTFOUND) names the first store on that host.
 */
export function storesErrorClassifier(stores: { driver: Driver; host: string; classify: ClassifyError }[]): ClassifyError {
  return (err) => {
    if (passThrough(err)) return undefined;
    const driver = driverOf(err);
    if (driver) return stores.find((s) => s.driver === driver)?.classify(err);
    const host = asDriverError(err).hostname;
    const store = stores.find((s) => s.host === host);
    return store?.classify(err);
  };
}

/**
 * The same object with every method's failure classified: a store's permanent error becomes a
 * non-retryable failure saying what to fix; anything else is rethrown as it was.
 */
export function withErrorClassification<T extends object>(target: T, classify: ClassifyError): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    if (typeof value !== 'function') {
      wrapped[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = async function (this: unknown, ...args: unknown[]) {
      try {
        return await fn.apply(this, args);
      } catch (err) {
        throw classify(err) ?? err;
      }
    };
  }
  return wrapped as T;
}

/** host:port of a URL, and its database (path), without its credentials; undefined when it does not parse. */
export function siteOfUrl(url: string): { address: string; database?: string } | undefined {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined;
    return { address: `${u.hostname}${u.port ? `:${u.port}` : ''}`, ...(database ? { database } : {}) };
  } catch {
    return undefined;
  }
}

import { format, inspect } from 'node:util';
import type { ActivityInterceptorsFactory, LogEntry } from '@temporalio/worker';
import { loadConfig, type SpokeflowConfig } from './config.js';

export type Redact = (text: string) => string;

const MASK = '***';
// scheme://user:password@host → scheme://user:***@host, whatever the scheme (postgres, mysql, smtp(s), http(s)).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):([^\s@/]+)@/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;

// A driver may quote the password alone, without its URL.
function passwordOf(url: string | undefined): string | undefined {
  try {
    return url ? decodeURIComponent(new URL(url).password) || undefined : undefined;
  } catch {
    return undefined;
  }
}

function secretValues(config: SpokeflowConfig): (string | undefined)[] {
  const urls = [config.digests.smtpUrl, ...Object.values(config.sourceUrls)];
  return [
    ...urls.map(passwordOf),
    config.mysql.password,
    config.postgres.password,
    config.minio.secretKey,
    config.influx.token,
    config.embeddings.apiKey,
    config.digests.smtpUrl,
    config.digests.webhookUrl, // an incoming webhook's URL is its credential
    config.codecServer.token,
    config.temporal.apiKey?.reveal(),
    ...Object.values(config.sourceUrls),
    ...(config.codec.keys ?? '').split(',').map((entry) => entry.slice(entry.indexOf(':') + 1).trim()),
  ];
}

/**
 * The secret values of a configuration, except the local stack's well-known defaults (masking
 * "spokeflow" would mangle every line); URL passwords are masked by pattern whatever they are.
 */
export function secretsOf(config: SpokeflowConfig): string[] {
  const defaults = new Set(secretValues(loadConfig({})));
  return secretValues(config).filter((v): v is string => typeof v === 'string' && v.length >= 6 && !defaults.has(v));
}

/** The redactor of a configuration's secrets. */
export const redactorOf = (config: SpokeflowConfig): Redact => createRedactor(secretsOf(config));

/** Masks URL passwords, bearer tokens and the given secret values (longest first, so none leaks a suffix). */
export function createRedactor(secrets: readonly string[]): Redact {
  const known = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of known) out = out.split(secret).join(MASK);
    return out.replace(URL_PASSWORD, `$1:${MASK}@`).replace(BEARER, `$1${MASK}`);
  };
}

/** The same error with its message and stack redacted (its class, type and retry policy unchanged). */
export function redactError<T>(err: T, redact: Redact): T {
  if (err instanceof Error) {
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      e.message = redact(e.message);
      if (e.stack) e.stack = redact(e.stack);
    }
  }
  return err;
}

/** Every console line of this process through `redact` (the CLI's and the workers' own output). */
export function redactConsole(redact: Redact): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => original(redact(format(...args)));
  }
}

/** The SDK's log lines (worker, activity and Core logs), as the default logger prints them, redacted. */
export function redactingLogFunction(redact: Redact): (entry: LogEntry) => void {
  return ({ level, timestampNanos, message, meta }) => {
    const date = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    process.stderr.write(`${redact(`${date} [${level}] ${message}${meta === undefined ? '' : ` ${inspect(meta)}`}`)}\n`);
  };
}

/** Errors leaving an activity carry no credential into Temporal (a driver's message may quote a URL). */
export function redactingActivityErrors(redact: Redact): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          throw redactError(err, redact);
        }
      },
    },
  });
}

import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';

/**
 * Which methods of a store client get a span: `true` for a call, a nested spec for a method that
 * returns a client of its own (a pooled connection, a write API) whose calls are traced in turn.
 */
export interface StoreSpanSpec {
  [method: string]: true | StoreSpanSpec;
}

/** The store a client talks to, as span attributes say it: never a credential. */
export interface StoreSpanSite {
  /** Span name prefix, e.g. `MySQL catalog`. */
  name: string;
  system: 'mysql' | 'postgresql' | 's3' | 'influxdb';
  address: string;
}

// The verb only: statements may carry values, which do not belong in a trace.
const SQL_VERB = /^\s*(?:\/\*.*?\*\/\s*)*([A-Za-z]+)/s;

function operationOf(site: StoreSpanSite, args: unknown[]): Attributes {
  const first = args[0];
  if (site.system === 's3') return typeof first === 'string' ? { 'aws.s3.bucket': first } : {};
  const sql =
    typeof first === 'string'
      ? first
      : typeof first === 'object' && first !== null
        ? ((first as { sql?: unknown; text?: unknown }).sql ?? (first as { text?: unknown }).text)
        : undefined;
  const verb = typeof sql === 'string' ? SQL_VERB.exec(sql)?.[1] : undefined;
  return verb ? { 'db.operation.name': verb.toUpperCase() } : {};
}

function isThenable(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The same client, with a span per call of the methods `spec` names, child of the span active at
 * the call (an activity's). Outside any trace a call runs as before, without a span.
 */
export function withStoreSpans<T extends object>(target: T, site: StoreSpanSite, spec: StoreSpanSpec, tracer: Tracer): T {
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      const traced = typeof prop === 'string' ? spec[prop] : undefined;
      if (!traced) return fn.bind(t); // drivers keep private state: `this` must be the client itself
      const method = prop as string;
      return (...args: unknown[]) => {
        if (!trace.getSpan(context.active())?.isRecording()) return wrapResult(fn.apply(t, args));
        if (traced !== true) {
          // A client handed out: only waiting for it (a pooled connection) is a store call; a write API made on the spot is not.
          const made = fn.apply(t, args);
          if (!isThenable(made)) return wrapResult(made);
          const span = startSpan(args);
          return made.then(
            (v) => {
              span.end();
              return wrapResult(v);
            },
            (err: unknown) => failed(span, err),
          );
        }
        const span = startSpan(args);
        let result: unknown;
        try {
          result = context.with(trace.setSpan(context.active(), span), () => fn.apply(t, args));
        } catch (err) {
          failed(span, err);
        }
        if (!isThenable(result)) {
          span.end();
          return result;
        }
        return result.then(
          (v) => {
            span.end();
            return v;
          },
          (err: unknown) => failed(span, err),
        );
      };

      function startSpan(args: unknown[]) {
        return tracer.startSpan(`${site.name} ${method}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'db.system': site.system, 'server.address': site.address, ...operationOf(site, args) },
        });
      }

      function failed(span: Span, err: unknown): never {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.end();
        throw err;
      }

      function wrapResult(v: unknown): unknown {
        if (traced === true || typeof v !== 'object' || v === null) return v;
        if (isThenable(v)) return v.then(wrapResult);
        return withStoreSpans(v, site, traced as StoreSpanSpec, tracer);
      }
    },
  });
}

const MYSQL_CALLS = { query: true, execute: true, beginTransaction: true, commit: true, rollback: true } as const;

/** What is traced of each driver spokeflow uses. */
export const STORE_SPANS = {
  /** mysql2/promise pool, and the connections it hands out. */
  mysql: { query: true, execute: true, getConnection: MYSQL_CALLS },
  /** pg pool, and its checked-out clients. */
  postgres: { query: true, connect: { query: true } },
  minio: {
    putObject: true,
    getObject: true,
    statObject: true,
    removeObject: true,
    removeObjects: true,
    bucketExists: true,
    makeBucket: true,
  },
  /** InfluxDB: a write API's flushes, and a query API's collected reads. */
  influx: { getWriteApi: { flush: true, close: true }, getQueryApi: { collectRows: true, collectLines: true, queryRaw: true } },
} satisfies Record<string, StoreSpanSpec>;

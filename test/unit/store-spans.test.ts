import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { withStoreSpans } from '../../activities/store-spans.js';
import { AsyncLocalContextManager } from '../../runtime/async-context.js';
import { startTracing, tracingConfigured } from '../../runtime/tracing.js';

// A tracer of its own, not the global one: the test must not depend on what another file registered.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
context.setGlobalContextManager(new AsyncLocalContextManager());

/** A driver-like client: private state behind `this`, a call that returns a client of its own. */
class FakePool {
  #rows = [{ n: 1 }];
  async query(sql: string, values: unknown[] = []) {
    await new Promise((r) => setTimeout(r, 1));
    if (sql.startsWith('BROKEN')) throw new Error('syntax error');
    return [this.#rows, values];
  }
  async getConnection() {
    return { query: (sql: string) => this.query(sql), release: () => 'released' };
  }
  end() {
    return 'ended';
  }
  writeApi() {
    return { close: async () => 'closed' };
  }
}

const site = { name: 'MySQL catalog', system: 'mysql', address: '127.0.0.1:3306' } as const;
const spec = { query: true, getConnection: { query: true }, writeApi: { close: true } } as const;

async function inActivitySpan<T>(fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan('RunActivity:copyChunk', async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

describe('store call spans', () => {
  it('makes a child span per store call of a traced activity, naming the verb but never the values', async () => {
    exporter.reset();
    const pool = withStoreSpans(new FakePool(), site, spec, tracer);
    await inActivitySpan(async () => {
      expect(await pool.query("SELECT * FROM t WHERE secret = 'hunter2'", [1])).toEqual([[{ n: 1 }], [1]]);
      const conn = await pool.getConnection();
      await conn.query('/* page */ INSERT INTO t VALUES (1)');
      expect(conn.release()).toBe('released');
      await expect(pool.query('BROKEN')).rejects.toThrow('syntax error');
    });
    const spans = exporter.getFinishedSpans();
    const activity = spans.find((s) => s.name === 'RunActivity:copyChunk')!;
    const calls = spans.filter((s) => s !== activity);
    expect(calls.map((s) => [s.name, s.attributes['db.operation.name'] ?? null])).toEqual([
      ['MySQL catalog query', 'SELECT'],
      ['MySQL catalog getConnection', null],
      ['MySQL catalog query', 'INSERT'],
      ['MySQL catalog query', 'BROKEN'],
    ]);
    expect(calls.every((s) => s.parentSpanId === activity.spanContext().spanId)).toBe(true);
    expect(JSON.stringify(calls.map((s) => s.attributes))).not.toContain('hunter2');
    expect(calls.at(-1)!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'syntax error' });
    expect(pool.end()).toBe('ended'); // untraced methods still run on the client itself
  });

  it('traces what a client made on the spot does, not its making', async () => {
    exporter.reset();
    const pool = withStoreSpans(new FakePool(), site, spec, tracer);
    await inActivitySpan(async () => expect(await pool.writeApi().close()).toBe('closed'));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['MySQL catalog close', 'RunActivity:copyChunk']);
  });

  it('records nothing for a call outside any trace', async () => {
    exporter.reset();
    const pool = withStoreSpans(new FakePool(), site, spec, tracer);
    await pool.query('SELECT 1');
    expect(trace.getSpan(context.active())).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('tracing setup', () => {
  it('is off, installing nothing, unless an OTLP endpoint is configured', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(startTracing('spokeflow-test', {})).toBeUndefined();
  });
});

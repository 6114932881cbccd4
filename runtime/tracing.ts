import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin, OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { AsyncLocalContextManager } from './async-context.js';

/**
 * The telemetry settings, beside runtime/config.ts's: the OpenTelemetry exporter reads the OTEL_*
 * ones itself and the worker's bootstrap reads the Prometheus bind.
 */
export const TELEMETRY_SETTINGS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_SERVICE_NAME',
  'OTEL_BSP_SCHEDULE_DELAY',
  'SPOKEFLOW_PROMETHEUS_BIND',
] as const;

/** OTLP over HTTP is on when either standard endpoint variable is set; the exporter reads them itself. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** What a process traces with: the SDK's interceptors as a plugin, and the tracer of store calls. */
export interface Tracing {
  tracer: Tracer;
  /** Client, activity and workflow interceptors, and the sink that exports workflow spans. */
  plugin: OpenTelemetryPlugin;
  clientInterceptor: OpenTelemetryWorkflowClientInterceptor;
  /** Sends what is batched so far (a CLI before it exits). */
  flush(): Promise<void>;
  /** Sends what is still batched and stops; a worker process as it ends. */
  shutdown(): Promise<void>;
}

let started: Tracing | undefined;

/**
 * Starts tracing once per process when OTLP is configured, else returns undefined and installs
 * nothing, so an unconfigured process pays nothing. `service` is the default OTEL_SERVICE_NAME.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (started) return started;
  if (!tracingConfigured(env)) return undefined;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || service });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // The W3C propagator carries a trace from the CLI through workflow and activity headers.
  provider.register({ contextManager: new AsyncLocalContextManager() });
  const tracer = provider.getTracer('spokeflow');
  started = {
    tracer,
    plugin: new OpenTelemetryPlugin({ resource, spanProcessor, tracer }),
    clientInterceptor: new OpenTelemetryWorkflowClientInterceptor({ tracer }),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return started;
}

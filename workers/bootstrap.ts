import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { TaskQueue, type Domain } from '../common/task-queues.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { DOMAIN_PLUGINS } from './plugins.js';
import { connectWorker } from '../runtime/temporal.js';
import { redactConsole, redactingLogFunction, redactorOf } from '../runtime/redact.js';
import { describeTemporal } from '../runtime/temporal-profile.js';
import { startTracing } from '../runtime/tracing.js';
import { tracingPlugins } from './tracing-plugins.js';
import { startHealthServer } from './health-server.js';

export interface BootstrapOptions {
  /** Telemetry hook-in point: e.g. `{ metrics: { prometheus: { bindAddress: '0.0.0.0:9464' } } }`. */
  telemetryOptions?: Parameters<typeof Runtime.install>[0]['telemetryOptions'];
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * Runs one worker per domain in this process until SIGINT or SIGTERM, then stops polling and lets
 * in-flight activities finish (up to SPOKEFLOW_SHUTDOWN_GRACE) before closing the stores.
 * Many processes may serve the same queue: Temporal spreads the tasks between them.
 */
export async function runWorkers(domains: Domain[], options: BootstrapOptions = {}): Promise<void> {
  const config = loadConfig();
  const prometheus = process.env.SPOKEFLOW_PROMETHEUS_BIND;
  Runtime.install({
    logger: new DefaultLogger('INFO', redactingLogFunction(redactorOf(config))),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: options.telemetryOptions ?? (prometheus ? { metrics: { prometheus: { bindAddress: prometheus } } } : undefined),
  });
  // Up before the connection, so liveness answers (and readiness says 503) while the workers start.
  const health = config.healthBind ? await startHealthServer(config.healthBind) : undefined;
  const tracing = startTracing(`spokeflow-${domains.join('-')}`); // undefined unless OTLP is configured
  const clients = createClients(config, { tracer: tracing?.tracer });
  const connection = await connectWorker(config);
  // One queue cannot serve two domains' workflows, so the override applies to one-domain processes only.
  if (config.taskQueue && domains.length !== 1) throw new Error('invalid configuration: SPOKEFLOW_TASK_QUEUE needs a worker of one domain');
  try {
    const workers = await Promise.all(
      domains.map((domain) => {
        const plugin = DOMAIN_PLUGINS[domain];
        if (!plugin) throw new Error(`domain ${domain} has no workflows or activities yet`);
        return Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: config.taskQueue ?? TaskQueue[domain],
          plugins: [plugin({ config, clients }), ...tracingPlugins(tracing)],
          shutdownGraceTime: config.shutdownGrace as WorkerOptions['shutdownGraceTime'],
          ...options.workerOptions,
        });
      }),
    );
    health?.watch(() => workers.map((w) => w.getState()));
    console.log(`spokeflow workers polling ${workers.map((w) => w.options.taskQueue).join(', ')} on ${describeTemporal(config.temporal)}`);
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await health?.close();
    await connection.close();
    await clients.close();
    await tracing?.shutdown(); // the last spans batched
  }
}

/** Entry helper: `run().catch(...)` with a non-zero exit on failure. */
export function main(domains: Domain[]): void {
  redactConsole(redactorOf(loadConfig()));
  runWorkers(domains).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

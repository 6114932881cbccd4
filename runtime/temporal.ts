import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { SpokeflowConfig } from './config.js';
import { spokeflowDataConverter } from './data-converter.js';
import { connectChecked } from './temporal-probe.js';
import type { TemporalSettings } from './temporal-profile.js';
import { startTracing } from './tracing.js';

/**
 * Every connection spokeflow makes to Temporal — workers, the CLI, schedules, the demo, benchmarks
 * and tests — is made here, so the cluster's address, namespace, TLS and credentials, and the
 * payload converter, are decided in one place.
 */

/** Options of a client connection (the CLI, schedules, starters). */
export function clientConnectionOptions(config: SpokeflowConfig): ConnectionOptions {
  return connectionOptionsOf(config.temporal);
}

/** Options of a worker's native connection. */
export function workerConnectionOptions(config: SpokeflowConfig): NativeConnectionOptions {
  return connectionOptionsOf(config.temporal);
}

/** Address, TLS (server CA, name, mTLS pair), API key and metadata: the same for both kinds of connection. */
function connectionOptionsOf(t: TemporalSettings) {
  const tls = t.tls && {
    serverNameOverride: t.tls.serverName,
    serverRootCACertificate: t.tls.serverCa,
    clientCertPair: t.tls.client && { crt: t.tls.client.cert, key: t.tls.client.key.reveal() },
  };
  const metadata = Object.fromEntries(Object.entries(t.metadata).map(([k, v]) => [k, v.reveal()]));
  return { address: t.address, tls, apiKey: t.apiKey?.reveal(), metadata };
}

/** A Temporal client on its own connection; `close()` closes that connection and sends the spans it traced. */
export interface TemporalClient {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/**
 * A client of the configured namespace over an open connection. With OTLP configured, a start
 * (or signal, query, update) opens the trace that the workflow and its activities continue.
 */
export function temporalClient(connection: Connection, config: SpokeflowConfig): Client {
  const tracing = startTracing('spokeflow-cli');
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: spokeflowDataConverter(config),
    ...(tracing ? { interceptors: { workflow: [tracing.clientInterceptor] } } : {}),
  });
}

export async function connectClient(config: SpokeflowConfig): Promise<TemporalClient> {
  const connection = await connectChecked(config.temporal, () => Connection.connect(clientConnectionOptions(config)));
  const close = async () => {
    await connection.close();
    await startTracing('spokeflow-cli')?.flush();
  };
  return { client: temporalClient(connection, config), connection, close };
}

/** The native connection a worker polls through. */
export function connectWorker(config: SpokeflowConfig): Promise<NativeConnection> {
  return connectChecked(config.temporal, () => NativeConnection.connect(workerConnectionOptions(config)));
}

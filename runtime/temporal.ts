import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { SpokeflowConfig } from './config.js';
import { spokeflowDataConverter } from './data-converter.js';

/**
 * Every connection spokeflow makes to Temporal — workers, the CLI, schedules, the demo, benchmarks
 * and tests — is made here, so the cluster's address, namespace, TLS and credentials, and the
 * payload converter, are decided in one place.
 */

/** Options of a client connection (the CLI, schedules, starters). */
export function clientConnectionOptions(config: SpokeflowConfig): ConnectionOptions {
  return { address: config.temporal.address };
}

/** Options of a worker's native connection. */
export function workerConnectionOptions(config: SpokeflowConfig): NativeConnectionOptions {
  return { address: config.temporal.address };
}

/** A Temporal client on its own connection; `close()` closes that connection. */
export interface TemporalClient {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/** A client of the configured namespace over an open connection. */
export function temporalClient(connection: Connection, config: SpokeflowConfig): Client {
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: spokeflowDataConverter(config) });
}

export async function connectClient(config: SpokeflowConfig): Promise<TemporalClient> {
  const connection = await Connection.connect(clientConnectionOptions(config));
  return { client: temporalClient(connection, config), connection, close: () => connection.close() };
}

/** The native connection a worker polls through. */
export function connectWorker(config: SpokeflowConfig): Promise<NativeConnection> {
  return NativeConnection.connect(workerConnectionOptions(config));
}

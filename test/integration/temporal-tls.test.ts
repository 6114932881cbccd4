import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { connectWorker } from '../../runtime/temporal.js';
import { openHarness, type Harness } from '../support/harness.js';
import { makeTestPki, startTlsProxy, type TestPki, type TlsProxy } from '../support/tls-proxy.js';
import { exitOf, polling, startWorkerProcess } from '../support/worker-process.js';

/** The CLI as a person runs it, with only the TEMPORAL_* variables given (none inherited). */
function spokeflow(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
  const child = spawn(process.execPath, ['bin/spokeflow.js', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return exitOf(child).then((code) => ({ code, stdout, stderr }));
}

describe('a worker and the CLI on a TLS-only Temporal frontend', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const table = `tls_${tag}`;
  const dataset = `tls.${table}`;
  let h: Harness;
  let pki: TestPki;
  let tlsOnly: TlsProxy;
  let mtls: TlsProxy;
  let apiKey: TlsProxy;
  let worker: ChildProcess | undefined;
  let trusted: Record<string, string>;

  beforeAll(async () => {
    pki = makeTestPki();
    [tlsOnly, mtls, apiKey] = await Promise.all([
      startTlsProxy({ pki }),
      startTlsProxy({ pki, requireClientCert: true }),
      startTlsProxy({ pki, apiKey: 'right-key' }),
    ]);
    trusted = { TEMPORAL_ADDRESS: tlsOnly.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert };
    h = await openHarness({ inProcessWorker: false }); // plaintext, for the stores and the cleanup
    await h.postgres.query(`CREATE TABLE public.${table} AS SELECT g AS id, now() AS at FROM generate_series(1, 20) g`);
    await h.postgres.query(`ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    await h.declarePublicTable(dataset, table);
  });

  afterAll(async () => {
    worker?.kill('SIGKILL');
    await h?.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h?.close();
    await Promise.all([tlsOnly?.close(), mtls?.close(), apiKey?.close()]);
    pki?.remove();
  });

  it('runs a sync with the CA trusted: a worker process polls through TLS and the CLI follows the run to its end', async () => {
    const queue = `${h.taskQueue}-tls`;
    worker = startWorkerProcess(queue, trusted);
    await polling(worker);
    const run = await spokeflow(trusted, 'run', 'syncWorkflow', '--input', JSON.stringify({ dataset }), '--task-queue', queue);
    expect(run.stderr).not.toContain('spokeflow:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`started sync:${dataset}`);
    expect(JSON.parse(run.stdout.slice(run.stdout.indexOf('{')))).toMatchObject({ dataset, rows: 20 });
  });

  it('fails at once without the CA, naming the address and TEMPORAL_TLS_SERVER_CA_CERT_PATH (worker and CLI)', async () => {
    const untrusted = { TEMPORAL_ADDRESS: tlsOnly.address, TEMPORAL_TLS: 'true' };
    const expected = `Temporal at ${tlsOnly.address} presented a certificate not signed by the system's CAs`;
    const refused = startWorkerProcess(`${h.taskQueue}-untrusted`, untrusted);
    let stderr = '';
    refused.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [status, plain, workerExit] = await Promise.all([
      spokeflow(untrusted, 'status', `sync:${dataset}`),
      spokeflow({ TEMPORAL_ADDRESS: tlsOnly.address }, 'status', `sync:${dataset}`),
      exitOf(refused),
    ]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`spokeflow: ${expected}`);
    expect(status.stderr).toContain('set TEMPORAL_TLS_SERVER_CA_CERT_PATH');
    expect(workerExit).toBe(1);
    expect(stderr).toContain(expected);
    expect(plain.stderr).toContain(`Temporal at ${tlsOnly.address} requires TLS, but this connection is plaintext: set TEMPORAL_TLS=true`);
  });

  it('refuses mTLS without a client certificate and accepts the one its CA signed', async () => {
    const base = { TEMPORAL_ADDRESS: mtls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert };
    const withCert = { ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey };
    const [without, status] = await Promise.all([
      spokeflow(base, 'status', `sync:${dataset}`),
      spokeflow(withCert, 'status', `sync:${dataset}`),
    ]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(`Temporal at ${mtls.address} requires a client certificate (mTLS)`);
    await expect(connectWorker(loadConfig({ ...process.env, ...base }))).rejects.toThrow('requires a client certificate');

    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ workflowId: `sync:${dataset}`, status: 'COMPLETED' });
    await (await connectWorker(loadConfig({ ...process.env, ...withCert }))).close();
  });

  it('refuses a wrong API key and accepts the right one', async () => {
    const base = { TEMPORAL_ADDRESS: apiKey.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert };
    const [wrong, right] = await Promise.all([
      spokeflow({ ...base, TEMPORAL_API_KEY: 'wrong-key' }, 'status', `sync:${dataset}`),
      spokeflow({ ...base, TEMPORAL_API_KEY: 'right-key' }, 'status', `sync:${dataset}`),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`cannot connect to Temporal at ${apiKey.address}`);
    expect(wrong.stderr).toContain('check TEMPORAL_API_KEY');
    expect(wrong.stderr).not.toContain('wrong-key');
    await expect(connectWorker(loadConfig({ ...process.env, ...base, TEMPORAL_API_KEY: 'wrong-key' }))).rejects.toThrow(
      'check TEMPORAL_API_KEY',
    );

    expect(right.code).toBe(0);
    expect(JSON.parse(right.stdout)).toMatchObject({ status: 'COMPLETED' });
    await (await connectWorker(loadConfig({ ...process.env, ...base, TEMPORAL_API_KEY: 'right-key' }))).close();
  });
});

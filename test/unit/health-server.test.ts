import type { State } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBind, readiness, startHealthServer, type HealthServer } from '../../workers/health-server.js';

describe('worker health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('is ready only while every worker of the process runs', () => {
    expect(readiness(undefined).status).toBe(503);
    expect(readiness([]).status).toBe(503);
    expect(readiness(['INITIALIZED']).status).toBe(503);
    expect(readiness(['RUNNING', 'RUNNING']).status).toBe(200);
    for (const stopping of ['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED', 'FAILED'] as State[]) {
      expect(readiness(['RUNNING', stopping])).toEqual({ status: 503, body: { ready: false, states: ['RUNNING', stopping] } });
    }
  });

  it('reads host:port binds, IPv6 in brackets, and refuses anything else naming the variable', () => {
    expect(parseBind('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseBind('[::]:8080')).toEqual({ host: '::', port: 8080 });
    for (const bad of ['8080', 'host:', 'host:99999', 'http://host:80']) {
      expect(() => parseBind(bad)).toThrow(/SPOKEFLOW_HEALTH_BIND/);
    }
  });

  it('answers /healthz while not ready, and /readyz from the states it is given', async () => {
    server = await startHealthServer('127.0.0.1:0');
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${server!.port}${path}`);
      return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
    };
    expect((await get('/healthz')).status).toBe(200);
    expect(await get('/readyz')).toEqual({ status: 503, body: { ready: false, state: 'STARTING' } });
    let states: State[] = ['RUNNING'];
    server.watch(() => states);
    expect((await get('/readyz')).status).toBe(200);
    states = ['DRAINING'];
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/healthz')).body).toMatchObject({ live: true });
    expect((await get('/metrics')).status).toBe(404);
  });
});

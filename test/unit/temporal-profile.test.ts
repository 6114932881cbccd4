import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { clientConnectionOptions, workerConnectionOptions } from '../../runtime/temporal.js';
import { describeTemporal, loadTemporalSettings } from '../../runtime/temporal-profile.js';

const dir = mkdtempSync(join(tmpdir(), 'spokeflow-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nKEY-MATERIAL-CANARY\n-----END PRIVATE KEY-----\n');
const toml = file(
  'temporal.toml',
  `
[profile.default]
address = "temporal.internal:7233"
namespace = "data"

[profile.cloud]
address = "data.a1b2c.tmprl.cloud:7233"
namespace = "data.a1b2c"
api_key = "API-KEY-CANARY"

[profile.mtls]
address = "temporal.internal:7234"
[profile.mtls.tls]
server_ca_cert_path = "${ca}"
client_cert_path = "${cert}"
client_key_path = "${key}"
server_name = "frontend.temporal.internal"
`,
);

// No HOME: the SDK's default file (~/.config/temporalio/temporal.toml) cannot leak into a case.
const load = (env: Record<string, string>) => loadTemporalSettings(env);

describe('Temporal connection settings', () => {
  it("are the local stack's when nothing is set", () => {
    const s = load({});
    expect(s).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', tls: false, apiKey: undefined });
    expect(loadConfig({}).temporal.address).toBe('127.0.0.1:7233');
  });

  it('come from the default profile of TEMPORAL_CONFIG_FILE, and from TEMPORAL_PROFILE when named', () => {
    expect(load({ TEMPORAL_CONFIG_FILE: toml })).toMatchObject({ address: 'temporal.internal:7233', namespace: 'data', tls: false });
    const cloud = load({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
    expect(cloud).toMatchObject({ address: 'data.a1b2c.tmprl.cloud:7233', namespace: 'data.a1b2c', tls: {} });
    expect(cloud.apiKey?.reveal()).toBe('API-KEY-CANARY');
  });

  it('take the standard variables over the profile', () => {
    const s = load({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: 'other.a1b2c', TEMPORAL_API_KEY: 'k2' });
    expect(s).toMatchObject({ address: 'data.a1b2c.tmprl.cloud:7233', namespace: 'other.a1b2c' });
    expect(s.apiKey?.reveal()).toBe('k2');
    expect(load({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_ADDRESS: 'elsewhere:7233' }).address).toBe('elsewhere:7233');
    // The namespace every worker and client of the config uses is the merged one.
    expect(loadConfig({ TEMPORAL_CONFIG_FILE: toml }).temporal.namespace).toBe('data');
  });

  it('turn TLS on with an API key or any TLS setting, and off with TEMPORAL_TLS=false', () => {
    expect(load({ TEMPORAL_API_KEY: 'k' }).tls).toEqual({});
    expect(load({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(load({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca }).tls).toMatchObject({ serverCaFrom: ca });
    expect(load({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
    expect(load({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls', TEMPORAL_TLS: 'false' }).tls).toBe(false);
  });

  it('read the CA, client certificate and key of a profile into both kinds of connection options', () => {
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' });
    for (const options of [clientConnectionOptions(config), workerConnectionOptions(config)]) {
      expect(options.address).toBe('temporal.internal:7234');
      const tls = options.tls as {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
      expect(tls.serverNameOverride).toBe('frontend.temporal.internal');
      expect(tls.serverRootCACertificate?.toString()).toContain('ca');
      expect(tls.clientCertPair?.crt.toString()).toContain('client');
      expect(tls.clientCertPair?.key.toString()).toContain('KEY-MATERIAL-CANARY');
    }
    expect(clientConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'k' })).apiKey).toBe('k');
  });

  it('never print the API key, the client key or gRPC metadata', () => {
    const config = loadConfig({
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'mtls',
      TEMPORAL_API_KEY: 'API-KEY-CANARY',
      TEMPORAL_GRPC_META_X_TENANT_TOKEN: 'META-CANARY',
    });
    for (const shown of [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      String(config.temporal.apiKey),
      describeTemporal(config.temporal),
    ]) {
      expect(shown).not.toMatch(/API-KEY-CANARY|KEY-MATERIAL-CANARY|META-CANARY/);
    }
    expect(describeTemporal(config.temporal)).toBe(
      `temporal.internal:7234 (namespace default, TLS, CA ${ca}, server name frontend.temporal.internal, client certificate, API key, profile mtls of ${toml})`,
    );
  });

  it('name what is wrong: a missing file, profile, certificate or key', () => {
    expect(() => load({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') })).toThrow(
      `TEMPORAL_CONFIG_FILE=${join(dir, 'nope.toml')}: no such file`,
    );
    expect(() => load({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toThrow(`Profile 'staging' not found`);
    expect(() => load({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'none.pem') })).toThrow(
      `cannot read the server CA certificate ${join(dir, 'none.pem')} (TEMPORAL_TLS_SERVER_CA_CERT_PATH): ENOENT`,
    );
    expect(() => load({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert })).toThrow('set TEMPORAL_TLS_CLIENT_KEY_PATH');
    expect(() => load({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow('set TEMPORAL_TLS_SERVER_NAME');
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/** Where spokeflow connects when neither the environment nor a profile says otherwise: the local stack. */
export const TEMPORAL_DEFAULTS = { address: '127.0.0.1:7233', namespace: 'default' } as const;

/** A value that is used but never printed: logs, `JSON.stringify` and `util.inspect` see `[redacted]`. */
export class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export interface TemporalTls {
  /** Name the server's certificate must carry (SNI and verification), when it differs from the address's host. */
  serverName?: string;
  /** CA that signed the server's certificate; unset: the system's roots. */
  serverCa?: Buffer;
  /** Where the CA came from, for messages (a path or the variable holding it). */
  serverCaFrom?: string;
  /** mTLS: the client's certificate and its key. */
  client?: { cert: Buffer; key: Secret<Buffer> };
}

/** The connection settings of every Temporal connection spokeflow opens, resolved and read. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** `false`: plaintext (the local dev server). */
  tls: TemporalTls | false;
  apiKey?: Secret<string>;
  /** gRPC metadata sent with every call (TEMPORAL_GRPC_META_*); values may be credentials. */
  metadata: Record<string, Secret<string>>;
  /** The TOML profile asked for, for messages: `name of path` when TEMPORAL_CONFIG_FILE names the file. */
  profile?: string;
}

/** A missing or malformed setting: the message names it and what to set. */
export class TemporalConfigError extends Error {}

/**
 * Temporal's connection settings the way its CLI and SDKs read them, by precedence:
 * 1. the standard variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 *    TEMPORAL_TLS_*, TEMPORAL_GRPC_META_*),
 * 2. the TOML profile TEMPORAL_PROFILE (default `default`) of TEMPORAL_CONFIG_FILE (default
 *    ~/.config/temporalio/temporal.toml, the Temporal CLI's own file),
 * 3. spokeflow's defaults (TEMPORAL_DEFAULTS, plaintext), so the local stack needs nothing.
 * TLS is on once any TLS setting or an API key is given, unless TEMPORAL_TLS=false (or
 * `tls.disabled = true`) turns it off. Certificates and keys are read here, so a wrong path fails
 * at start, not at the first connection.
 */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const file = vars.TEMPORAL_CONFIG_FILE;
  // The SDK treats a missing file as no file; one named explicitly and absent is a typo to report.
  if (file && !existsSync(file)) throw new TemporalConfigError(`TEMPORAL_CONFIG_FILE=${file}: no such file`);
  if (envBool(vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION)) {
    throw new TemporalConfigError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK: set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate',
    );
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    throw new TemporalConfigError(`Temporal profile${file ? ` in ${file}` : ''}: ${(err as Error).message}`);
  }
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  return {
    address: profile.address || TEMPORAL_DEFAULTS.address,
    namespace: profile.namespace || TEMPORAL_DEFAULTS.namespace,
    tls: resolveTls(profile),
    apiKey: profile.apiKey ? new Secret(profile.apiKey) : undefined,
    metadata: Object.fromEntries(Object.entries(profile.grpcMeta ?? {}).map(([k, v]) => [k, new Secret(v)])),
    profile: file ? `${profileName} of ${file}` : vars.TEMPORAL_PROFILE,
  };
}

function resolveTls(profile: ClientConfigProfile): TemporalTls | false {
  const t = profile.tls;
  // Envconfig's rule: an API key alone means TLS; an explicit disable wins over both.
  if (t?.disabled === true || (t === undefined && profile.apiKey === undefined)) return false;
  const cert = readSource(t?.clientCert, 'client certificate', 'TEMPORAL_TLS_CLIENT_CERT_PATH');
  const key = readSource(t?.clientKey, 'client key', 'TEMPORAL_TLS_CLIENT_KEY_PATH');
  if (Boolean(cert) !== Boolean(key)) {
    throw new TemporalConfigError(
      cert
        ? 'a client certificate is set without its key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or tls.client_key_path)'
        : 'a client key is set without its certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH (or tls.client_cert_path)',
    );
  }
  const ca = readSource(t?.serverCACert, 'server CA certificate', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  return {
    serverName: t?.serverName || undefined,
    serverCa: ca,
    serverCaFrom: t?.serverCACert ? ('path' in t.serverCACert ? t.serverCACert.path : 'inline data') : undefined,
    client: cert && key ? { cert, key: new Secret(key) } : undefined,
  };
}

function readSource(source: ConfigDataSource | undefined, what: string, variable: string): Buffer | undefined {
  if (!source) return undefined;
  if ('data' in source) return Buffer.from(source.data);
  try {
    return readFileSync(source.path);
  } catch (err) {
    throw new TemporalConfigError(`cannot read the ${what} ${source.path} (${variable}): ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function envBool(value: string | undefined): boolean {
  return value === '1' || value === 'true';
}

/** One line about a connection for logs and errors: never a secret, only whether one is used. */
export function describeTemporal(s: TemporalSettings): string {
  const parts = [`namespace ${s.namespace}`];
  if (s.tls === false) parts.push('plaintext');
  else {
    parts.push(s.tls.serverCa ? `TLS, CA ${s.tls.serverCaFrom}` : 'TLS, system CAs');
    if (s.tls.serverName) parts.push(`server name ${s.tls.serverName}`);
    if (s.tls.client) parts.push('client certificate');
  }
  if (s.apiKey) parts.push('API key');
  if (s.profile) parts.push(`profile ${s.profile}`);
  return `${s.address} (${parts.join(', ')})`;
}

import http2 from 'node:http2';
import tls from 'node:tls';
import { describeTemporal, type TemporalSettings } from './temporal-profile.js';

/** A connection to Temporal that cannot work as configured: the message names the address and what to set. */
export class TemporalConnectionError extends Error {}

/** Certificate checks that fail because the server's chain does not lead to a CA we were given. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
/** Failures to reach the port at all: left to the SDK, which retries them as it always has. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const PROBE_TIMEOUT_MS = 10_000;

/**
 * Opens one HTTP/2 session the way the SDK will (TLS with the same CA, name and client
 * certificate, or plaintext) and waits for the server's first SETTINGS frame. The SDK retries a
 * refused handshake until its deadline and then reports a bare "deadline exceeded"; this fails at
 * once, saying which setting is wrong.
 */
export async function probeTemporal(settings: TemporalSettings): Promise<void> {
  const { host, port } = hostPort(settings.address);
  const where = `Temporal at ${settings.address}`;
  const tlsSettings = settings.tls;
  if (tlsSettings === false) {
    const failure = await h2Handshake(`http://${host}:${port}`, {});
    if (!failure || UNREACHABLE.has(failure.code ?? '')) return;
    if (failure.code === 'ETIMEDOUT') return; // slow, not misconfigured: the SDK's own deadline decides
    if (await speaksTls(host, port)) {
      throw new TemporalConnectionError(
        `${where} requires TLS, but this connection is plaintext: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH if its CA is private)`,
      );
    }
    throw new TemporalConnectionError(`${where} did not answer as a gRPC server (${reasonOf(failure)}): check TEMPORAL_ADDRESS`);
  }
  const failure = await h2Handshake(`https://${host}:${port}`, {
    ca: tlsSettings.serverCa,
    // Node checks the certificate against `servername` when given, as the SDK does with its override.
    servername: tlsSettings.serverName ?? sniName(host),
    cert: tlsSettings.client?.cert,
    key: tlsSettings.client?.key.reveal(),
  });
  if (!failure || UNREACHABLE.has(failure.code ?? '')) return;
  const code = failure.code ?? '';
  if (code === 'ETIMEDOUT') return;
  if (UNTRUSTED.has(code)) {
    const trusted = tlsSettings.serverCa ? `the CA of ${tlsSettings.serverCaFrom}` : "the system's CAs";
    throw new TemporalConnectionError(
      `${where} presented a certificate not signed by ${trusted} (${code}): set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA certificate that signed it`,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    throw new TemporalConnectionError(
      `${where} presented a certificate for another name (${failure.message}): set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    throw new TemporalConnectionError(`${where} presented a certificate outside its validity (${code})`);
  }
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED/.test(code)) {
    throw new TemporalConnectionError(
      tlsSettings.client
        ? `${where} refused this client certificate (${code}): check TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`
        : `${where} requires a client certificate (mTLS) (${code}): set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`,
    );
  }
  if (!(await speaksTls(host, port))) {
    throw new TemporalConnectionError(
      `${where} does not speak TLS (${reasonOf(failure)}): set TEMPORAL_TLS=false, or point TEMPORAL_ADDRESS at its TLS port`,
    );
  }
  throw new TemporalConnectionError(`${where}: TLS connection failed (${reasonOf(failure)})`);
}

/**
 * Probes, then connects with the SDK; a failure of either names the connection (never its
 * secrets) and, for refused credentials, what to check.
 */
export async function connectChecked<C>(settings: TemporalSettings, connect: () => Promise<C>): Promise<C> {
  await probeTemporal(settings);
  try {
    return await connect();
  } catch (err) {
    // The client wraps the gRPC status in a cause ("Failed to connect to Temporal server"): keep both.
    const chain: (Error & { code?: unknown })[] = [];
    for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
    const message = chain.map((e) => e.message).join(': ') || String(err);
    const refused = chain.some((e) => e.code === 16 || e.code === 7) || /authenticat|permission denied/i.test(message);
    const hint = refused
      ? `: check TEMPORAL_API_KEY${settings.tls !== false && settings.tls.client ? ' and the client certificate' : ''}`
      : '';
    throw new TemporalConnectionError(`cannot connect to Temporal at ${describeTemporal(settings)}: ${message}${hint}`, { cause: err });
  }
}

type ProbeFailure = Error & { code?: string };

/** OpenSSL's messages run over several lines of internals; its code says the same in a word. */
function reasonOf(failure: ProbeFailure): string {
  return failure.code ?? failure.message.split('\n')[0]!.trim();
}

/** Resolves with nothing once the server's SETTINGS arrive, or with the error that came first. */
function h2Handshake(url: string, options: http2.SecureClientSessionOptions): Promise<ProbeFailure | undefined> {
  return new Promise((resolve) => {
    const session = http2.connect(url, options);
    const finish = (failure?: ProbeFailure) => {
      clearTimeout(timer);
      resolve(failure);
      session.destroy();
    };
    const timer = setTimeout(
      () => finish(Object.assign(new Error(`no HTTP/2 settings within ${PROBE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })),
      PROBE_TIMEOUT_MS,
    );
    session.once('remoteSettings', () => finish());
    session.once('error', (err: ProbeFailure) => finish(err));
    // A TLS alert after the handshake (mTLS refusing a client without a certificate) reaches the
    // socket, not the session.
    session.socket?.once('error', (err: ProbeFailure) => finish(err));
    session.once('close', () => finish(Object.assign(new Error('the server closed the connection'), { code: 'ECLOSED' })));
  });
}

/** Whether a TLS handshake completes at all, whoever signed the certificate. */
function speaksTls(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername: sniName(host), rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const finish = (yes: boolean) => {
      clearTimeout(timer);
      resolve(yes);
      socket.destroy();
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    socket.once('secureConnect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/** SNI carries names only, never IP addresses. */
function sniName(host: string): string | undefined {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}

function hostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.replace(/^[a-z]+:\/\//, ''));
  if (!m) throw new TemporalConnectionError(`TEMPORAL_ADDRESS=${address}: expected host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

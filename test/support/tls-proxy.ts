import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of a throw-away PKI: a CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: trusting it instead of `caCert` must fail. */
  otherCaCert: string;
  remove(): void;
}

/** Makes the certificates with the openssl CLI (Node has no API to sign one). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'spokeflow-pki-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      ...['-subj', `/CN=${name}`],
      ...['-keyout', at(`${name}.key`), '-out', at(`${name}.pem`)],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
  const leaf = (name: string, extensions: string) => {
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      ...['-keyout', at(`${name}.key`), '-out', at(`${name}.csr`)],
    );
    writeFileSync(at(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      ...['-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`)],
    );
  };
  ca('ca');
  ca('other-ca');
  leaf(
    'server',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  leaf('client', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherCaCert: at('other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxyOptions {
  pki: TestPki;
  /** Plaintext gRPC server the proxy forwards to; the local stack's dev server by default. */
  upstream?: string;
  /** mTLS: refuse the handshake of a client without a certificate signed by the test CA. */
  requireClientCert?: boolean;
  /** Answer UNAUTHENTICATED to any call without `authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

export interface TlsProxy {
  address: string;
  close(): Promise<void>;
}

const HOP_HEADERS = new Set([':scheme', ':authority', 'authorization']);

/**
 * A TLS-terminating HTTP/2 proxy on loopback in front of the plaintext dev server (which has no
 * TLS options): what a worker or the CLI sees of a secured Temporal frontend.
 */
export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  const { pki } = options;
  const server = http2.createSecureServer({
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
    ca: readFileSync(pki.caCert),
    requestCert: options.requireClientCert ?? false,
    rejectUnauthorized: options.requireClientCert ?? false,
  });
  let upstream: http2.ClientHttp2Session | undefined;
  const upstreamSession = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(options.upstream ?? 'http://127.0.0.1:7233');
      upstream.on('error', () => undefined); // each stream reports its own failure
    }
    return upstream;
  };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  server.on('stream', (stream, headers) => {
    if (options.apiKey !== undefined && headers.authorization !== `Bearer ${options.apiKey}`) {
      // gRPC's trailers-only answer: status in the headers, no body.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' },
        { endStream: true },
      );
      return;
    }
    const forwarded = Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_HEADERS.has(k)));
    const call = upstreamSession().request(forwarded);
    let trailers: http2.IncomingHttpHeaders | undefined;
    call.on('response', (response) => {
      const trailersOnly = 'grpc-status' in response;
      stream.respond(response, { waitForTrailers: !trailersOnly });
    });
    call.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? { 'grpc-status': '0' }));
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('error', () => call.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('close', () => call.close(http2.constants.NGHTTP2_CANCEL));
    stream.pipe(call);
    call.pipe(stream);
  });
  // A refused handshake (mTLS without a certificate) closes the socket, as Temporal's frontend does.
  server.on('tlsClientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      for (const s of sessions) s.destroy();
      upstream?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

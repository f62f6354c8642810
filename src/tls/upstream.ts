// TLS towards the nodes (https/wss, and the OPTIONS probe): verification on
// unless SSLProxyVerify none, against Node's CA store plus --upstream-ca; SNI is
// the node's Host when it is a name. One SecureContext per thread: building one
// per connection would parse the whole CA store each time.
import tls, { type SecureContext } from 'node:tls';
import net from 'node:net';
import { MIN_TLS_VERSION } from './ciphers';
import { UpstreamTlsError } from './errors';

/** What crosses to the forwarding threads (structured clone): plain data. */
export interface UpstreamTlsSettings {
  /** SSLProxyVerify require (true) or none (false). */
  readonly verify: boolean;
  /** The PEM text of --upstream-ca, added to Node's CA store. */
  readonly caPem: string | undefined;
}

/** The tls.connect options every upstream TLS connection of a thread shares. */
export interface UpstreamTlsOptions {
  readonly rejectUnauthorized: boolean;
  /** undefined: Node's default context (its CA store, NODE_EXTRA_CA_CERTS, --use-openssl-ca). */
  readonly secureContext: SecureContext | undefined;
}

export const VERIFY_BY_DEFAULT: UpstreamTlsSettings = { verify: true, caPem: undefined };

export function upstreamTlsOptions(s: UpstreamTlsSettings): UpstreamTlsOptions {
  const secureContext =
    s.caPem === undefined ? undefined : tls.createSecureContext({ ca: [...tls.rootCertificates, s.caPem], minVersion: MIN_TLS_VERSION });
  return { rejectUnauthorized: s.verify, secureContext };
}

/** SNI for a node: its Host when that is a name (SNI never carries an IP address). */
export function serverNameFor(host: string): string | undefined {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  return net.isIP(h) === 0 ? h : undefined;
}

/**
 * The last TLS session a node gave this pool, offered on the next connection
 * so that it resumes (an abbreviated handshake) instead of a full one.
 */
export class TlsSessionCache {
  #session: Buffer | undefined;

  get(): Buffer | undefined {
    return this.#session;
  }

  set(session: Buffer): void {
    this.#session = session;
  }

  /** A resumption the node refused or a failed handshake: start afresh. */
  clear(): void {
    this.#session = undefined;
  }
}

/**
 * A socket error seen before the TLS handshake finished is the TLS layer's
 * (certificate not verified, alert, not TLS at all) unless it came from a
 * system call (ECONNREFUSED and friends, which stay what they are).
 */
export function asHandshakeError(err: Error): Error {
  if (typeof (err as NodeJS.ErrnoException).syscall === 'string') return err;
  return new UpstreamTlsError(err);
}

/** Codes node:tls and OpenSSL give to certificate and handshake failures (undici passes them on as they are). */
const TLS_FAILURE = /^(ERR_SSL_|ERR_TLS_)|CERT|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO/;

/** A TLS failure as undici reports it, as the UpstreamTlsError the forwarder treats as a node failure; other errors unchanged. */
export function asUpstreamTlsError(err: Error): Error {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && TLS_FAILURE.test(code) ? new UpstreamTlsError(err) : err;
}

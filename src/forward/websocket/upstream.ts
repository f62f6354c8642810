// The node side of a WebSocket tunnel: undici's WebSocket client over a
// Client of its own, so that the node's connect timeout and TLS settings
// apply (MCMP.md §5.12), and with a probe under the WHATWG API, which only
// ever reports "failed": the tunnel must tell a refused connection (node in
// error, §5.9.1) from a node that answered the handshake with a status.
import type { Duplex } from 'node:stream';
import type { Dispatcher, WebSocket } from 'undici';
import type { NodeRow } from '../../slots/rows';
import { asUpstreamTlsError, serverNameFor, type UpstreamTlsOptions } from '../../tls/upstream';
import { undici } from '../undici-module';
import { nodeOrigin } from '../upstream/upstreams';

/** The handshake answer when the node has no Timeout (httpd's Timeout default). */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;
/** undici's default connect timeout when the node has no ping. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** What the node did with the opening handshake, as seen below undici's WebSocket. */
export class HandshakeProbe {
  /** Final status of the node's answer (101 when it switched), 0 when none came. */
  status = 0;
  /** The error that ended the handshake request, if any (its `code` says whether the connection failed). */
  error: Error | null = null;
  /** Raw headers of the 101 answer ([name, value, ...]). */
  upgradeHeaders: Buffer[] = [];
}

/** Passes every callback to undici's own handler and notes what the node answered. */
class ProbeHandler implements Dispatcher.DispatchHandlers {
  readonly #inner: Dispatcher.DispatchHandlers;
  readonly #probe: HandshakeProbe;

  constructor(inner: Dispatcher.DispatchHandlers, probe: HandshakeProbe) {
    this.#inner = inner;
    this.#probe = probe;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#inner.onConnect?.(abort);
  }

  onError(err: Error): void {
    // A wss node whose certificate does not verify is a failed connection (node in error), not a bad answer.
    this.#probe.error ??= asUpstreamTlsError(err);
    this.#inner.onError?.(err);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.#probe.status = statusCode;
    if (headers !== null) this.#probe.upgradeHeaders = headers.map((h) => (typeof h === 'string' ? Buffer.from(h, 'latin1') : h));
    this.#inner.onUpgrade?.(statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.#inner.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode >= 200) this.#probe.status = statusCode;
    return this.#inner.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.#inner.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.#inner.onComplete?.(trailers);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.#inner.onBodySent?.(chunkSize, totalBytesSent);
  }
}

/** A WebSocket being opened (or open) to a node. */
export interface NodeSocket {
  readonly ws: WebSocket;
  readonly probe: HandshakeProbe;
  /**
   * Closes the Client that carried the handshake. Once the node switched
   * protocols undici has handed the socket to the WebSocket, so this never
   * cuts an open tunnel; before that it aborts the handshake.
   */
  release(): void;
}

/** The node-side handshake request. */
export interface NodeHandshake {
  /** Request target as the node must see it (already canonicalised or not, §5.12). */
  readonly path: string;
  /** The client's Host header ('' when absent), preserved as for plain requests. */
  readonly host: string;
  readonly protocols: string[];
  /** Client headers to pass on, without Host and the Sec-WebSocket-* ones. */
  readonly headers: Array<[string, string]>;
}

/**
 * Puts back what undici's fetch rewrites: it sends the WHATWG-normalised URL
 * path and drops Host (a forbidden header for browsers); the node must get the
 * path the proxy chose and the client's Host (ProxyPreserveHost On).
 */
function withTarget(options: Dispatcher.DispatchOptions, handshake: NodeHandshake): Dispatcher.DispatchOptions {
  if (handshake.host === '') return { ...options, path: handshake.path };
  const headers = options.headers;
  let out: Dispatcher.DispatchOptions['headers'];
  if (Array.isArray(headers)) out = [...(headers as string[]), 'host', handshake.host];
  else out = { ...(headers as Record<string, string> | null | undefined), host: handshake.host };
  return { ...options, path: handshake.path, headers: out };
}

/**
 * Starts the opening handshake with a node of type ws/wss (or http/https).
 * Returns null for a type the forwarder cannot speak. Throws what undici's
 * WebSocket constructor throws for a bad protocol list (SyntaxError) and
 * Headers for an invalid header (TypeError).
 */
export function openNodeSocket(node: NodeRow, handshake: NodeHandshake, tlsOptions: UpstreamTlsOptions): NodeSocket | null {
  const origin = nodeOrigin(node);
  if (origin === null) return null;
  const ms = (us: number, fallback: number): number => (us > 0 ? Math.max(1, Math.round(us / 1000)) : fallback);
  const { Client, WebSocket } = undici();
  const client = new Client(origin, {
    connectTimeout: ms(node.pingUs, DEFAULT_CONNECT_TIMEOUT_MS),
    headersTimeout: ms(node.timeoutUs, DEFAULT_HANDSHAKE_TIMEOUT_MS),
    // SSLProxyVerify (require by default), SNI = the node's Host; undici keeps the TLS sessions.
    connect: origin.startsWith('https:')
      ? { rejectUnauthorized: tlsOptions.rejectUnauthorized, secureContext: tlsOptions.secureContext, servername: serverNameFor(node.host) }
      : undefined,
  });
  const probe = new HandshakeProbe();
  const dispatcher = client.compose((dispatch) => (options, handler) => dispatch(withTarget(options, handshake), new ProbeHandler(handler, probe)));
  let ws: WebSocket;
  try {
    // The connection is the Client's (its origin, its port) and withTarget
    // sets the request target, so the URL matters to nobody but fetch, which
    // refuses WHATWG "bad ports" (6665-6669, 10080, ...) a node may well use:
    // it gets the scheme's default port.
    const host = node.host.includes(':') && !node.host.startsWith('[') ? `[${node.host}]` : node.host;
    ws = new WebSocket(`${origin.startsWith('https:') ? 'wss' : 'ws'}://${host}/`, { protocols: handshake.protocols, headers: handshake.headers, dispatcher });
  } catch (err) {
    void client.destroy().catch(() => undefined);
    throw err;
  }
  ws.binaryType = 'arraybuffer';
  let released = false;
  return {
    ws,
    probe,
    release(): void {
      if (released) return;
      released = true;
      client.destroy().catch(() => undefined);
    },
  };
}

// The MCMP listener of the primary thread: plain node:net plus our own
// HTTP/1.1 parser, because uWebSockets.js and node:http both refuse methods
// such as CONFIG or ENABLE-APP (ARCHITECTURE.md). It knows nothing about
// MCMP itself: requests go to the handler, replies come back in order.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { AllowList } from './allow';
import { ManagerConnection, type ConnectionSettings } from './connection';
import { EpisodeLog, RefusalLog } from '../../log-throttle';
import { HANDLE_IO } from '../../net/handle-io';

// The handler's contract lives in its own module so connection.ts and
// response.ts need not import the server that owns them.
import type { RequestHandler } from './message';
export type { HttpResponse, RequestHandler } from './message';

export interface ManagerServerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  allow: AllowList;
  handler: RequestHandler;
  /** Upper-case methods the handler understands; any other method gets 501 + close without reaching the handler. */
  methods: ReadonlySet<string>;
  /** Bytes; larger bodies are not buffered, req.bodyTooLarge=true is passed to the handler, and the connection is closed after the reply. */
  maxBodySize: number;
  /** Default 8192 bytes for the request line + headers; over it: 431 + close. */
  maxHeaderSize?: number;
  /** Default 20000: a started request must be complete within it, else 408 + close. */
  requestTimeoutMs?: number;
  /** Default 300000: idle keep-alive connections are closed silently. */
  keepAliveTimeoutMs?: number;
  /** Default 32: stop reading a connection while this many requests wait for replies. */
  maxPipelined?: number;
  serverHeader?: string;
  /** Default 256: connections held at once (workers hold one or two each); more are closed on accept. */
  maxConnections?: number;
  logger: Logger;
  /** --manager-tls: a TLS listener (with requestCert/rejectUnauthorized, the peer must present a valid certificate first). */
  tls?: tls.TlsOptions;
}

export class ManagerServerError extends Error {
  readonly code = 'ERR_MCMP_EDGE_MANAGER_SERVER';
  constructor(message: string) {
    super(message);
    this.name = 'ManagerServerError';
  }
}

const DEFAULT_MAX_HEADER_SIZE = 8192;
/** Java's socket timeout is 20 s (MCMP.md §1.6): a request slower than that is dead on its side anyway. */
const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/** The reference configuration recommends KeepAliveTimeout 300 on the MCMP host (MCMP.md §1.6). */
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_PIPELINED = 32;
const DEFAULT_MAX_CONNECTIONS = 256;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ManagerServerError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function settingsFrom(opts: ManagerServerOptions): ConnectionSettings {
  for (const m of opts.methods) {
    if (m !== m.toUpperCase() || !/^[!#$%&'*+\-.^_`|~0-9A-Z]+$/.test(m)) throw new ManagerServerError(`method ${JSON.stringify(m)} must be an upper-case token`);
  }
  if (!Number.isInteger(opts.maxBodySize) || opts.maxBodySize < 0) throw new ManagerServerError(`maxBodySize must be a non-negative integer, got ${String(opts.maxBodySize)}`);
  const allowed = [...opts.methods];
  if (opts.methods.has('GET') && !opts.methods.has('HEAD')) allowed.push('HEAD');
  return {
    handler: opts.handler,
    methods: opts.methods,
    allowHeader: allowed.join(', '),
    maxBodySize: opts.maxBodySize,
    maxHeaderSize: positiveInteger('maxHeaderSize', opts.maxHeaderSize, DEFAULT_MAX_HEADER_SIZE),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: positiveInteger('keepAliveTimeoutMs', opts.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    maxPipelined: positiveInteger('maxPipelined', opts.maxPipelined, DEFAULT_MAX_PIPELINED),
    serverHeader: opts.serverHeader,
    logger: opts.logger,
    refusals: new RefusalLog(opts.logger),
  };
}

export class ManagerServer {
  readonly #host: string;
  readonly #port: number;
  #allow: AllowList;
  readonly #settings: ConnectionSettings;
  readonly #server: net.Server | tls.Server;
  readonly #connections = new Set<ManagerConnection>();
  #closed: Promise<void> | null = null;
  /** Set by close(): called whenever a connection goes away. */
  #onDrained: (() => void) | null = null;

  constructor(opts: ManagerServerOptions) {
    this.#host = opts.host;
    this.#port = opts.port;
    this.#allow = opts.allow;
    this.#settings = settingsFrom(opts);
    // allowHalfOpen: a client may send its request and shut its side down; it still gets the reply.
    if (opts.tls === undefined) {
      this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    } else {
      // 'secureConnection' comes only after a handshake that passed the client-certificate check.
      const server = tls.createServer({ allowHalfOpen: true, noDelay: true, ...opts.tls }, (socket) => this.#accept(socket));
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        const code = (err as NodeJS.ErrnoException).code;
        opts.logger.warn({ peer: socket.remoteAddress, code, err: err.message.split('\n')[0] }, 'MCMP TLS handshake refused');
      });
      this.#server = server;
    }
    // The cap: node closes connections above it at accept ('drop'); one line per episode, not per connection.
    const maxConnections = positiveInteger('maxConnections', opts.maxConnections, DEFAULT_MAX_CONNECTIONS);
    this.#server.maxConnections = maxConnections;
    const dropped = new EpisodeLog(opts.logger, 'MCMP connection cap reached: new connections are closed');
    this.#server.on('drop', (data?: { remoteAddress?: string }) => dropped.hit({ maxConnections, peer: data?.remoteAddress }));
    // Out of descriptors, libuv accepts and closes the waiting connections (no busy loop); say so once per episode.
    const exhausted = new EpisodeLog(opts.logger, 'MCMP listener out of file descriptors: connections are refused');
    this.#server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') exhausted.hit({ code: err.code });
      else opts.logger.warn({ code: err.code, err: err.message }, 'MCMP listener error');
    });
  }

  /** A new allow list for connections accepted from now on (SIGHUP reload); open ones keep their verdict. */
  setAllow(allow: AllowList): void {
    this.#allow = allow;
  }

  /** --manager-tls: new handshakes use these options (SIGHUP); false on a plain listener. */
  setSecureContext(options: tls.SecureContextOptions): boolean {
    if (!(this.#server instanceof tls.Server)) return false;
    this.#server.setSecureContext(options);
    return true;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#host, port: this.#port }, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as net.AddressInfo;
        this.#settings.logger.info({ address: a.address, port: a.port, allow: this.#allow.toString() }, 'MCMP listener ready');
        if (HANDLE_IO.reason !== '') this.#settings.logger.info({ reason: HANDLE_IO.reason }, 'MCMP connections read and write through node:net streams');
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting, ends idle connections, lets in-flight replies finish; resolves when every connection is gone. */
  close(): Promise<void> {
    if (this.#closed === null) {
      this.#closed = new Promise((resolve) => {
        // node's callback can run before our own 'close' listeners: wait for both.
        let serverClosed = false;
        this.#onDrained = () => {
          if (serverClosed && this.#connections.size === 0) resolve();
        };
        this.#server.close(() => {
          serverClosed = true;
          this.#onDrained?.();
        });
        for (const c of this.#connections) c.shutdown();
      });
    }
    return this.#closed;
  }

  #accept(socket: net.Socket): void {
    if (this.#closed !== null) {
      socket.destroy();
      return;
    }
    const allowed = this.#allow.allows(socket.remoteAddress ?? '');
    // 'close' is always emitted asynchronously, so the connection is in the set before it can leave it.
    const conn: ManagerConnection = new ManagerConnection(socket, this.#settings, allowed, () => {
      this.#connections.delete(conn);
      this.#onDrained?.();
    });
    this.#connections.add(conn);
  }
}

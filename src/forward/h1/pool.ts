// A keep-alive connection pool to one node, with undici Pool's dispatch
// interface so that the exchange works with either: idle connections are
// reused last-in first-out (the warmest socket, the least likely to have been
// dropped by the node), at most `connections` of them when set, requests
// beyond wait in order. One request at a time per connection: no pipelining.
import type { Dispatcher } from 'undici';
import { H1Connection, type ConnectionOwner, type ConnectionSettings, MAX_RESPONSE_HEAD } from './connection';
import { PoolClosedError, PoolDestroyedError } from './errors';
import { H1Request, type H1Handler } from './request';
import { TlsSessionCache, type UpstreamTlsOptions } from '../../tls/upstream';

/** The options of upstreams.ts's undici Pool that this client honours (same names, same units: ms). */
export interface H1PoolOptions {
  /** Most connections at once; null/undefined/0: no limit. */
  readonly connections?: number | null;
  readonly connectTimeout?: number;
  readonly headersTimeout?: number;
  readonly bodyTimeout?: number;
  readonly keepAliveTimeout?: number;
  readonly keepAliveMaxTimeout?: number;
  /** Largest response head (status line + headers) in bytes; undici's option name. */
  readonly maxHeaderSize?: number;
  readonly connect?: {
    readonly rejectUnauthorized?: boolean;
    readonly servername?: string;
    readonly secureContext?: UpstreamTlsOptions['secureContext'];
  };
  /** Told when a TLS handshake with the node fails (not a dispatch error: the request gets that). */
  readonly onTlsError?: (err: Error) => void;
}

/** undici's defaults, so that switching clients changes no behaviour. */
const DEFAULTS = {
  connectTimeout: 10_000,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 600_000,
} as const;

export class H1Pool implements ConnectionOwner {
  readonly #settings: ConnectionSettings;
  readonly #hostHeader: string;
  readonly #max: number;
  readonly #all = new Set<H1Connection>();
  /** Idle connections, the most recently used last. */
  readonly #idle: H1Connection[] = [];
  readonly #queue: H1Request[] = [];
  #queueHead = 0;
  #closing = false;
  #destroyed = false;
  #closeWaiters: Array<() => void> = [];

  constructor(origin: string, options: H1PoolOptions = {}) {
    const url = new URL(origin);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new TypeError(`unsupported origin ${origin}`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
    this.#hostHeader = url.host;
    this.#max = options.connections ?? 0;
    this.#settings = {
      host,
      port,
      tls: secure,
      servername: options.connect?.servername ?? (secure && !net_isIP(host) ? host : undefined),
      rejectUnauthorized: options.connect?.rejectUnauthorized ?? true,
      secureContext: options.connect?.secureContext,
      sessions: secure ? new TlsSessionCache() : null,
      onTlsError: options.onTlsError,
      connectTimeoutMs: options.connectTimeout ?? DEFAULTS.connectTimeout,
      headersTimeoutMs: options.headersTimeout ?? DEFAULTS.headersTimeout,
      bodyTimeoutMs: options.bodyTimeout ?? DEFAULTS.bodyTimeout,
      keepAliveMs: options.keepAliveTimeout ?? DEFAULTS.keepAliveTimeout,
      keepAliveMaxMs: options.keepAliveMaxTimeout ?? DEFAULTS.keepAliveMaxTimeout,
      maxHeadBytes: options.maxHeaderSize ?? MAX_RESPONSE_HEAD,
    };
  }

  /** Connections open (idle or busy), for tests and the curious. */
  get connectionCount(): number {
    return this.#all.size;
  }

  /** Sends one request; the handler hears back as with undici (onConnect first, then onHeaders/onData/onComplete or onError). */
  dispatch(options: Dispatcher.DispatchOptions, handler: H1Handler): boolean {
    if (this.#destroyed || this.#closing) {
      handler.onError?.(this.#destroyed ? new PoolDestroyedError() : new PoolClosedError());
      return false;
    }
    let req: H1Request;
    try {
      req = new H1Request(options, handler, this.#hostHeader);
    } catch (err) {
      handler.onError?.(err as Error);
      return false;
    }
    handler.onConnect?.(req.abort);
    if (req.done) return true;
    const idle = this.#idle.pop();
    if (idle !== undefined) idle.start(req);
    else if (this.#max <= 0 || this.#all.size < this.#max) this.#open().start(req);
    else this.#queue.push(req);
    return true;
  }

  /** No new requests; resolves once those running and waiting are done and every connection is closed. */
  close(): Promise<void> {
    if (this.#destroyed) return Promise.resolve();
    this.#closing = true;
    for (const conn of this.#idle.splice(0)) conn.destroy(new PoolClosedError());
    return new Promise((resolve) => {
      this.#closeWaiters.push(resolve);
      this.#checkClosed();
    });
  }

  /** Closes every connection now; running and waiting requests fail with UND_ERR_DESTROYED. */
  destroy(): Promise<void> {
    if (!this.#destroyed) {
      this.#destroyed = true;
      this.#closing = true;
      const err = new PoolDestroyedError();
      const queued = this.#queue.splice(0);
      this.#queueHead = 0;
      this.#idle.length = 0;
      for (const conn of [...this.#all]) conn.destroy(err);
      for (const req of queued) if (req !== undefined) req.fail(err);
    }
    this.#checkClosed();
    return Promise.resolve();
  }

  // ---- ConnectionOwner ----

  released(conn: H1Connection): void {
    if (this.#closing) {
      const next = this.#nextQueued();
      if (next !== null) conn.start(next);
      else conn.destroy(new PoolClosedError());
      return;
    }
    const next = this.#nextQueued();
    if (next !== null) {
      conn.start(next);
      return;
    }
    this.#idle.push(conn);
    conn.idle();
  }

  retry(req: H1Request): void {
    if (this.#destroyed) {
      req.fail(new PoolDestroyedError());
      return;
    }
    // Never onto another idle connection: it may be just as stale.
    if (this.#max <= 0 || this.#all.size < this.#max) this.#open().start(req);
    else this.#queue.push(req);
  }

  gone(conn: H1Connection): void {
    this.#all.delete(conn);
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    if (!this.#destroyed && (this.#max <= 0 || this.#all.size < this.#max)) {
      const next = this.#nextQueued();
      if (next !== null) this.#open().start(next);
    }
    this.#checkClosed();
  }

  #open(): H1Connection {
    const conn = new H1Connection(this, this.#settings);
    this.#all.add(conn);
    return conn;
  }

  /** The oldest waiting request not aborted meanwhile. */
  #nextQueued(): H1Request | null {
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const req = queue[this.#queueHead] as H1Request;
      queue[this.#queueHead] = undefined as unknown as H1Request;
      this.#queueHead++;
      if (this.#queueHead === queue.length) {
        queue.length = 0;
        this.#queueHead = 0;
      }
      if (!req.done) return req;
    }
    return null;
  }

  #checkClosed(): void {
    if (!this.#closing || this.#all.size > 0 || this.#closeWaiters.length === 0) return;
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function net_isIP(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

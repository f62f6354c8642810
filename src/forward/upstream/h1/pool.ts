// The HTTP/1.1 connections to one node: the pool semantics of
// ../upstream-pool.ts (idle reused last-in first-out, at most `connections`,
// requests beyond wait in order), with undici Pool's option names and
// defaults, so that switching clients changes no behaviour.
import type { Dispatcher } from 'undici';
import { H1Connection, type ConnectionOwner, type ConnectionSettings, MAX_RESPONSE_HEAD } from './connection';
import { H1Request, type H1Handler } from './request';
import { TlsSessionCache, type UpstreamTlsOptions } from '../../../tls/upstream';
import { ConnectionPool } from '../connection-pool';

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
  /** Told when a request is sent again after a stale kept-alive connection (the retries metric). */
  readonly onRetry?: () => void;
}

/** undici's defaults, so that switching clients changes no behaviour. */
const DEFAULTS = {
  connectTimeout: 10_000,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
  keepAliveTimeout: 4_000,
  keepAliveMaxTimeout: 600_000,
} as const;

export class H1Pool extends ConnectionPool<Dispatcher.DispatchOptions, H1Request, H1Connection> implements ConnectionOwner {
  readonly #settings: ConnectionSettings;
  readonly #hostHeader: string;

  constructor(origin: string, options: H1PoolOptions = {}) {
    super(options.connections ?? 0, options.onRetry);
    const url = new URL(origin);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new TypeError(`unsupported origin ${origin}`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
    this.#hostHeader = url.host;
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

  protected newRequest(options: Dispatcher.DispatchOptions, handler: H1Handler): H1Request {
    return new H1Request(options, handler, this.#hostHeader);
  }

  protected newConnection(): H1Connection {
    return new H1Connection(this, this.#settings);
  }
}

function net_isIP(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

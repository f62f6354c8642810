// One connection pool per node in each forwarding thread: keep-alive
// connections sized and timed from the node's CONFIG (MCMP.md §5.12: smax,
// ttl, ping, Timeout). A pool is replaced when its node's address or settings
// change and closed when the node leaves the tables. HTTP nodes use undici's
// Pool or the purpose-built HTTP/1.1 client (h1/), chosen by
// MCMP_EDGE_UPSTREAM=undici|h1; ajp nodes the AJP13 client (ajp/). All take
// the same dispatch handler.
import type { Dispatcher } from 'undici';
import { undici } from '../undici-module';
import type { NodeRow } from '../../slots/rows';
import type { Logger } from '../../log';
import { AjpPool } from './ajp/pool';
import { DEFAULT_PACKET_SIZE } from './ajp/protocol';
import type { ForwardOptions } from './ajp/request';
import { serverNameFor, upstreamTlsOptions, VERIFY_BY_DEFAULT, type UpstreamTlsOptions } from '../../tls/upstream';
import { H1Pool } from './h1/pool';
import { TRAFFIC_LIMIT_DEFAULTS } from '../limits';

export type { ForwardOptions } from './ajp/request';

/** What the exchange needs from a node's pool, whichever client backs it. */
export interface UpstreamPool {
  dispatch(options: ForwardOptions, handler: Dispatcher.DispatchHandlers): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export type UpstreamClient = 'undici' | 'h1';

/**
 * The default client when MCMP_EDGE_UPSTREAM is not set: h1, which passes every
 * forward/e2e test undici passes and measured less CPU per request in the
 * bench (`--edge-upstream undici,h1`); undici stays one variable away.
 */
export const DEFAULT_UPSTREAM_CLIENT: UpstreamClient = 'h1';

export class UpstreamClientError extends Error {
  readonly code = 'ERR_MCMP_EDGE_UPSTREAM_CLIENT';
  constructor(value: string) {
    super(`MCMP_EDGE_UPSTREAM must be undici or h1, got ${JSON.stringify(value)}`);
    this.name = 'UpstreamClientError';
  }
}

/** The client named by MCMP_EDGE_UPSTREAM (read once per thread, when this module loads). */
export function upstreamClientFrom(value: string | undefined): UpstreamClient {
  if (value === undefined || value === '') return DEFAULT_UPSTREAM_CLIENT;
  const v = value.trim().toLowerCase();
  if (v === 'undici' || v === 'h1') return v;
  throw new UpstreamClientError(value);
}

const UPSTREAM_CLIENT = upstreamClientFrom(process.env['MCMP_EDGE_UPSTREAM']);

/** undici's default when a node has no Timeout (0): the server default of MCMP.md §5.12. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** AJP: idle time of a pooled connection when the node has no ttl (undici's keep-alive default, as for HTTP nodes). */
const DEFAULT_AJP_KEEP_ALIVE_MS = 4_000;
/** AJP: a pooled connection idle this long gets a CPING before it carries a request (D-AJP-4). */
export const AJP_PING_IDLE_MS = 1_000;

/** What the AJP pools of a thread share: the packet size and the listener clients connect to. */
export interface AjpThreadSettings {
  /** ProxyIOBufferSize (AJP.md §1.4). */
  packetSize: number;
  /** The listener's address when it is bound to one ('' for a wildcard: then unknown). */
  localAddress: string;
  /** The listener's port (known once it listens). */
  localPort: number;
}

interface Upstream {
  row: NodeRow;
  pool: UpstreamPool;
}

/** The origin undici connects to, or null for ajp (not an HTTP origin). */
export function nodeOrigin(node: NodeRow): string | null {
  let scheme: string;
  switch (node.type) {
    case 'http':
    case 'ws':
      scheme = 'http';
      break;
    case 'https':
    case 'wss':
      scheme = 'https';
      break;
    default:
      return null;
  }
  const host = node.host.includes(':') && !node.host.startsWith('[') ? `[${node.host}]` : node.host;
  return `${scheme}://${host}:${node.port}`;
}

/** Whether two rows of a node need the same pool. */
function samePoolSettings(a: NodeRow, b: NodeRow): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.type === b.type &&
    a.smax === b.smax &&
    a.ttlUs === b.ttlUs &&
    a.pingUs === b.pingUs &&
    a.timeoutUs === b.timeoutUs &&
    a.responseFieldSize === b.responseFieldSize &&
    a.ajpSecret === b.ajpSecret
  );
}

const ms = (us: number): number => Math.max(1, Math.round(us / 1000));

/** The AJP13 pool of an ajp node: smax, ttl, ping (connect and CPONG timeout), Timeout, AJPSecret. */
function createAjpPool(node: NodeRow, ajp: AjpThreadSettings, defaultTimeoutMs: number, onRetry: () => void): UpstreamPool {
  return new AjpPool({
    onRetry,
    host: node.host.startsWith('[') ? node.host.slice(1, -1) : node.host,
    port: node.port,
    connections: node.smax > 0 ? node.smax : 0,
    packetSize: ajp.packetSize,
    pingTimeoutMs: node.pingUs > 0 ? ms(node.pingUs) : DEFAULT_CONNECT_TIMEOUT_MS,
    pingIdleMs: AJP_PING_IDLE_MS,
    // No Timeout in CONFIG: the proxy's default (--node-timeout), as for HTTP nodes.
    responseTimeoutMs: node.timeoutUs > 0 ? ms(node.timeoutUs) : defaultTimeoutMs,
    keepAliveMs: node.ttlUs > 0 ? ms(node.ttlUs) : DEFAULT_AJP_KEEP_ALIVE_MS,
    secret: node.ajpSecret,
    localAddress: ajp.localAddress,
    localPort: ajp.localPort,
  });
}

function createPool(
  origin: string,
  node: NodeRow,
  client: UpstreamClient,
  defaultTimeoutMs: number,
  tlsOptions: UpstreamTlsOptions,
  onTlsError: (err: Error) => void,
  onRetry: () => void,
): UpstreamPool {
  // No Timeout in CONFIG: the proxy's default (--node-timeout), never the client library's 300 s.
  const timeout = node.timeoutUs > 0 ? ms(node.timeoutUs) : defaultTimeoutMs;
  const ttl = node.ttlUs > 0 ? ms(node.ttlUs) : undefined;
  const Client = client === 'h1' ? H1Pool : undici().Pool;
  return new Client(origin, {
    connections: node.smax > 0 ? node.smax : null,
    pipelining: 1,
    connectTimeout: node.pingUs > 0 ? ms(node.pingUs) : DEFAULT_CONNECT_TIMEOUT_MS,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    keepAliveTimeout: ttl,
    // A node's Keep-Alive hint may shorten the idle time, never stretch it past ttl.
    keepAliveMaxTimeout: ttl,
    // ResponseFieldSize (non-AJP nodes): the largest response head the node may send.
    maxHeaderSize: node.responseFieldSize > 0 ? node.responseFieldSize : undefined,
    // SSLProxyVerify (require by default), SNI = the node's Host.
    connect: origin.startsWith('https:')
      ? { rejectUnauthorized: tlsOptions.rejectUnauthorized, secureContext: tlsOptions.secureContext, servername: serverNameFor(node.host) }
      : undefined,
    onTlsError,
    // undici's Pool has no such hook: its retries are not counted.
    ...(client === 'h1' && { onRetry }),
  });
}

export class NodeUpstreams {
  /** Indexed by node slot id. */
  readonly #byNode: Array<Upstream | undefined> = [];
  readonly #logger: Logger;
  readonly #client: UpstreamClient;
  readonly #defaultTimeoutMs: number;
  /** Read when an ajp node's pool is made; the server fills in the port once it listens. */
  readonly ajp: AjpThreadSettings;
  /** TLS towards https/wss nodes, shared by every pool and tunnel of the thread. */
  readonly tls: UpstreamTlsOptions;
  /** node route + reason already logged, so that a refused certificate is one line, not one per request. */
  readonly #tlsWarned = new Set<string>();
  /** Counts a stale-connection retry against a node slot (the retries metric). */
  readonly #retried: (node: number) => void;

  constructor(
    logger: Logger,
    client: UpstreamClient = UPSTREAM_CLIENT,
    defaultTimeoutMs: number = TRAFFIC_LIMIT_DEFAULTS.nodeTimeoutMs,
    ajp: Partial<AjpThreadSettings> = {},
    tls: UpstreamTlsOptions = upstreamTlsOptions(VERIFY_BY_DEFAULT),
    retried: (node: number) => void = () => undefined,
  ) {
    this.#retried = retried;
    this.#logger = logger;
    this.#client = client;
    this.#defaultTimeoutMs = defaultTimeoutMs;
    this.ajp = { packetSize: ajp.packetSize ?? DEFAULT_PACKET_SIZE, localAddress: ajp.localAddress ?? '', localPort: ajp.localPort ?? 0 };
    this.tls = tls;
  }

  /** Which client the pools use. */
  get client(): UpstreamClient {
    return this.#client;
  }

  /** The pool for this node row. */
  pool(node: NodeRow): UpstreamPool {
    const current = this.#byNode[node.id];
    if (current !== undefined && current.row === node) return current.pool;
    if (current !== undefined && samePoolSettings(current.row, node)) {
      current.row = node;
      return current.pool;
    }
    if (current !== undefined) {
      this.#byNode[node.id] = undefined;
      this.#retire(current);
    }
    const origin = nodeOrigin(node);
    const id = node.id;
    const onRetry = (): void => this.#retried(id);
    const pool =
      origin === null
        ? createAjpPool(node, this.ajp, this.#defaultTimeoutMs, onRetry)
        : createPool(origin, node, this.#client, this.#defaultTimeoutMs, this.tls, (err) => this.#tlsFailed(node, err), onRetry);
    this.#byNode[node.id] = { row: node, pool };
    return pool;
  }

  /** Closes the pools of nodes that are gone or changed (after a table change). */
  sync(nodes: ReadonlyArray<NodeRow | undefined>): void {
    for (let id = 0; id < this.#byNode.length; id++) {
      const current = this.#byNode[id];
      if (current === undefined) continue;
      const row = nodes[id];
      if (row !== undefined && samePoolSettings(current.row, row)) continue;
      this.#byNode[id] = undefined;
      this.#retire(current);
    }
  }

  /** Destroys every pool (thread stop: requests still running were cut before). */
  async destroy(): Promise<void> {
    const pools = this.#byNode.filter((u): u is Upstream => u !== undefined).map((u) => u.pool);
    this.#byNode.length = 0;
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }

  /** One warning per node and reason: the node is put in error by the exchange, never silently trusted. */
  #tlsFailed(node: NodeRow, err: Error): void {
    const reason = (err as { reason?: string }).reason ?? '';
    const key = `${node.route}\0${reason}`;
    if (this.#tlsWarned.has(key)) return;
    this.#tlsWarned.add(key);
    this.#logger.warn({ node: node.route, host: node.host, port: node.port, reason, err: err.message }, 'node TLS handshake failed (certificate not verified?); node in error');
  }

  /** Lets requests already running on the old pool finish, then closes it. */
  #retire(upstream: Upstream): void {
    upstream.pool.close().catch((err: unknown) => {
      this.#logger.debug({ err, node: upstream.row.route }, 'closing a node pool failed');
    });
  }
}

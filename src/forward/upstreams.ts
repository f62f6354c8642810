// One undici Pool per node in each forwarding thread: keep-alive connections
// sized and timed from the node's CONFIG (MCMP.md §5.12: smax, ttl, ping,
// Timeout). A pool is replaced when its node's address or settings change and
// closed when the node leaves the tables.
import { Pool } from 'undici';
import type { NodeRow } from '../cluster/types';
import type { Logger } from '../log';

/** undici's default when a node has no Timeout (0): the server default of MCMP.md §5.12. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface Upstream {
  row: NodeRow;
  pool: Pool;
}

/** The origin undici connects to, or null for a type this forwarder cannot speak (ajp). */
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
    a.timeoutUs === b.timeoutUs
  );
}

function createPool(origin: string, node: NodeRow): Pool {
  const ms = (us: number): number => Math.max(1, Math.round(us / 1000));
  const timeout = node.timeoutUs > 0 ? ms(node.timeoutUs) : undefined;
  const ttl = node.ttlUs > 0 ? ms(node.ttlUs) : undefined;
  return new Pool(origin, {
    connections: node.smax > 0 ? node.smax : null,
    pipelining: 1,
    connectTimeout: node.pingUs > 0 ? ms(node.pingUs) : DEFAULT_CONNECT_TIMEOUT_MS,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    keepAliveTimeout: ttl,
    // A node's Keep-Alive hint may shorten the idle time, never stretch it past ttl.
    keepAliveMaxTimeout: ttl,
    // httpd does not verify node certificates unless told to (SSLProxyVerify none).
    connect: origin.startsWith('https:') ? { rejectUnauthorized: false } : undefined,
  });
}

export class NodeUpstreams {
  /** Indexed by node slot id. */
  readonly #byNode: Array<Upstream | undefined> = [];
  readonly #logger: Logger;
  /** Nodes already reported as of a type that cannot be forwarded to. */
  readonly #warned = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The pool for this node row, or null when the node's type cannot be forwarded to. */
  pool(node: NodeRow): Pool | null {
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
    if (origin === null) {
      const key = `${node.route}/${node.type}`;
      if (!this.#warned.has(key)) {
        this.#warned.add(key);
        this.#logger.warn({ node: node.route, type: node.type }, 'node type not supported by the forwarder (HTTP/1.1 only); requests go to other nodes');
      }
      return null;
    }
    const pool = createPool(origin, node);
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

  /** Lets requests already running on the old pool finish, then closes it. */
  #retire(upstream: Upstream): void {
    upstream.pool.close().catch((err: unknown) => {
      this.#logger.debug({ err, node: upstream.row.route }, 'closing a node pool failed');
    });
  }
}

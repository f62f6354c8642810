// Real pieces for the forwarding tests: slot tables published through the
// primary's publisher, a real ForwardingPool (piscina threads, uWS), and
// node:http back ends on 127.0.0.1 with ephemeral ports. No tests here.
import { BALANCER_DEFAULTS, NODE_CONFIG_DEFAULTS } from '../../src/cluster/defaults';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Agent, request } from 'undici';
import { ContextStatus, type BalancerRow, type ContextRow, type HostRow, type NodeRow } from '../../src/slots/rows';
import { ForwardingPool, type ForwardingOptions } from '../../src/forward/pool';
import type { RoutingOptions } from '../../src/router/index';
import { ClusterCounters } from '../../src/slots/counters';
import { SlotTables } from '../../src/slots/tables';
import type { TableSizes } from '../../src/slots/types';

export const SIZES: TableSizes = { maxNode: 8, maxHost: 8, maxContext: 32, maxBalancer: 8 };

export const ROUTING: RoutingOptions = {
  useAlias: false,
  responseStatusCodeOnNoContext: 404,
  deterministicFailover: false,
  retryIntervalSeconds: 60,
};

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function nodeRow(id: number, route: string, port: number, over: Partial<NodeRow> = {}): NodeRow {
  return { ...NODE_CONFIG_DEFAULTS, id, route, balancer: 'mycluster', host: '127.0.0.1', port, type: 'http', removed: false, ...over };
}

export function balancerRow(id: number, over: Partial<BalancerRow> = {}): BalancerRow {
  // Java's StickySessionForce (No) rather than the proxy's default; tests that need it say so.
  return { ...BALANCER_DEFAULTS, id, name: 'mycluster', stickySessionForce: false, ...over };
}

export function contextRow(id: number, path: string, node: number, status: ContextStatus = ContextStatus.Enabled): ContextRow {
  return { id, path, vhost: 1, node, status };
}

export function hostRow(id: number, alias: string, node: number): HostRow {
  return { id, alias, vhost: 1, node };
}

// ------------------------------------------------------------------ back ends

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly server: http.Server;
  /** Requests seen, in order. */
  readonly seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse, name: string) => void;

/** Answers JSON {backend, method, url, headers} after reading the whole request body (its length in `bodyBytes`). */
export const echoHandler: BackendHandler = (req, res, name) => {
  let bodyBytes = 0;
  req.on('data', (c: Buffer) => (bodyBytes += c.length));
  req.on('end', () => {
    const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, bodyBytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
};

export async function startBackend(name: string, handler: BackendHandler = echoHandler): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res, name);
  });
  // Keep-alive longer than the pools' ttl would let a request race a closing socket.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// -------------------------------------------------------------------- proxy

export interface Harness {
  readonly tables: SlotTables;
  readonly counters: ClusterCounters;
  readonly pool: ForwardingPool;
  readonly port: number;
  readonly origin: string;
  /** Sessions the threads reported. */
  readonly sessions: Array<{ sessionId: string; route: string; oldSessionId?: string }>;
  /** Publishes one batch of row changes (undefined frees a slot). */
  publish(change: {
    nodes?: Array<NodeRow | [number, undefined]>;
    balancers?: BalancerRow[];
    hosts?: HostRow[];
    contexts?: Array<ContextRow | [number, undefined]>;
  }): void;
  /** Publishes a node + context rows for a back end and gives it a Load (lbfactor). */
  addNode(id: number, backend: { port: number }, contexts: Array<[number, string]>, over?: Partial<NodeRow>, load?: number): NodeRow;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<Pick<ForwardingOptions, 'threads' | 'docroot' | 'drainTimeoutMs' | 'maxSessionId' | 'useNocanon' | 'ajpPacketSize' | 'addHeaders'>> {
  routing?: Partial<RoutingOptions>;
  balancer?: Partial<BalancerRow>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tables = SlotTables.create(SIZES);
  const counters = new ClusterCounters(SIZES.maxNode, SIZES.maxContext);
  const logger = pino({ level: 'silent' });
  const pool = new ForwardingPool(
    {
      listenHost: '127.0.0.1',
      listenPort: 0,
      threads: opts.threads ?? 2,
      tablesBuffer: tables.buffer,
      countersBuffer: counters.buffer,
      sizes: SIZES,
      routing: { ...ROUTING, ...opts.routing },
      docroot: opts.docroot,
      useNocanon: opts.useNocanon,
      ajpPacketSize: opts.ajpPacketSize,
      addHeaders: opts.addHeaders,
      drainTimeoutMs: opts.drainTimeoutMs ?? 2000,
      logLevel: 'silent',
      maxSessionId: opts.maxSessionId ?? 0,
    },
    logger,
  );
  const sessions: Harness['sessions'] = [];
  pool.onSessions((batch) => sessions.push(...batch));
  const publish: Harness['publish'] = (change) => {
    const p = tables.publisher;
    p.begin();
    for (const b of change.balancers ?? []) p.balancer(b.id, b);
    for (const n of change.nodes ?? []) {
      if (Array.isArray(n)) p.node(n[0], undefined);
      else p.node(n.id, n);
    }
    for (const h of change.hosts ?? []) p.host(h.id, h);
    for (const c of change.contexts ?? []) {
      if (Array.isArray(c)) p.context(c[0], undefined);
      else p.context(c.id, c);
    }
    p.commit();
  };
  publish({ balancers: [balancerRow(0, opts.balancer)] });
  const { port } = await pool.start();
  return {
    tables,
    counters,
    pool,
    port,
    origin: `http://127.0.0.1:${port}`,
    sessions,
    publish,
    addNode(id, backend, contexts, over = {}, load = 100) {
      const row = nodeRow(id, over.route ?? `node${id}`, backend.port, over);
      counters.resetNode(id, 0);
      counters.applyLoad(id, load, nowSeconds());
      for (const [cid] of contexts) counters.resetContext(cid);
      publish({ nodes: [row], contexts: contexts.map(([cid, path]) => contextRow(cid, path, id)) });
      return row;
    },
    close: () => pool.stop(),
  };
}

// ------------------------------------------------------------------- client

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through a fresh-per-call keep-alive agent (undici); the body is read whole. */
export async function fetchText(
  agent: Agent,
  origin: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const res = await request(`${origin}${path}`, {
    dispatcher: agent,
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers,
    body: init.body,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

export function json(reply: Reply): { backend: string; method: string; url: string; headers: Record<string, string>; bodyBytes: number } {
  return JSON.parse(reply.body) as ReturnType<typeof json>;
}

export function newAgent(connections = 8): Agent {
  return new Agent({ connections, keepAliveTimeout: 10_000 });
}

/** Polls `check` every 10 ms until it is true or `ms` passed. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ClusterAgent: a Node HTTP server as a mod_cluster node. It registers with
// every proxy as the Java listener does (INFO, CONFIG, ENABLE-APP per context,
// STATUS), reports a load factor every period, keeps each proxy in step
// (proxy-link.ts) and leaves gracefully: DISABLE-APP, STOP-APP until the
// proxies count no request for the context (or the stop timeout), REMOVE-APP,
// then REMOVE-APP /* — the order of the reference trace.
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { AdvertiseListener, type AdvertiseOptions } from './advertise-listener';
import { AGENT_DEFAULTS } from './defaults';
import { AgentConfigError, AgentStateError } from './errors';
import { DynamicLoadProvider, type DynamicLoadOptions, type LoadMetric, type LoadProvider } from './load/dynamic';
import { defaultNodeMetrics } from './load/node-metrics';
import { McmpClient, type McmpTlsOptions } from './mcmp-client';
import { parseProxyAddress, formatProxyAddress, type ProxyAddress, type ProxyAddressInput } from './proxy-address';
import { ProxyLink, type NodeSource, type ProxyState } from './proxy-link';
import type { ContextState } from './reset';
import { contextRequest, nodeRequest, requestsInStopReply, type AppMethod, type McmpRequest, type NodeDescription } from './requests';
import { defaultRoute } from './route-name';
import { SessionCookies } from './sessions';

export interface ClusterAgentOptions {
  /** The server whose requests the proxies send here; host, port and type are read from it. */
  readonly server?: http.Server;
  /** The address the proxies connect to (default: the server's; its "any" address is replaced by this side of the MCMP connection). */
  readonly host?: string;
  readonly port?: number;
  /** Default: https for a TLS server, else http. */
  readonly type?: 'http' | 'https' | 'ajp';
  /** JVMRoute (default: a name-based UUID of host:port, as Java derives one). */
  readonly route?: string;
  /** MCMP endpoints: `host:port`, `[v6]:port`, or `{ host, port }`. */
  readonly proxies?: readonly ProxyAddressInput[];
  /**
   * Discover proxies by advertise (multicast, digest checked). As in Java the
   * default is to listen only when no `proxies` are given; `false` never listens.
   */
  readonly advertise?: boolean | AdvertiseOptions;
  /** Context paths served (default `['/']`). */
  readonly contexts?: readonly string[];
  /** Host names of the node (default `['localhost']`); sent lower-cased. */
  readonly aliases?: readonly string[];
  readonly balancer?: string;
  /** Load-balancing group (CONFIG `Domain`). */
  readonly lbGroup?: string;
  readonly stickySession?: boolean;
  readonly stickySessionCookie?: string;
  readonly stickySessionPath?: string;
  readonly stickySessionRemove?: boolean;
  readonly stickySessionForce?: boolean;
  readonly waitWorker?: number;
  readonly maxAttempts?: number;
  readonly flushPackets?: boolean;
  readonly flushWait?: number;
  readonly ping?: number;
  readonly smax?: number;
  readonly ttl?: number;
  readonly timeout?: number;
  /** Milliseconds between STATUS reports (default 10 000). */
  readonly statusInterval?: number;
  /** Milliseconds stop() waits for the proxies to finish requests (default 10 000). */
  readonly stopTimeout?: number;
  /** Milliseconds for one MCMP exchange (default 20 000). */
  readonly socketTimeout?: number;
  /** Metrics and history of the dynamic load provider, or any provider. */
  readonly load?: (DynamicLoadOptions & { readonly metrics?: readonly LoadMetric[] }) | LoadProvider;
  /** MCMP over https, with a client certificate when the proxy asks for one. */
  readonly tls?: McmpTlsOptions;
  /** Java's proxyURL: a prefix of every MCMP target. */
  readonly proxyPath?: string;
  /** Stop gracefully on these signals (true: SIGTERM and SIGINT), then close the server. */
  readonly handleSignals?: boolean | readonly NodeJS.Signals[];
}

export interface ProxyStatus {
  readonly address: string;
  readonly state: ProxyState;
  readonly error: Error | undefined;
}

export interface ClusterAgentEvents {
  /** A proxy was discovered by advertise. */
  discovered: [address: string];
  /** An advertise datagram was dropped (bad digest, not an advertisement…). */
  advertiseDropped: [reason: string];
  /** A proxy changed state (ok, error, down). */
  proxy: [status: ProxyStatus];
  /** The load factor of a period, as sent in STATUS. */
  load: [load: number];
  stopped: [];
}

type Phase = 'new' | 'running' | 'stopping' | 'stopped';

function isLoadProvider(x: ClusterAgentOptions['load']): x is LoadProvider {
  return x !== undefined && typeof (x as LoadProvider).next === 'function';
}

function isAnyAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The form CONFIG wants: IPv6 in brackets, IPv4-mapped as IPv4. */
function configHost(host: string): string {
  const plain = host.startsWith('::ffff:') && net.isIPv4(host.slice(7)) ? host.slice(7) : host;
  return net.isIPv6(plain) ? `[${plain}]` : plain;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClusterAgent extends EventEmitter<ClusterAgentEvents> {
  readonly #opts: ClusterAgentOptions;
  readonly #links = new Map<string, ProxyLink>();
  readonly #contexts = new Map<string, ContextState>();
  readonly #aliases: string[];
  readonly #load: LoadProvider;
  readonly #statusIntervalMs: number;
  #phase: Phase = 'new';
  #route: string | undefined;
  #host: string | undefined;
  #port: number | undefined;
  #type: 'http' | 'https' | 'ajp' = 'http';
  #lastLoad = -1;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  #stopping: Promise<boolean> | undefined;
  #sessions: SessionCookies | undefined;
  #advertise: AdvertiseListener | undefined;
  /** Counts the wrapped server's requests until their response closes (the requests metric). */
  readonly #countRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.#inFlight++;
    res.once('close', () => this.#inFlight--);
  };

  constructor(opts: ClusterAgentOptions) {
    super();
    this.#opts = opts;
    if (opts.server === undefined && opts.port === undefined) throw new AgentConfigError('ClusterAgent: give a server or a port');
    this.#statusIntervalMs = opts.statusInterval ?? AGENT_DEFAULTS.statusIntervalMs;
    if (!(this.#statusIntervalMs > 0)) throw new AgentConfigError('statusInterval: expected milliseconds > 0');
    this.#aliases = (opts.aliases ?? AGENT_DEFAULTS.aliases).map((a) => a.toLowerCase());
    if (this.#aliases.length === 0 || this.#aliases.some((a) => a === '' || a.includes(','))) throw new AgentConfigError('aliases: non-empty names without commas');
    for (const c of opts.contexts ?? AGENT_DEFAULTS.contexts) this.#contexts.set(this.#checkContext(c), 'enabled');
    const load = opts.load;
    this.#load = isLoadProvider(load) ? load : new DynamicLoadProvider(load?.metrics ?? defaultNodeMetrics(() => this.#inFlight), load ?? {});
    opts.server?.on('request', this.#countRequest);
    for (const p of opts.proxies ?? []) this.#addLink(parseProxyAddress(p));
  }

  /** The JVMRoute (known once started, or at once when configured). */
  get route(): string | undefined {
    return this.#route ?? this.#opts.route;
  }

  /** Requests the wrapped server is answering now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The load factor last sent (-1 before the first period). */
  get load(): number {
    return this.#lastLoad;
  }

  get proxies(): ProxyStatus[] {
    return [...this.#links.values()].map((l) => ({ address: l.name, state: l.state, error: l.lastError }));
  }

  /** Session cookies that carry this node's route (cookie name from stickySessionCookie). */
  get sessions(): SessionCookies {
    const route = this.route;
    if (route === undefined) throw new AgentStateError('sessions: the route is known once the agent has started');
    this.#sessions ??= new SessionCookies(route, this.#opts.stickySessionCookie ?? AGENT_DEFAULTS.stickySessionCookie);
    return this.#sessions;
  }

  /** Registers with every proxy; resolves once each was tried (see `proxies` for the outcome). */
  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new AgentStateError(`start: the agent is ${this.#phase}`);
    this.#phase = 'running';
    await this.#resolveAddress();
    this.#lastLoad = this.#load.next();
    this.emit('load', this.#lastLoad);
    await this.#listenForAdvertise();
    await Promise.all([...this.#links.values()].map((l) => l.register()));
    this.#timer = setInterval(() => this.#period(), this.#statusIntervalMs);
    this.#timer.unref();
    this.#wireSignals();
  }

  /** Adds a proxy (advertise discovery uses this); registers at once when running. */
  addProxy(address: ProxyAddressInput): void {
    const link = this.#addLink(parseProxyAddress(address));
    if (link !== undefined && this.#phase === 'running') void link.register();
  }

  async #listenForAdvertise(): Promise<void> {
    const opt = this.#opts.advertise;
    if (opt === false || (opt === undefined && (this.#opts.proxies ?? []).length > 0)) return;
    const listener = new AdvertiseListener(typeof opt === 'object' ? opt : {});
    listener.on('proxy', (address) => {
      if (this.#phase !== 'running') return;
      this.emit('discovered', formatProxyAddress(address));
      this.addProxy(address);
    });
    listener.on('dropped', (reason) => this.emit('advertiseDropped', reason));
    await listener.start();
    this.#advertise = listener;
  }

  /** A proxy that answered SYNTAX is tried again. */
  reviveProxies(): void {
    for (const l of this.#links.values()) l.revive();
  }

  enableContext(path: string): Promise<void> {
    return this.#setContext(path, 'enabled', 'ENABLE-APP');
  }

  disableContext(path: string): Promise<void> {
    return this.#setContext(path, 'disabled', 'DISABLE-APP');
  }

  /** DISABLE-APP, then STOP-APP until no proxy counts a request (or the timeout); the context stays known as stopped. */
  async stopContext(path: string, timeoutMs = this.#opts.stopTimeout ?? AGENT_DEFAULTS.stopTimeoutMs): Promise<boolean> {
    const ctx = this.#checkContext(path);
    this.#requireRunning('stopContext');
    const drained = await this.#drain(ctx, Date.now() + timeoutMs);
    this.#contexts.set(ctx, 'stopped');
    return drained;
  }

  /** Drains the context (as stopContext), then REMOVE-APP; the context is forgotten. */
  async removeContext(path: string, timeoutMs = this.#opts.stopTimeout ?? AGENT_DEFAULTS.stopTimeoutMs): Promise<boolean> {
    const ctx = this.#checkContext(path);
    this.#requireRunning('removeContext');
    const drained = this.#contexts.get(ctx) === 'stopped' ? true : await this.#drain(ctx, Date.now() + timeoutMs);
    this.#contexts.delete(ctx);
    await this.#broadcast(contextRequest('REMOVE-APP', this.#requireRoute(), this.#aliases, ctx));
    return drained;
  }

  /** Java's enable(): ENABLE-APP /* and every context enabled. */
  async enable(): Promise<void> {
    this.#requireRunning('enable');
    for (const c of this.#contexts.keys()) this.#contexts.set(c, 'enabled');
    await this.#broadcast(nodeRequest('ENABLE-APP', this.#requireRoute()));
  }

  /** Java's disable(): DISABLE-APP /*; sticky sessions still reach the node. */
  async disable(): Promise<void> {
    this.#requireRunning('disable');
    for (const c of this.#contexts.keys()) this.#contexts.set(c, 'disabled');
    await this.#broadcast(nodeRequest('DISABLE-APP', this.#requireRoute()));
  }

  /**
   * Leaves the cluster: for each context DISABLE-APP, STOP-APP until the
   * proxies count no request for it or the timeout, REMOVE-APP; then
   * REMOVE-APP /*. Resolves true when every context drained in time.
   */
  stop(opts: { timeout?: number } = {}): Promise<boolean> {
    if (this.#phase === 'new') {
      this.#phase = 'stopped';
      return Promise.resolve(true);
    }
    return (this.#stopping ??= this.#stop(opts.timeout ?? this.#opts.stopTimeout ?? AGENT_DEFAULTS.stopTimeoutMs));
  }

  async #stop(timeoutMs: number): Promise<boolean> {
    this.#phase = 'stopping';
    let drainedAll = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#advertise?.close();
    const deadline = Date.now() + timeoutMs;
    const route = this.#requireRoute();
    for (const [ctx, state] of this.#contexts) {
      if (state !== 'stopped' && !(await this.#drain(ctx, deadline))) drainedAll = false;
      await this.#broadcast(contextRequest('REMOVE-APP', route, this.#aliases, ctx));
    }
    await this.#broadcast(nodeRequest('REMOVE-APP', route));
    await Promise.all([...this.#links.values()].map((l) => l.close()));
    this.#unwireSignals();
    this.#opts.server?.removeListener('request', this.#countRequest);
    this.#phase = 'stopped';
    this.emit('stopped');
    return drainedAll;
  }

  /** DISABLE-APP, then STOP-APP while the proxies still count requests; true when they reached 0. */
  async #drain(ctx: string, deadline: number): Promise<boolean> {
    const route = this.#requireRoute();
    this.#contexts.set(ctx, 'disabled');
    await this.#broadcast(contextRequest('DISABLE-APP', route, this.#aliases, ctx));
    this.#contexts.set(ctx, 'stopped');
    for (;;) {
      const replies = await this.#broadcast(contextRequest('STOP-APP', route, this.#aliases, ctx));
      const pending = replies.reduce((sum, body) => sum + requestsInStopReply(body), 0);
      if (pending <= 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(AGENT_DEFAULTS.drainPollMs, left));
    }
  }

  async #setContext(path: string, state: ContextState, method: AppMethod): Promise<void> {
    const ctx = this.#checkContext(path);
    this.#contexts.set(ctx, state);
    if (this.#phase === 'running') await this.#broadcast(contextRequest(method, this.#requireRoute(), this.#aliases, ctx));
  }

  /** Sends to every proxy that is OK; returns the bodies of the replies received. */
  async #broadcast(req: McmpRequest): Promise<string[]> {
    const replies = await Promise.all([...this.#links.values()].map((l) => l.send(req)));
    return replies.flatMap((r) => (r === undefined ? [] : [r.body]));
  }

  #period(): void {
    if (this.#phase !== 'running') return;
    this.#lastLoad = this.#load.next();
    this.emit('load', this.#lastLoad);
    const route = this.#requireRoute();
    for (const l of this.#links.values()) void l.status(route, this.#lastLoad);
  }

  #addLink(address: ProxyAddress): ProxyLink | undefined {
    const key = formatProxyAddress(address);
    if (this.#links.has(key)) return undefined;
    const client = new McmpClient(address, { tls: this.#opts.tls, proxyPath: this.#opts.proxyPath, socketTimeoutMs: this.#opts.socketTimeout });
    const link = new ProxyLink(client, this.#nodeSource, AGENT_DEFAULTS.retryMinMs, this.#statusIntervalMs);
    link.on('state', (state, error) => this.emit('proxy', { address: key, state, error }));
    this.#links.set(key, link);
    return link;
  }

  readonly #nodeSource: NodeSource = {
    describe: (localAddress) => this.#describe(localAddress),
    contexts: () => this.#contexts,
    currentLoad: () => this.#lastLoad,
  };

  #describe(localAddress: string | undefined): NodeDescription {
    const o = this.#opts;
    let host = this.#host;
    if (host === undefined || isAnyAddress(host)) host = localAddress ?? os.hostname();
    return {
      route: this.#requireRoute(),
      host: configHost(host),
      port: this.#port as number,
      type: this.#type,
      balancer: o.balancer,
      lbGroup: o.lbGroup,
      stickySession: o.stickySession,
      stickySessionCookie: o.stickySessionCookie,
      stickySessionPath: o.stickySessionPath,
      stickySessionRemove: o.stickySessionRemove,
      stickySessionForce: o.stickySessionForce,
      waitWorker: o.waitWorker,
      maxAttempts: o.maxAttempts,
      flushPackets: o.flushPackets,
      flushWait: o.flushWait,
      ping: o.ping,
      smax: o.smax,
      ttl: o.ttl,
      timeout: o.timeout,
      aliases: this.#aliases,
      contexts: [...this.#contexts.keys()],
    };
  }

  async #resolveAddress(): Promise<void> {
    const { server } = this.#opts;
    if (server !== undefined && !server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
    const bound = server?.address();
    const addr = bound !== null && typeof bound === 'object' ? bound : undefined;
    this.#host = this.#opts.host ?? addr?.address;
    this.#port = this.#opts.port ?? addr?.port;
    if (this.#port === undefined) throw new AgentConfigError('ClusterAgent: the server has no TCP address; give host and port');
    this.#type = this.#opts.type ?? (server instanceof tls.Server ? 'https' : 'http');
    const named = this.#host === undefined || isAnyAddress(this.#host) ? os.hostname() : this.#host;
    this.#route = this.#opts.route ?? defaultRoute(named, this.#port);
  }

  #checkContext(path: string): string {
    const ctx = path === '' ? '/' : path;
    if (!ctx.startsWith('/') || ctx.includes(',')) throw new AgentConfigError(`context ${JSON.stringify(path)}: a path starting with / and without commas`);
    return ctx;
  }

  #requireRoute(): string {
    const r = this.route;
    if (r === undefined) throw new AgentStateError('the agent has not started');
    return r;
  }

  #requireRunning(what: string): void {
    if (this.#phase !== 'running') throw new AgentStateError(`${what}: the agent is ${this.#phase}`);
  }

  #wireSignals(): void {
    const h = this.#opts.handleSignals;
    if (h === undefined || h === false) return;
    const signals: readonly NodeJS.Signals[] = h === true ? ['SIGTERM', 'SIGINT'] : h;
    for (const sig of signals) {
      const handler = (): void => {
        void this.stop().then(() => {
          const server = this.#opts.server;
          server?.close();
          server?.closeIdleConnections();
          // The default action (exit) when nobody else listens for the signal.
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        });
      };
      process.once(sig, handler);
      this.#signalHandlers.push([sig, handler]);
    }
  }

  #unwireSignals(): void {
    for (const [sig, handler] of this.#signalHandlers) process.removeListener(sig, handler);
    this.#signalHandlers = [];
  }
}

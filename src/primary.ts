// The primary thread: owns MCMP, the authoritative tables, the maintenance
// tick and the forwarding threads. It never forwards client traffic.
import { randomUUID } from 'node:crypto';
import { AdvertiseSender } from './advertise/sender';
import { advertiseSettings, type AdvertiseSettings } from './advertise/settings';
import { parseCommandLine, type ProxyOptions } from './options/args';
import { isLiveOption, planReload } from './options/reload';
import { ClusterState } from './cluster/state';
import { Maintenance } from './cluster/maintenance';
import { persistenceDirectory, TablePersistence } from './cluster/persist';
import { NetProber } from './cluster/probe';
import { maxMcmpBodySize, RELEASE } from './config/directives';
import { ForwardingPool } from './forward/pool';
import { AcceptGovernor, autoMaxConnections } from './forward/accept-governor';
import { raiseFdLimit } from './fd-limit';
import { lowerPrimaryPriority } from './primary-priority';
import type { Logger } from './log';
import { McmpHandler, type McmpReply } from './mcmp/handler';
import { AllowList } from './mcmp/http/allow';
import type { HttpRequest } from './mcmp/http/parser';
import { ManagerServer, type HttpResponse } from './mcmp/http/server';
import type { AdvertiseInfo } from './manager/advertise-line';
import { StatusPage } from './manager/status-page';
import { McmpMessageCounts } from './metrics/mcmp-messages';
import { MetricsOnDemand } from './metrics/on-demand';
import { ClusterCounters } from './slots/counters';
import { SlotTables, tableSizes } from './slots/tables';
import { packetSizeFrom } from './forward/upstream/ajp/protocol';
import { readPassphrase } from './tls/files';
import { managerTlsOptions } from './tls/manager';
import { TlsReloader } from './tls/reload';
import { checkTlsFiles } from './tls/settings';
import { upstreamTlsOptions } from './tls/upstream';

export const SERVER_HEADER = `mcmp-edge ${RELEASE}`;

/**
 * A part of the proxy that re-reads its own files on SIGHUP (the TLS
 * certificates, for one). It gets the freshly parsed options; it returns the
 * names of what it applied, or throws to say why nothing was.
 */
export type ReloadStep = (next: ProxyOptions) => Promise<readonly string[]> | readonly string[];

export interface RunningAddresses {
  readonly listen: { host: string; port: number };
  readonly manager: { host: string; port: number };
  /** --listen-tls addresses with their ports, in order. */
  readonly listenTls: Array<{ host: string; port: number }>;
}

export class McmpEdge {
  readonly options: ProxyOptions;
  readonly tables: SlotTables;
  readonly counters: ClusterCounters;
  readonly state: ClusterState;
  readonly #logger: Logger;
  readonly #handler: McmpHandler;
  readonly #page: StatusPage;
  readonly #server: ManagerServer;
  readonly #maintenance: Maintenance;
  readonly #pool: ForwardingPool;
  readonly #persistence: TablePersistence | undefined;
  /** Who may send MCMP, and who may see the status page and /metrics (the same list unless an httpd config split them). */
  readonly #mcmpCounts = new McmpMessageCounts();
  readonly #metrics: MetricsOnDemand;
  #mcmpAllow: AllowList;
  #pageAllow: AllowList;
  readonly #advertiseSettings: AdvertiseSettings | undefined;
  #advertiser: AdvertiseSender | undefined;
  readonly #tlsReloader: TlsReloader;
  #stopping: Promise<void> | undefined;
  #governor: AcceptGovernor | undefined;
  /** The options as last loaded (SIGHUP replaces the live parts). */
  #current: ProxyOptions;
  readonly #reloadSteps: Array<{ name: string; step: ReloadStep }> = [];
  #reloading: Promise<void> = Promise.resolve();
  readonly #onHangup = (): void => {
    this.#reloading = this.#reloading.then(() => this.reload());
  };
  readonly #onUsr1 = (): void => this.reopenAccessLog();

  constructor(options: ProxyOptions, logger: Logger) {
    this.options = options;
    this.#current = options;
    this.#logger = logger;
    const d = options.directives;
    const sizes = tableSizes(d);
    this.tables = SlotTables.create(sizes);
    this.counters = new ClusterCounters(sizes.maxNode, sizes.maxContext);
    this.state = new ClusterState({ directives: d, publisher: this.tables.publisher, counters: this.counters });
    // Checked once already by the command line (exit 2); read here for the PEM of --upstream-ca.
    const tlsFiles = checkTlsFiles(options.tls);
    const upstreamTls = { verify: d.SSLProxyVerify !== 0, caPem: tlsFiles.upstreamCaPem };
    const prober = new NetProber({ enableOptions: d.EnableOptions, maxConcurrent: d.ModProxyClusterThreadCount, tls: upstreamTlsOptions(upstreamTls), logger });
    const startTimeUs = BigInt(Date.now()) * 1000n;
    this.#handler = new McmpHandler({ state: this.state, directives: d, prober, startTimeUs, logger });
    this.#advertiseSettings = advertiseSettings(d, options.manager);
    this.#page = new StatusPage({
      state: this.state,
      handler: this.#handler,
      directives: d,
      path: options.managerPath,
      nonce: randomUUID(),
      advertiseInfo: () => this.#advertiseInfo(),
    });
    this.#mcmpAllow = AllowList.parse(options.allow);
    this.#pageAllow = AllowList.parse(options.pageAllow ?? options.allow);
    this.#server = new ManagerServer({
      host: options.manager.host,
      port: options.manager.port,
      allow: connectionAllowList(options),
      ...(options.managerKeepAliveTimeoutMs !== undefined && { keepAliveTimeoutMs: options.managerKeepAliveTimeoutMs }),
      methods: new Set([...McmpHandler.METHODS, 'GET', 'HEAD']),
      maxBodySize: maxMcmpBodySize(d),
      handler: (req) => this.#dispatch(req),
      serverHeader: SERVER_HEADER,
      maxConnections: options.managerMaxConnections,
      logger,
      ...(options.tls.manager === null ? {} : { tls: managerTlsOptions(options.tls.manager) }),
    });
    const persistDir = persistenceDirectory(d);
    this.#persistence = persistDir === undefined ? undefined : new TablePersistence({ state: this.state, directory: persistDir, logger });
    this.#maintenance = new Maintenance({ state: this.state, counters: this.counters, prober, directives: d, logger });
    this.#pool = new ForwardingPool(
      {
        listenHost: options.listen.host,
        listenPort: options.listen.port,
        threads: options.threads,
        tablesBuffer: this.tables.buffer,
        countersBuffer: this.counters.buffer,
        sizes,
        routing: {
          useAlias: d.UseAlias,
          responseStatusCodeOnNoContext: d.ResponseStatusCodeOnNoContext,
          deterministicFailover: d.DeterministicFailover,
          retryIntervalSeconds: 60,
        },
        docroot: options.docroot,
        useNocanon: d.UseNocanon,
        ajpPacketSize: packetSizeFrom(d.ProxyIOBufferSize),
        encodedSlashes: d.AllowEncodedSlashes,
        addHeaders: d.ProxyAddHeaders,
        drainTimeoutMs: options.drainTimeoutMs,
        limits: options.limits,
        logLevel: options.logLevel,
        maxSessionId: d.Maxsessionid,
        tls: options.tls.edge,
        tlsPassphrase: options.tls.edge?.passphraseFile === undefined ? undefined : readPassphrase('--tls-passphrase-file', options.tls.edge.passphraseFile),
        upstreamTls,
        accessLog: options.accessLog,
      },
      logger,
    );
    this.#metrics = new MetricsOnDemand({ state: this.state, counters: this.counters, mcmp: this.#mcmpCounts, threadRestarts: () => this.#pool.restarts() });
    this.#tlsReloader = new TlsReloader(
      options.tls,
      { edge: (passphrase) => this.#pool.reloadTls(passphrase), manager: (o) => this.#server.setSecureContext(o) },
      logger,
    );
    // SIGHUP: after the configuration, the certificate files (a bad pair was already warned about and changes nothing).
    this.addReloadStep('tls', async () => ((await this.#tlsReloader.reload()) && this.#tlsReloader.active ? ['TLS certificates'] : []));
    this.#pool.onSessions((batch) => {
      for (const s of batch) this.state.recordSession(s.sessionId, s.route, s.oldSessionId);
    });
  }

  async start(): Promise<RunningAddresses> {
    const fd = raiseFdLimit();
    const fdLimit = fd.after?.soft ?? Infinity;
    this.#logger.info({ soft: fd.after?.soft, hard: fd.after?.hard, softBefore: fd.before?.soft, raisedBy: fd.raisedBy, err: fd.error }, 'file descriptor limit');
    // PersistSlots: the saved tables are back before any MCMP or client traffic.
    if (this.#persistence !== undefined) {
      await this.#persistence.load();
      this.#persistence.start();
    }
    const manager = await this.#server.listen();
    const { port } = await this.#pool.start();
    const o = this.options;
    const maxConnections = o.maxConnections === 'auto' ? autoMaxConnections(fdLimit, o.managerMaxConnections) : o.maxConnections;
    this.#governor = new AcceptGovernor({ fdLimit, maxConnections, port: () => port, setAccepting: (on) => this.#pool.setAccepting(on), logger: this.#logger });
    this.#governor.start();
    this.#logger.info({ maxConnections: maxConnections || 'none', managerMaxConnections: o.managerMaxConnections }, 'connection caps');
    this.#maintenance.start();
    if (this.#advertiseSettings !== undefined && this.#stopping === undefined) {
      this.#advertiser = new AdvertiseSender({ settings: this.#advertiseSettings, managerListen: { host: manager.address, port: manager.port }, logger: this.#logger });
      await this.#advertiser.start();
    }
    process.on('SIGHUP', this.#onHangup);
    // Also without an access log: Node's own SIGUSR1 action would open the inspector.
    process.on('SIGUSR1', this.#onUsr1);
    const tlsPorts = this.#pool.tlsPorts;
    const listenTls = (this.options.tls.edge?.listen ?? []).map((l, i) => ({ host: l.host, port: tlsPorts[i] ?? l.port }));
    const addresses = { listen: { host: this.options.listen.host, port }, manager: { host: manager.address, port: manager.port }, listenTls };
    await lowerPrimaryPriority(this.options.primaryNice, this.#logger);
    this.#logger.info({ ...addresses, threads: this.#pool.threads }, 'mcmp-edge started');
    if (this.options.ignoredConfig.length > 0) {
      this.#logger.warn({ ignored: this.options.ignoredConfig }, 'httpd configuration: these lines have no effect in mcmp-edge');
    }
    return addresses;
  }

  /**
   * SIGHUP: certificates and keys are read again; new TLS handshakes (edge and
   * MCMP) use them, open connections stay. A bad pair is refused with a
   * warning and the old one stays. Resolves false then.
   */
  reloadTls(): Promise<boolean> {
    return this.#tlsReloader.reload();
  }

  /** SIGUSR1 (logrotate's postrotate): every thread opens the access log file again by its name. */
  reopenAccessLog(): void {
    const accessLog = this.options.accessLog ?? null;
    if (accessLog === null) {
      this.#logger.info('SIGUSR1: no access log to reopen');
      return;
    }
    this.#pool.reopenAccessLogs();
    this.#logger.info({ path: accessLog.path }, 'access log reopened');
  }

  /** Graceful stop: no new MCMP or client connections, in-flight requests drain, threads exit. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      process.off('SIGHUP', this.#onHangup);
      process.off('SIGUSR1', this.#onUsr1);
      this.#maintenance.stop();
      await this.#advertiser?.stop();
      this.#governor?.stop();
      await Promise.all([this.#server.close(), this.#pool.stop()]);
      await this.#persistence?.stop();
      this.#logger.info('mcmp-edge stopped');
    })();
    return this.#stopping;
  }

  #advertiseInfo(): AdvertiseInfo | undefined {
    const a = this.#advertiser?.describe();
    return a === undefined ? undefined : { ...a, serverName: a.host, virtualHost: a.managerListen };
  }

  /**
   * The hook for parts that reload their own files on SIGHUP (TLS
   * certificates): `step` runs after the configuration was read again.
   */
  addReloadStep(name: string, step: ReloadStep): void {
    this.#reloadSteps.push({ name, step });
  }

  /**
   * SIGHUP: reads the command line and --config again and applies what can
   * change while running (allow lists, log level, the routing and removal
   * directives, then the reload steps) without closing a connection. What
   * cannot change is named in a warning and kept; a file that does not parse
   * changes nothing.
   */
  async reload(): Promise<void> {
    let next: ProxyOptions;
    try {
      const command = parseCommandLine(this.#current.argv);
      if (command.kind !== 'run') return;
      next = command.options;
      AllowList.parse(next.allow);
      if (next.pageAllow !== undefined) AllowList.parse(next.pageAllow);
    } catch (err) {
      this.#logger.error({ err: (err as Error).message }, 'reload refused: the configuration did not load; nothing changed');
      return;
    }
    const plan = planReload(this.#current, next);
    // The directive object is shared by the maintenance tick, the MCMP commands and the page: they read it at each use.
    Object.assign(this.options.directives as unknown as Record<string, unknown>, plan.directives);
    if (plan.allowChanged) {
      this.#mcmpAllow = AllowList.parse(next.allow);
      this.#pageAllow = AllowList.parse(next.pageAllow ?? next.allow);
      this.#server.setAllow(connectionAllowList(next));
    }
    if (plan.logLevel !== undefined) this.#logger.level = plan.logLevel;
    if (plan.routingChanged || plan.logLevel !== undefined) {
      const d = this.options.directives;
      this.#pool.reconfigure({
        ...(plan.routingChanged && {
          routing: { ...this.#pool.routing, useAlias: d.UseAlias, responseStatusCodeOnNoContext: d.ResponseStatusCodeOnNoContext, deterministicFailover: d.DeterministicFailover },
        }),
        ...(plan.logLevel !== undefined && { logLevel: plan.logLevel }),
      });
    }
    const applied = [...plan.applied];
    for (const { name, step } of this.#reloadSteps) {
      try {
        applied.push(...(await step(next)));
      } catch (err) {
        this.#logger.error({ err, step: name }, 'reload: this part kept its previous state');
      }
    }
    // What was kept stays as it was in the current options, so the next reload compares against what runs.
    this.#current = { ...next, ...keptOptions(this.#current), directives: this.options.directives };
    if (plan.kept.length > 0) this.#logger.warn({ kept: plan.kept }, 'reload: these cannot change while running; restart to apply them');
    this.#logger.info({ applied }, 'configuration reloaded');
  }

  /** MCMP replies that need no waiting (most STATUS) come back without a promise. */
  #dispatch(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
    const accept = req.header('accept') ?? '';
    const peer = req.remoteAddress;
    if (McmpHandler.METHODS.has(req.methodUpper)) {
      if (!this.#mcmpAllow.allows(peer)) {
        this.#mcmpCounts.record(req.methodUpper, 403, undefined);
        return forbidden('this address may not send MCMP');
      }
      const method = req.methodUpper;
      const reply = this.#handler.handle({ methodUpper: method, target: req.target, accept, body: req.body, bodyTooLarge: req.bodyTooLarge, peer });
      if (reply instanceof Promise) return reply.then((r) => this.#counted(method, r));
      return this.#counted(method, reply);
    }
    return this.#dispatchPage(req, accept, peer);
  }

  #counted(method: string, reply: McmpReply): McmpReply {
    this.#mcmpCounts.record(method, reply.status, reply.status === 200 ? undefined : reply.headers.find(([name]) => name === 'Mess')?.[1]);
    return reply;
  }

  async #dispatchPage(req: HttpRequest, accept: string, peer: string): Promise<HttpResponse> {
    const pathOnly = req.target.split('?')[0];
    if (pathOnly === this.options.managerPath) {
      if (!this.#pageAllow.allows(peer)) return forbidden('this address may not see the status page');
      return this.#page.handle({ methodUpper: req.methodUpper, target: req.target, accept, peer });
    }
    if (pathOnly === METRICS_PATH && (req.methodUpper === 'GET' || req.methodUpper === 'HEAD')) {
      if (!this.#pageAllow.allows(peer)) return forbidden('this address may not see the metrics');
      const metrics = this.#metrics.get();
      return { status: 200, headers: [['Content-Type', metrics.contentType]], body: await metrics.render() };
    }
    return { status: 404, headers: [['Content-Type', 'text/plain']], body: 'Not Found\n' };
  }
}

/** The running values of the options a reload cannot change. */
function keptOptions(current: ProxyOptions): Partial<ProxyOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) if (!isLiveOption(key)) out[key] = value;
  return out as Partial<ProxyOptions>;
}

/** Where Prometheus scrapes, on the manager listener. */
export const METRICS_PATH = '/metrics';

function forbidden(why: string): HttpResponse {
  return { status: 403, headers: [['Content-Type', 'text/plain']], body: `Forbidden: ${why}\n` };
}

/** The listener lets in whoever is on either list; each request is then checked against its own. */
function connectionAllowList(options: ProxyOptions): AllowList {
  return AllowList.parse(options.pageAllow === undefined ? options.allow : `${options.allow},${options.pageAllow}`);
}

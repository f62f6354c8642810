// The uWebSockets.js server of one forwarding thread: accepts client requests
// on the shared port, hands each to a ProxyExchange, and stops gracefully
// (stop accepting, drain, close every socket).
import { Buffer } from 'node:buffer';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { loadUws, type Uws } from '../../native-bindings/uws';
import type { RoutingOptions } from '../router/index';
import type { ClusterCounters } from '../slots/counters';
import type { TablesReader } from '../slots/types';
import type { Logger } from '../log';
import type { AccessLog } from '../access-log/index';
import { ListenError } from './errors';
import type { TrafficLimits } from './limits';
import { ProxyExchange, type ExchangeContext } from './exchange';
import { readRequestHead, type ClientListener, type ClientRequestHead } from './request/headers';
import type { EdgeTlsSettings } from '../tls/settings';
import { upstreamTlsOptions, VERIFY_BY_DEFAULT, type UpstreamTlsSettings } from '../tls/upstream';
import { EdgeTlsApps } from './tls-apps';
import { textReplyBodyBytes, writeTextReply } from './response/replies';
import { StreamedRequestBody } from './request/body';
import { UploadWatch } from './request/upload-watch';
import { RefusalLog } from '../log-throttle';
import { EncodedSlashes, type PathRules } from './request/path';
import { RoutingView } from './routing-view';
import type { SessionBatcher } from './sessions';
import { StaticFiles } from './static/files';
import { NodeUpstreams } from './upstream/upstreams';
import { WebSocketTunnels } from './websocket/tunnel';

/** Bodies up to this size are read whole before dispatch: replayable on failover, one write upstream. */
const BUFFERED_BODY_MAX = 64 * 1024;
/** How often a draining server looks whether its last request finished. */
const DRAIN_POLL_MS = 10;
/**
 * The drain ends once nothing is running and no request started for this long:
 * by then every busy keep-alive client has had a response saying
 * Connection: close, and what is left open is idle (closed at once).
 */
const DRAIN_QUIET_MS = 100;

export interface ForwardingServerOptions {
  readonly host: string;
  readonly port: number;
  readonly routing: RoutingOptions;
  readonly docroot: string | undefined;
  readonly useNocanon: boolean;
  /** ProxyIOBufferSize: the AJP packet size (default 8192). */
  readonly ajpPacketSize?: number;
  /** AllowEncodedSlashes (request-path.ts). */
  readonly encodedSlashes?: EncodedSlashes;
  readonly drainTimeoutMs: number;
  readonly limits: TrafficLimits;
  /** HTTPS listeners (--listen-tls), null: none. */
  readonly tls?: EdgeTlsSettings | null;
  /** The passphrase of encrypted keys (read by the primary). */
  readonly tlsPassphrase?: string;
  /** TLS towards https/wss nodes (SSLProxyVerify, --upstream-ca). */
  readonly upstreamTls?: UpstreamTlsSettings;
  /** ProxyAddHeaders (default true): X-Forwarded-For/-Proto/-Port/-Host added for the node. */
  readonly addHeaders?: boolean;
}

export interface ForwardingServerDeps {
  readonly reader: TablesReader;
  readonly counters: ClusterCounters;
  readonly sessions: SessionBatcher | null;
  readonly logger: Logger;
  /** --access-log of this thread; null: none. */
  readonly accessLog?: AccessLog | null;
}

export class ForwardingServer implements ExchangeContext {
  readonly counters: ClusterCounters;
  readonly routing: RoutingView;
  routingOptions: RoutingOptions;
  readonly upstreams: NodeUpstreams;
  readonly sessions: SessionBatcher | null;
  readonly staticFiles: StaticFiles | null;
  readonly pathRules: PathRules;
  /** ProxyAddHeaders. */
  readonly addHeaders: boolean;
  readonly logger: Logger;
  readonly accessLog: AccessLog | null;
  readonly #options: ForwardingServerOptions;
  readonly #uws: Uws;
  readonly #app: TemplatedApp;
  readonly #tunnels: WebSocketTunnels;
  readonly #tlsApps: EdgeTlsApps | null;
  #listenSocket: us_listen_socket | null = null;
  /** The port bound by listen(). */
  #port = 0;
  #inFlight = 0;
  /** Requests started since the thread began; the drain watches it for quiet. */
  #started = 0;
  #draining = false;
  #closed = false;
  /** 408s for stalled uploads: one line per client address per minute. */
  readonly #refusals: RefusalLog;

  constructor(deps: ForwardingServerDeps, options: ForwardingServerOptions) {
    this.counters = deps.counters;
    this.sessions = deps.sessions;
    this.logger = deps.logger;
    this.accessLog = deps.accessLog ?? null;
    this.routingOptions = options.routing;
    this.pathRules = { encodedSlashes: options.encodedSlashes ?? EncodedSlashes.Off, canonical: !options.useNocanon };
    this.addHeaders = options.addHeaders ?? true;
    this.#options = options;
    this.#refusals = new RefusalLog(deps.logger);
    this.upstreams = new NodeUpstreams(
      deps.logger,
      undefined,
      options.limits.nodeTimeoutMs,
      {
        packetSize: options.ajpPacketSize,
        // AJP_LOCAL_ADDR: known only when the listener is bound to one address (uWS does not say which one a client reached).
        localAddress: isWildcard(options.host) ? '' : options.host.replace(/^\[(.*)\]$/, '$1'),
      },
      upstreamTlsOptions(options.upstreamTls ?? VERIFY_BY_DEFAULT),
      (node) => this.counters.traffic.retry(node),
    );
    this.routing = new RoutingView(deps.reader, options.routing, (snapshot) => this.upstreams.sync(snapshot.nodes));
    this.staticFiles = options.docroot !== undefined && options.docroot !== '' ? new StaticFiles(options.docroot) : null;
    this.#uws = loadUws();
    // uWS adds `uWebSockets: 20` to every response unless its loop (one per
    // thread) is set silent; `_cfg('silent')` is the package's switch for it.
    this.#uws._cfg('silent');
    this.#app = this.#uws.App();
    // Only requests with a WebSocket key reach it; it serves the others as plain requests.
    this.#tunnels = new WebSocketTunnels(this, (res, req, listener) => this.#onRequest(res, req, listener));
    this.#routes(this.#app, { scheme: 'http', port: options.port });
    const tls = options.tls ?? null;
    this.#tlsApps = tls === null ? null : new EdgeTlsApps(this.#uws, tls, (app, listener) => this.#routes(app, listener), deps.logger);
  }

  #routes(app: TemplatedApp, listener: ClientListener): void {
    app.any('/*', (res, req) => this.#onRequest(res, req, listener));
    app.ws('/*', this.#tunnels.behavior(listener));
  }

  /** SIGHUP: new TLS handshakes use the certificate files as they are now; false if they cannot be used (the old ones stay). */
  reloadTls(passphrase: string | undefined): Promise<boolean> {
    return this.#tlsApps === null ? Promise.resolve(true) : this.#tlsApps.reload(passphrase);
  }

  get sendTimeoutMs(): number {
    return this.#options.limits.sendTimeoutMs;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** New routing options from a reload: the next request is routed with them. */
  setRouting(routing: RoutingOptions): void {
    this.routingOptions = routing;
    this.routing.setOptions(routing);
  }

  /** Requests being served now. */
  get inFlight(): number {
    return this.#inFlight;
  }


  /** Binds the port (SO_REUSEPORT, shared with the other threads); resolves with it. */
  async listen(): Promise<number> {
    const { host, port } = this.#options;
    await this.#tlsApps?.listen(this.#options.tlsPassphrase);
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (socket === false) {
          reject(new ListenError(host, port));
          return;
        }
        this.#listenSocket = socket;
        this.#port = this.#uws.us_socket_local_port(socket as unknown as us_socket);
        this.upstreams.ajp.localPort = this.#port;
        resolve(this.#port);
      });
    });
  }

  /**
   * Accept back-off (issue 13). uSockets does not stop polling its listen
   * socket when accept() fails with EMFILE, so a thread out of descriptors
   * spins; closing the listen socket is the only way to make it stop. New
   * connections are then refused by the kernel (or taken by another process
   * on the port) while open connections are served; listening again on the
   * same port (SO_REUSEPORT) resumes.
   */
  setAccepting(on: boolean): void {
    if (!on) {
      this.#closeListenSocket();
      return;
    }
    if (this.#draining || this.#closed || this.#port === 0) return;
    this.#tlsApps?.relisten();
    if (this.#listenSocket !== null) return;
    this.#app.listen(this.#options.host, this.#port, (socket) => {
      if (socket === false) {
        this.logger.warn({ port: this.#port }, 'cannot listen again after the accept back-off; the other threads keep the port');
        return;
      }
      if (this.#draining || this.#closed) this.#uws.us_listen_socket_close(socket);
      else this.#listenSocket = socket;
    });
  }

  /**
   * Graceful stop: no new connection is accepted (the other threads' sockets
   * and the kernel take them), running requests get up to drainTimeoutMs, then
   * every connection and upstream pool is closed. Resolves with the number of
   * requests that were cut.
   */
  async stop(): Promise<number> {
    this.#draining = true;
    this.#closeListenSocket();
    // A tunnel lives as long as its peers want: waiting for it would always
    // cost the whole drain timeout, so tunnels are closed (1001) at once.
    this.#tunnels.closeAll();
    const deadline = Date.now() + this.#options.drainTimeoutMs;
    let seen = this.#started;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      if (this.#started !== seen) {
        seen = this.#started;
        quietSince = Date.now();
      }
      if (this.#inFlight === 0 && Date.now() - quietSince >= DRAIN_QUIET_MS) break;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    const cut = this.#inFlight;
    this.closeNow();
    await this.upstreams.destroy();
    // Let uv close the handles uWS released before the thread may be terminated.
    await new Promise((resolve) => setImmediate(resolve));
    return cut;
  }

  /**
   * Closes every uWS socket at once. Synchronous so that it can run in the
   * thread's 'exit' handler: a worker thread whose loop still holds uWS sockets
   * when it ends brings the whole process down.
   */
  closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeListenSocket();
    this.#tunnels.closeAll();
    this.#tlsApps?.closeAll();
    // App.close() (closes every socket of the app) exists in the native addon
    // but is missing from the package's type declarations.
    (this.#app as TemplatedApp & { close(): void }).close();
  }

  exchangeDone(): void {
    this.#inFlight--;
  }

  #closeListenSocket(): void {
    this.#tlsApps?.closeListenSockets();
    if (this.#listenSocket === null) return;
    this.#uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
  }

  #newExchange(res: HttpResponse, head: ClientRequestHead, body: StreamedRequestBody | null): ProxyExchange {
    const exchange = new ProxyExchange(this, res, head, body);
    this.#inFlight++;
    this.#started++;
    return exchange;
  }

  #receiveTimedOut(exchange: ProxyExchange, head: ClientRequestHead): void {
    const seconds = this.#options.limits.receiveTimeoutMs / 1000;
    this.#refusals.refused(head.clientAddress, 408, { client: head.clientAddress, receiveTimeout: seconds }, 'request body stalled past --receive-timeout: 408');
    exchange.receiveTimedOut();
  }

  #onRequest(res: HttpResponse, req: HttpRequest, listener: ClientListener): void {
    let exchange: ProxyExchange | undefined;
    try {
      const query = req.getQuery();
      const url = query === undefined || query === '' ? req.getUrl() : `${req.getUrl()}?${query}`;
      // The client's address is read (a getpeername) only when something uses it: X-Forwarded-For, the access log, AJP.
      const head = readRequestHead(req, url, res, listener.scheme, this.pathRules, listener.port, this.addHeaders);
      if (this.accessLog !== null) head.keepClientAddress();
      if (head.refusal !== 0) {
        // Framing, Host or target refused: answered here, never forwarded, and the connection closed.
        writeTextReply(res, head.refusal, head.closeConnection, true);
        if (this.accessLog !== null) this.accessLog.refused(head, head.refusal, textReplyBodyBytes(head.refusal));
        return;
      }
      if (!head.hasBody) {
        exchange = this.#newExchange(res, head, null);
        const ex = exchange;
        res.onAborted(() => ex.clientAborted());
        exchange.start();
        return;
      }
      if (!head.chunked && head.contentLength <= BUFFERED_BODY_MAX) {
        exchange = this.#newExchange(res, head, null);
        const ex = exchange;
        const watch = new UploadWatch(res, this.#options.limits.receiveTimeoutMs, () => this.#receiveTimedOut(ex, head));
        res.onAborted(() => {
          watch.stop();
          ex.clientAborted();
        });
        const body = Buffer.allocUnsafe(head.contentLength);
        let received = 0;
        res.onData((chunk, isLast) => {
          watch.data(isLast);
          const n = Math.min(chunk.byteLength, body.length - received);
          body.set(new Uint8Array(chunk, 0, n), received);
          received += n;
          if (isLast) ex.start(received === body.length ? body : body.subarray(0, received));
        });
        return;
      }
      const streamed = new StreamedRequestBody(res);
      exchange = this.#newExchange(res, head, streamed);
      const ex = exchange;
      const watch = new UploadWatch(res, this.#options.limits.receiveTimeoutMs, () => this.#receiveTimedOut(ex, head), () => streamed.clientHeld);
      res.onAborted(() => {
        watch.stop();
        ex.clientAborted();
      });
      res.onData((chunk, isLast) => {
        watch.data(isLast);
        streamed.push(chunk, isLast);
      });
      exchange.start();
    } catch (err) {
      // A bug must cost one request, not the thread and its connections.
      this.logger.error({ err }, 'forwarding a request failed');
      if (exchange === undefined) {
        res.onAborted(() => undefined);
        res.cork(() => writeTextReply(res, 500, false, true));
      } else {
        exchange.internalError();
      }
    }
  }
}

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

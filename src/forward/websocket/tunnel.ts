// WebSocket tunnels of one forwarding thread (MCMP.md §5.12 last bullet,
// §7.1 EnableWsTunnel / WSUpgradeHeader): an upgrade request is routed like any
// request; when the chosen node is of type ws/wss and its upgrade token is `*`
// or the request's Upgrade value, the proxy opens a WebSocket to the node and
// completes the client's upgrade only once the node accepted. Messages are
// relayed one by one (text stays text, binary stays binary), close codes and
// reasons both ways. Anything that is not a tunnel is served as a plain HTTP
// request (the Upgrade header is hop-by-hop and is not forwarded), as httpd
// does for a worker that is not a ws worker.
import type { HttpRequest, HttpResponse, WebSocket as ClientSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { CloseEvent, MessageEvent } from 'undici';
import type { NodeRow } from '../../slots/rows';
import type { Logger } from '../../log';
import type { AccessLog, AccessRecord } from '../../access-log/index';
import type { RoutingOptions } from '../../router/index';
import { routeOfSession } from '../../router/session';
import { routeRequest, stripSessionFromCookie, stripSessionFromUrl, type RouteResult } from '../../router/route';
import type { ClusterCounters } from '../../slots/counters';
import { CONNECTION_FAILURES, errorCode } from '../exchange';
import { PLAIN_LISTENER, readRequestHead, type ClientListener, type ClientRequestHead } from '../request/headers';
import type { PathRules } from '../request/path';
import { textReplyBodyBytes, writeTextReply } from '../response/replies';
import type { RoutingView } from '../routing-view';
import { openNodeSocket, type NodeSocket } from './upstream';
import type { UpstreamTlsOptions } from '../../tls/upstream';

/** Largest message a client may send (uWS closes with 1009 above it; its default is only 16 KiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/**
 * Bytes a tunnel may hold for a peer that does not read. Neither side can be
 * paused (uWS has no read pause for WebSockets, undici's WebSocket none at
 * all), so a tunnel whose reader falls this far behind is closed with 1013.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/**
 * Idle seconds before uWS pings the client (it closes a client that does not
 * answer): dead clients go away, idle but live tunnels stay open.
 */
const IDLE_TIMEOUT_SECONDS = 120;

/** uWS send(): the message was not queued because the backpressure limit was reached. */
const SEND_DROPPED = 2;

/** Close codes that must never be sent in a close frame (RFC 6455 §7.4.1). */
const NO_STATUS = 1005;
const ABNORMAL = 1006;
const TLS_FAILURE = 1015;
const GOING_AWAY = 1001;
const TOO_BIG = 1009;
const TRY_AGAIN_LATER = 1013;

/** What tunnels need from their thread (ForwardingServer provides it). */
export interface TunnelContext {
  readonly counters: ClusterCounters;
  readonly routing: RoutingView;
  readonly routingOptions: RoutingOptions;
  /** How request targets are normalised (AllowEncodedSlashes, UseNocanon). */
  readonly pathRules: PathRules;
  /** ProxyAddHeaders: X-Forwarded-* added to the upgrade request. */
  readonly addHeaders: boolean;
  readonly logger: Logger;
  /** Told about each tunnel once it is over (status 101 and the bytes sent to the client); null: no access log. */
  readonly accessLog: AccessLog | null;
  /** TLS towards wss nodes (the thread's, shared with the HTTP pools). */
  readonly upstreams: { readonly tls: UpstreamTlsOptions };
}

/** The uWS user data of a tunnelled client socket. */
export interface TunnelSocketData {
  readonly tunnel: Tunnel;
}

type NodeRoute = Extract<RouteResult, { kind: 'node' }>;

/** Whether a node tunnels an upgrade to `protocol` (its upgrade token is `*` or that protocol). */
export function nodeTunnels(node: NodeRow, protocol: string): boolean {
  if (node.type !== 'ws' && node.type !== 'wss') return false;
  const token = node.upgrade.toLowerCase();
  return token === '*' || (token !== '' && token === protocol.trim().toLowerCase());
}

/**
 * How a close from the client is passed to the node. undici's WebSocket takes
 * only 1000 and 3000-4999 (WHATWG close()); other codes (1001 going away, 1011
 * ...) reach the node as 1000 with the client's reason. `undefined`: a close
 * frame without a code.
 */
export function closeCodeForNode(clientCode: number): number | undefined {
  if (clientCode === NO_STATUS) return undefined;
  if (clientCode === 1000 || (clientCode >= 3000 && clientCode <= 4999)) return clientCode;
  return 1000;
}

/**
 * How a close from the node is passed to the client: 'abort' (no close frame,
 * the client sees 1006 as the proxy did), 'empty' (a close frame without a
 * code: 1005), or the code to send.
 */
export function closeForClient(nodeCode: number): number | 'abort' | 'empty' {
  if (nodeCode === NO_STATUS) return 'empty';
  if (nodeCode === ABNORMAL || nodeCode === TLS_FAILURE || nodeCode < 1000 || nodeCode > 4999) return 'abort';
  return nodeCode;
}

/** The protocols a client offered in Sec-WebSocket-Protocol, in order. */
export function offeredProtocols(header: string): string[] {
  const out: string[] = [];
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p !== '') out.push(p);
  }
  return out;
}

/** Request headers that the node-side handshake writes itself. */
function handshakeHeader(name: string): boolean {
  return name.startsWith('sec-websocket-');
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const enum State {
  /** Opening the node side; the client waits for the answer to its upgrade request. */
  Connecting,
  Open,
  Closed,
}

/** What the client's upgrade request carried (uWS's HttpRequest dies with the handler). */
interface UpgradeRequest {
  readonly head: ClientRequestHead;
  /** The Upgrade header value. */
  readonly protocol: string;
  readonly key: string;
  readonly protocols: string[];
  readonly extensions: string;
  readonly context: us_socket_context_t;
}

/** One client ↔ node WebSocket tunnel, from the upgrade request to the last close. */
export class Tunnel implements AccessRecord {
  readonly #owner: WebSocketTunnels;
  readonly #ctx: TunnelContext;
  readonly #request: UpgradeRequest;
  #state = State.Connecting;
  /** The upgrade request being answered; null once answered or aborted. */
  #res: HttpResponse | null;
  /** The client socket once upgraded; null once closed. */
  #client: ClientSocket<TunnelSocketData> | null = null;
  #nodeSocket: NodeSocket | null = null;
  #route: NodeRoute | null = null;
  #nodeId = -1;
  #contextId = -1;
  #counted = false;
  #tries = 0;
  #exclude: Set<number> | undefined;
  /** The message being sent to the client inside cork (no closure per message). */
  #outgoing: string | ArrayBuffer = '';
  #outgoingResult = 0;
  // ---- for the access log ----
  readonly #startedAt = performance.now();
  #openedUs = -1;
  /** 101 once upgraded, the error status when refused, 0 when the client left first. */
  #status = 0;
  #bytesToClient = 0;
  #ended = false;
  readonly #sendCorked = (): void => {
    const data = this.#outgoing;
    this.#outgoingResult = (this.#client as ClientSocket<TunnelSocketData>).send(data, typeof data !== 'string');
  };

  constructor(owner: WebSocketTunnels, ctx: TunnelContext, res: HttpResponse, request: UpgradeRequest) {
    this.#owner = owner;
    this.#ctx = ctx;
    this.#res = res;
    this.#request = request;
  }

  /** The node the tunnel goes to (slot id), -1 before the first attempt. */
  get node(): number {
    return this.#nodeId;
  }

  // ------------------------------------------------------------ opening

  /** Opens the node side for a route the upgrade may be tunnelled on. */
  connect(route: NodeRoute): void {
    const ctx = this.#ctx;
    const head = this.#request.head;
    const node = route.node;
    this.#route = route;
    this.#nodeId = node.id;
    this.#contextId = route.contextId;
    this.#tries++;
    this.#counted = true;
    ctx.counters.beginRequest(node.id, route.contextId);

    // Normalised when the head was read: the path the router matched.
    let path = head.url;
    let cookie = head.cookie;
    if (route.stripSession && route.stickyName !== '') {
      // §5.9.6 remove-on-failover: the node must not see the other node's session.
      path = stripSessionFromUrl(path, route.stickyName);
      cookie = stripSessionFromCookie(cookie, route.stickyName);
    }
    const headers: Array<[string, string]> = [];
    const h = head.headers;
    for (let i = 0; i + 1 < h.length; i += 2) {
      const name = h[i] as string;
      if (name === 'host' || handshakeHeader(name)) continue;
      headers.push([name, i + 1 === head.cookieIndex ? cookie : (h[i + 1] as string)]);
    }
    let socket: NodeSocket | null;
    try {
      socket = openNodeSocket(node, { path, host: head.host, protocols: this.#request.protocols, headers }, ctx.upstreams.tls);
    } catch (err) {
      // A protocol list or header the WebSocket client refuses: the request is bad.
      ctx.logger.debug({ err, node: node.route }, 'upgrade request not forwardable');
      ctx.counters.undoElected(node.id);
      this.#fail(400);
      return;
    }
    if (socket === null) {
      // Not reachable with this forwarder (cannot happen for ws/wss): try another node.
      ctx.counters.undoElected(node.id);
      this.#releaseCounters();
      this.#retry(node.id);
      return;
    }
    const nodeSocket = socket;
    this.#nodeSocket = nodeSocket;
    const ws = nodeSocket.ws;
    ws.onopen = () => {
      if (this.#nodeSocket === nodeSocket) this.#nodeOpened();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.#nodeSocket === nodeSocket) this.#fromNode(ev.data as unknown);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.#nodeSocket === nodeSocket) this.#nodeClosed(ev.code, ev.reason);
    };
    // A handshake that fails before undici has a socket (refused connection,
    // non-101 answer) fires 'error' and never 'close' (undici 6).
    ws.onerror = () => {
      if (this.#nodeSocket === nodeSocket && this.#state === State.Connecting) this.#handshakeFailed();
    };
  }

  /** uWS onAborted of the upgrade request: the client left before the node answered. */
  clientAborted(): void {
    this.#res = null;
    if (this.#state !== State.Connecting) return;
    this.#state = State.Closed;
    this.#closeNode(undefined, undefined);
    this.#end();
  }

  #nodeOpened(): void {
    const nodeSocket = this.#nodeSocket as NodeSocket;
    nodeSocket.release();
    const res = this.#res;
    if (this.#state !== State.Connecting || res === null) {
      nodeSocket.ws.close();
      return;
    }
    this.#res = null;
    this.#state = State.Open;
    this.#status = 101;
    this.#openedUs = Math.round((performance.now() - this.#startedAt) * 1000);
    const request = this.#request;
    const upgradeHeaders = nodeSocket.probe.upgradeHeaders;
    const data: TunnelSocketData = { tunnel: this };
    res.cork(() => {
      // Only the node's cookies go with the 101: the Sec-WebSocket-* answer is the proxy's own.
      res.writeStatus('101 Switching Protocols');
      for (let i = 0; i + 1 < upgradeHeaders.length; i += 2) {
        const name = upgradeHeaders[i] as Buffer;
        if (name.length === 10 && name.toString('latin1').toLowerCase() === 'set-cookie') res.writeHeader(name, upgradeHeaders[i + 1] as Buffer);
      }
      res.upgrade(data, request.key, nodeSocket.ws.protocol, request.extensions, request.context);
    });
    if (this.#client === null && this.#state === State.Open) {
      // uWS did not open the socket (the connection went away meanwhile).
      this.#state = State.Closed;
      this.#closeNode(undefined, undefined);
      this.#end();
    }
  }

  /** The node side closed or failed before it was open. */
  #handshakeFailed(): void {
    const ctx = this.#ctx;
    const socket = this.#nodeSocket as NodeSocket;
    socket.release();
    const probe = socket.probe;
    const node = this.#nodeId;
    const code = probe.error === null ? '' : errorCode(probe.error);
    if (probe.status === 0 && CONNECTION_FAILURES.has(code)) {
      // §5.9.1: the node is in error; the attempt's counters are undone and another node may serve.
      ctx.counters.markError(node, nowSeconds());
      ctx.counters.undoElected(node);
      this.#releaseCounters();
      ctx.logger.debug({ code, node: this.#route?.node.route, tries: this.#tries }, 'node refused the WebSocket connection');
      this.#retry(node);
      return;
    }
    let status: number;
    if (probe.status >= 400) status = probe.status;
    else if (probe.status === 0 && (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')) status = 504;
    else status = 502;
    ctx.logger.debug({ status: probe.status, code, node: this.#route?.node.route }, 'node did not accept the WebSocket upgrade');
    this.#fail(status);
  }

  /** After a connection failure: another ws node if the balancer allows more attempts, else 503. */
  #retry(failedNode: number): void {
    const ctx = this.#ctx;
    const maxAttempts = this.#route?.balancer.maxAttempts ?? 0;
    (this.#exclude ??= new Set()).add(failedNode);
    // Every loop excludes one more node: bounded by the node count.
    while (this.#tries <= maxAttempts && this.#res !== null) {
      const result = routeRequest(ctx.routing.current(), ctx.counters, this.#request.head, nowSeconds(), this.#exclude);
      if (result.kind !== 'node') {
        this.#fail(result.kind === 'status' ? result.status : 503);
        return;
      }
      if (nodeTunnels(result.node, this.#request.protocol)) {
        this.connect(result);
        return;
      }
      ctx.counters.undoElected(result.node.id);
      this.#exclude.add(result.node.id);
    }
    this.#fail(503);
  }

  /** Answers the upgrade request with an error status; the tunnel is over. */
  #fail(status: number): void {
    this.#state = State.Closed;
    const res = this.#res;
    this.#res = null;
    if (res !== null) {
      this.#status = status;
      const closeConnection = this.#request.head.closeConnection;
      res.cork(() => writeTextReply(res, status, closeConnection));
    }
    this.#end();
  }

  // ------------------------------------------------------------ relaying

  /** uWS open: the client side exists (called from within res.upgrade). */
  clientOpened(ws: ClientSocket<TunnelSocketData>): void {
    this.#client = ws;
  }

  /** uWS message: one whole client message (the ArrayBuffer dies when the handler returns). */
  fromClient(message: ArrayBuffer, isBinary: boolean): void {
    const socket = this.#nodeSocket;
    if (this.#state !== State.Open || socket === null) return;
    const ws = socket.ws;
    if (ws.readyState !== ws.OPEN) return;
    const bytes = message.byteLength;
    this.#ctx.counters.addTransferred(this.#nodeId, bytes);
    // undici frames the data at once but keeps the buffer to count it off its
    // bufferedAmount later: it gets a copy that uWS will not detach.
    if (isBinary) ws.send(message.slice(0));
    else ws.send(Buffer.from(message).toString('utf8'));
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) this.#closeBoth(TRY_AGAIN_LATER, 'node too slow', 'node too slow');
  }

  #fromNode(data: unknown): void {
    const client = this.#client;
    if (this.#state !== State.Open || client === null) return;
    let bytes: number;
    if (typeof data === 'string') bytes = Buffer.byteLength(data);
    else if (data instanceof ArrayBuffer) bytes = data.byteLength;
    else return;
    this.#ctx.counters.addRead(this.#nodeId, bytes);
    this.#bytesToClient += bytes;
    this.#outgoing = data;
    client.cork(this.#sendCorked);
    this.#outgoing = '';
    if (this.#outgoingResult === SEND_DROPPED) this.#closeBoth(TOO_BIG, 'message too big for a slow client', 'client too slow');
    else if (client.getBufferedAmount() > MAX_BUFFERED_BYTES) this.#closeBoth(TRY_AGAIN_LATER, 'client too slow', 'client too slow');
  }

  /** uWS close: the client closed, vanished, or the proxy closed it. */
  clientClosed(code: number, message: ArrayBuffer): void {
    this.#client = null;
    if (this.#state !== State.Open) return;
    this.#state = State.Closed;
    this.#closeNode(closeCodeForNode(code), Buffer.from(message).toString('utf8'));
    this.#end();
  }

  #nodeClosed(code: number, reason: string): void {
    if (this.#state === State.Connecting) {
      this.#handshakeFailed();
      return;
    }
    if (this.#state !== State.Open) return;
    this.#state = State.Closed;
    const client = this.#client;
    this.#client = null;
    if (client !== null) {
      // Not corked: uWS (20.30) then never shuts the socket down after the
      // close handshake and the client waits for the TCP close for ever.
      const how = closeForClient(code);
      if (how === 'abort') client.close();
      else if (how === 'empty') client.end();
      else client.end(how, reason);
    }
    this.#end();
  }

  /** The proxy ends an open tunnel (backpressure bound, thread stop). */
  #closeBoth(clientCode: number, clientReason: string, nodeReason: string): void {
    if (this.#state !== State.Open) return;
    this.#state = State.Closed;
    const client = this.#client;
    this.#client = null;
    // Not corked (see #nodeClosed).
    client?.end(clientCode, clientReason);
    this.#closeNode(1000, nodeReason);
    this.#end();
  }

  /** Thread stop: open tunnels close with 1001, pending upgrades get 503. */
  shutdown(): void {
    if (this.#state === State.Connecting) {
      this.#closeNode(undefined, undefined);
      this.#fail(503);
      return;
    }
    this.#closeBoth(GOING_AWAY, 'proxy stopping', 'proxy stopping');
  }

  #closeNode(code: number | undefined, reason: string | undefined): void {
    const socket = this.#nodeSocket;
    if (socket === null) return;
    socket.release();
    try {
      socket.ws.close(code, reason);
    } catch {
      // A reason longer than a close frame holds (RFC 6455: 123 bytes): close without it.
      socket.ws.close(code);
    }
  }

  #releaseCounters(): void {
    if (!this.#counted) return;
    this.#counted = false;
    this.#ctx.counters.endRequest(this.#nodeId, this.#contextId);
  }

  #end(): void {
    this.#releaseCounters();
    this.#owner.remove(this);
    if (this.#ended) return;
    this.#ended = true;
    const accessLog = this.#ctx.accessLog;
    if (accessLog !== null) accessLog.write(this);
  }

  // ---- what the access log reads once the tunnel is over (access-log/record.ts) ----

  get request(): ClientRequestHead {
    return this.#request.head;
  }

  get status(): number {
    return this.#status;
  }

  /** Upgraded: the message bytes the node sent the client; refused: the error reply's body. */
  get bodyBytes(): number {
    return this.#status === 101 ? this.#bytesToClient : this.#status === 0 ? 0 : textReplyBodyBytes(this.#status);
  }

  get nodeRoute(): string {
    return this.#status === 101 ? (this.#route?.node.route ?? '') : '';
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  get ttfbUs(): number {
    return this.#openedUs;
  }

  get tries(): number {
    return this.#tries;
  }

  get stickyRoute(): string {
    const id = this.#route?.sessionId ?? '';
    return id === '' ? '' : routeOfSession(id);
  }
}

/** The WebSocket side of one thread's uWS App: upgrade routing, the tunnels, their shutdown. */
export class WebSocketTunnels {
  readonly #ctx: TunnelContext;
  readonly #serveAsHttp: (res: HttpResponse, req: HttpRequest, listener: ClientListener) => void;
  readonly #tunnels = new Set<Tunnel>();
  #stopping = false;

  /** `serveAsHttp`: the thread's plain request handler, for upgrade requests that are not tunnelled. */
  constructor(ctx: TunnelContext, serveAsHttp: (res: HttpResponse, req: HttpRequest, listener: ClientListener) => void) {
    this.#ctx = ctx;
    this.#serveAsHttp = serveAsHttp;
  }

  /** Tunnels opening or open now. */
  get size(): number {
    return this.#tunnels.size;
  }

  /** The behavior for `app.ws('/*', ...)` of the App serving `listener`. */
  behavior(listener: ClientListener = PLAIN_LISTENER): WebSocketBehavior<TunnelSocketData> {
    return {
      maxPayloadLength: MAX_MESSAGE_BYTES,
      maxBackpressure: MAX_BUFFERED_BYTES,
      closeOnBackpressureLimit: 0,
      idleTimeout: IDLE_TIMEOUT_SECONDS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context, listener),
      open: (ws) => ws.getUserData().tunnel.clientOpened(ws),
      message: (ws, message, isBinary) => ws.getUserData().tunnel.fromClient(message, isBinary),
      close: (ws, code, message) => ws.getUserData().tunnel.clientClosed(code, message),
    };
  }

  /** Thread stop: every tunnel is closed now and later upgrades get 503. */
  closeAll(): void {
    this.#stopping = true;
    for (const tunnel of [...this.#tunnels]) tunnel.shutdown();
  }

  remove(tunnel: Tunnel): void {
    this.#tunnels.delete(tunnel);
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, listener: ClientListener): void {
    try {
      this.#route(res, req, context, listener);
    } catch (err) {
      // A bug must cost one request, not the thread and its connections.
      this.#ctx.logger.error({ err }, 'tunnelling a WebSocket upgrade failed');
      res.cork(() => writeTextReply(res, 500, false, true));
    }
  }

  #route(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, listener: ClientListener): void {
    if (this.#stopping) {
      res.cork(() => writeTextReply(res, 503, false, true));
      return;
    }
    const ctx = this.#ctx;
    const protocol = req.getHeader('upgrade');
    const key = req.getHeader('sec-websocket-key');
    const protocols = offeredProtocols(req.getHeader('sec-websocket-protocol'));
    const extensions = req.getHeader('sec-websocket-extensions');
    const query = req.getQuery();
    const url = query === undefined || query === '' ? req.getUrl() : `${req.getUrl()}?${query}`;
    const head = readRequestHead(req, url, res, listener.scheme, ctx.pathRules, listener.port, ctx.addHeaders);
    if (ctx.accessLog !== null) head.keepClientAddress();
    if (head.refusal !== 0) {
      res.cork(() => writeTextReply(res, head.refusal, head.closeConnection, true));
      if (ctx.accessLog !== null) ctx.accessLog.refused(head, head.refusal, textReplyBodyBytes(head.refusal));
      return;
    }
    const result = routeRequest(ctx.routing.current(), ctx.counters, head, nowSeconds());
    if (result.kind !== 'node' || !nodeTunnels(result.node, protocol)) {
      // Not a tunnel: the request is answered as plain HTTP (router status,
      // static file, or forwarded without its Upgrade header), which routes it again.
      if (result.kind === 'node') ctx.counters.undoElected(result.node.id);
      this.#serveAsHttp(res, req, listener);
      return;
    }
    const tunnel = new Tunnel(this, ctx, res, { head, protocol, key, protocols, extensions, context });
    this.#tunnels.add(tunnel);
    res.onAborted(() => tunnel.clientAborted());
    tunnel.connect(result);
  }
}

// One client request through the proxy (ARCHITECTURE.md "Data flow of one
// client request"): route, dispatch to the chosen node's pool, stream both
// bodies with backpressure, fail over on connection-level failures (MCMP.md
// §5.9.1), keep the shared counters right, report the session id (§5.11).
//
// The exchange object itself is undici's dispatch handler (PERFORMANCE.md:
// dispatch() with a plain handler object), so a request costs one object.
import { performance } from 'node:perf_hooks';
// Imported, not the globals: globalThis.Buffer/process/performance are accessors, a getter call per use on the hot path.
import { Buffer } from 'node:buffer';
import type { Dispatcher } from 'undici';
import type { HttpResponse } from 'uWebSockets.js';
import type { RoutingOptions } from '../router/index';
import { routeRequest, stripSessionFromCookie, stripSessionFromUrl, type RouteResult } from '../router/route';
import { routeOfSession } from '../router/session';
import type { ClusterCounters } from '../slots/counters';
import type { UpstreamFailure } from '../slots/traffic';
import type { Logger } from '../log';
import type { AccessLog, AccessRecord } from '../access-log/index';
import { ClientAbortedError } from './errors';
import type { ClientRequestHead } from './request/headers';
import { ClientHeadBuilder } from './response/client-head';
import { textReplyBodyBytes, writeTextReply } from './response/replies';
import type { StreamedRequestBody } from './request/body';
import { ResponseBodyWriter, type BodyProducer } from './response/body';
import type { RoutingView } from './routing-view';
import type { SessionBatcher } from './sessions';
import type { LocalResponse, StaticFiles } from './static/files';
import type { RawHeadReceiving, RawResponseHead } from './upstream/raw-head';
import type { ReadBatching } from './upstream/read-batch';
import type { NodeUpstreams } from './upstream/upstreams';

/** What an exchange needs from its thread. */
export interface ExchangeContext {
  readonly counters: ClusterCounters;
  readonly routing: RoutingView;
  readonly routingOptions: RoutingOptions;
  readonly upstreams: NodeUpstreams;
  readonly sessions: SessionBatcher | null;
  readonly staticFiles: StaticFiles | null;
  readonly logger: Logger;
  /** --access-log: told about each exchange once it is over; null: no access log. */
  readonly accessLog: AccessLog | null;
  /** A client that takes no byte of its response for this long is dropped (--send-timeout). */
  readonly sendTimeoutMs: number;
  /** The thread is stopping: every response says Connection: close, so no client sends another request on it. */
  readonly draining: boolean;
  /** Called exactly once per exchange, when it is over. */
  exchangeDone(): void;
}

type NodeRoute = Extract<RouteResult, { kind: 'node' }>;

const enum State {
  /** Waiting for the (small, buffered) request body before routing. */
  Receiving,
  /** Waiting for a worker (balancer WaitWorker). */
  Waiting,
  /** A request is on its way to a node, or its response is being relayed. */
  Upstream,
  /** Served by the proxy itself (static file). */
  Local,
  Done,
}

/** Methods that may be sent again to another node (MCMP.md §5.9.1, RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Connection-level failures: the node is put in error and another one may be tried. */
export const CONNECTION_FAILURES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  // "other side closed": the node closed the connection before answering.
  'UND_ERR_SOCKET',
  // An AJP node that did not answer CPING (twice): AJP.md §6.3 row 2.
  'ERR_MCMP_EDGE_AJP_CPING',
  // The node's certificate did not verify, or its TLS handshake failed (src/tls/errors.ts).
  'ERR_MCMP_EDGE_UPSTREAM_TLS',
]);

export function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** How an upstream failure is counted in the metrics. */
function upstreamFailure(code: string, responseStarted: boolean): UpstreamFailure {
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  return !responseStarted && CONNECTION_FAILURES.has(code) ? 'connect' : 'read';
}

const RESOLVED = Promise.resolve();

/** An exchange that is over holds no response head. */
const NO_HEAD = Buffer.alloc(0);

/** Builds each response's head for the client (one per thread: the build is synchronous). */
const CLIENT_HEADS = new ClientHeadBuilder();

/** The exchange whose read batch runs inside the current res.cork() (batchRead), so the cork's callback needs no closure. */
let batchOwner: ProxyExchange | null = null;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class ProxyExchange implements Dispatcher.DispatchHandlers, RawHeadReceiving, ReadBatching, BodyProducer, AccessRecord {
  readonly #ctx: ExchangeContext;
  readonly #res: HttpResponse;
  readonly #head: ClientRequestHead;
  /** Request body: none, complete in memory, or streamed from the client. */
  #body: Buffer | StreamedRequestBody | null;
  #state: State = State.Receiving;
  #clientGone = false;

  // ---- the current attempt ----
  #route: NodeRoute | null = null;
  #node = -1;
  #context = -1;
  #attemptOpen = false;
  #tries = 0;
  /** An attempt of this request timed out on a node. */
  #timedOut = false;
  #exclude: Set<number> | undefined;
  #abortUpstream: ((err?: Error) => void) | null = null;
  #bodyBytesSent = 0;
  #waitDeadline = 0;
  #waitTimer: NodeJS.Timeout | null = null;
  #local: LocalResponse | null = null;

  // ---- the response ----
  #responseStarted = false;
  /** The uWS response is over (complete or closed): it must not be touched again. */
  #clientDone = false;
  #status = 0;
  /** Status and headers received, not written to the client yet (they go with the first bytes). */
  #headPending = false;
  /** Status line and kept header lines as uWS writes them (client-head.ts). */
  #headBlock: Buffer = NO_HEAD;
  #contentLength = -1;
  #noBody = false;
  #writer: ResponseBodyWriter | null = null;
  #resumeUpstream: (() => void) | null = null;
  #chunk: Buffer | null = null;
  #chunkAccepted = true;
  /** Body bytes received from the node so far. */
  #bodyBytesRead = 0;
  #corkedWrite: (() => void) | null = null;
  /**
   * A read from the node is being parsed inside this response's cork
   * (batchRead): writes go to uWS directly, each saving a trip through
   * native code, and a head no body followed is flushed when the batch ends.
   */
  #inBatch = false;
  #batchParse: (() => boolean) | null = null;
  #batchFailure: unknown = null;
  #flushHeadTask: (() => void) | null = null;
  #setSessionId = '';
  #finished = false;
  /** The status was written by the proxy itself (no node's answer reached the client). */
  #proxyReplied = false;
  /** performance.now() at the start, for the latency histograms. */
  readonly #startedAt = performance.now();
  /** Microseconds from the start to the node's response head (-1: none); an integer, never a boxed double. */
  #ttfbUs = -1;

  constructor(ctx: ExchangeContext, res: HttpResponse, head: ClientRequestHead, body: Buffer | StreamedRequestBody | null) {
    this.#ctx = ctx;
    this.#res = res;
    this.#head = head;
    this.#body = body;
  }

  /** The buffered body is complete (or there is none): route and forward. */
  start(body?: Buffer): void {
    if (this.#clientGone || this.#state !== State.Receiving) return;
    if (body !== undefined) this.#body = body;
    this.#routeAndDispatch();
  }

  /** uWS onAborted: the client went away (or the proxy closed it). */
  clientAborted(): void {
    if (this.#clientGone) return;
    this.#clientGone = true;
    this.#writer?.dispose();
    this.#releaseBody(true);
    switch (this.#state) {
      case State.Receiving:
        this.#finish();
        break;
      case State.Waiting:
        if (this.#waitTimer !== null) clearTimeout(this.#waitTimer);
        this.#finish();
        break;
      case State.Local:
        this.#local?.abort();
        break;
      case State.Upstream:
        // undici answers with onError; before onConnect there is nothing to abort yet.
        if (this.#abortUpstream !== null) this.#abortUpstream(new ClientAbortedError());
        break;
      case State.Done:
        break;
    }
  }

  /** Something threw while this exchange was handled: 500 if nothing was sent yet, else close. */
  internalError(): void {
    this.#abandon(500);
  }

  /** The client sent nothing of its body for --receive-timeout (request/upload-watch.ts): 408, or close. */
  receiveTimedOut(): void {
    this.#abandon(408);
  }

  /** Ends the exchange from the proxy's side: `status` if nothing was sent yet, else close; the node's request is aborted. */
  #abandon(status: number): void {
    if (this.#finished) return;
    const abort = this.#state === State.Upstream ? this.#abortUpstream : null;
    this.#closeAttempt();
    if (!this.#clientGone && !this.#clientDone) {
      if (this.#responseStarted && !this.#headPending) {
        this.#state = State.Done;
        this.#clientDone = true;
        this.#releaseBody(true);
        this.#writer?.dispose();
        // Not corked: from a timer, uWS does not carry out a close made inside cork() (response/body.ts).
        this.#res.close();
      } else {
        this.#state = State.Done;
        this.#clientDone = true;
        this.#releaseBody(false);
        this.#status = status;
        this.#proxyReplied = true;
        // A client whose body is left unread must not send another request on this connection.
        this.#res.cork(() => writeTextReply(this.#res, status, this.#head.closeConnection, status === 408));
      }
    }
    this.#finish();
    if (abort !== null) abort(new Error(status === 408 ? 'request body stalled' : 'internal error while forwarding'));
  }

  // ---------------------------------------------------------------- routing

  #routeAndDispatch(): void {
    const ctx = this.#ctx;
    const result = routeRequest(ctx.routing.current(), ctx.counters, this.#head, nowSeconds(), this.#exclude);
    switch (result.kind) {
      case 'node':
        this.#dispatch(result);
        return;
      case 'status':
        if (result.waitWorkerUs > 0) {
          this.#waitForWorker(result.status, result.waitWorkerUs);
          return;
        }
        // No other node after a hung one: the client's answer is the timeout's, not "no node".
        this.#reply(this.#timedOut && result.status === 503 ? 504 : result.status);
        return;
      case 'unmapped':
        this.#serveUnmapped();
        return;
    }
  }

  /** Routing from a timer or an undici callback: a throw must cost this request only. */
  #routeAgain(): void {
    try {
      this.#routeAndDispatch();
    } catch (err) {
      this.#ctx.logger.error({ err }, 'routing a request again failed');
      this.internalError();
    }
  }

  /** MCMP.md §5.6 step 3: sleep WaitWorker/100 and route again, up to WaitWorker in total. */
  #waitForWorker(status: number, waitWorkerUs: number): void {
    const now = Date.now();
    if (this.#state !== State.Waiting) {
      this.#state = State.Waiting;
      this.#waitDeadline = now + waitWorkerUs / 1000;
    }
    if (now >= this.#waitDeadline) {
      this.#reply(status);
      return;
    }
    const step = Math.max(1, Math.min(waitWorkerUs / 100_000, this.#waitDeadline - now));
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = null;
      if (!this.#clientGone) this.#routeAgain();
    }, step);
  }

  #serveUnmapped(): void {
    const files = this.#ctx.staticFiles;
    if (files === null) {
      this.#reply(this.#ctx.routingOptions.responseStatusCodeOnNoContext);
      return;
    }
    this.#state = State.Local;
    this.#releaseBody(false);
    this.#local = files.serve(this.#res, this.#head.method, this.#head.url, this.#head.closeConnection || this.#ctx.draining, (status, bytes) => {
      this.#status = status;
      this.#bodyBytesRead = bytes;
      this.#finish();
    });
  }

  #dispatch(route: NodeRoute): void {
    const ctx = this.#ctx;
    const node = route.node;
    const pool = ctx.upstreams.pool(node);
    this.#state = State.Upstream;
    this.#route = route;
    this.#node = node.id;
    this.#context = route.contextId;
    this.#tries++;
    this.#attemptOpen = true;
    this.#abortUpstream = null;
    this.#bodyBytesSent = 0;
    ctx.counters.beginRequest(node.id, route.contextId);

    const head = this.#head;
    // Normalised when the head was read: the path the router matched.
    let path = head.url;
    if (head.cookieIndex >= 0) head.headers[head.cookieIndex] = head.cookie;
    if (route.stripSession && route.stickyName !== '') {
      // §5.9.6 remove-on-failover: the node must not see the other node's session.
      path = stripSessionFromUrl(path, route.stickyName);
      if (head.cookieIndex >= 0) head.headers[head.cookieIndex] = stripSessionFromCookie(head.cookie, route.stickyName);
    }
    const body = this.#body;
    pool.dispatch(
      {
        path,
        method: head.method as Dispatcher.HttpMethod,
        headers: head.headers,
        body: body === null || Buffer.isBuffer(body) ? body : body.openReader(),
        // AJP nodes: the client's side of the request and the sticky route (jvm_route).
        client: head,
        sessionRoute: route.stripSession ? '' : route.sessionRoute,
      },
      this,
    );
  }

  // ------------------------------------------------------- undici handler

  onConnect(abort: (err?: Error) => void): void {
    this.#abortUpstream = abort;
    if (this.#clientGone) abort(new ClientAbortedError());
  }

  onBodySent(chunk: Buffer | number): void {
    const n = typeof chunk === 'number' ? chunk : chunk.length;
    this.#bodyBytesSent += n;
    this.#ctx.counters.addTransferred(this.#node, n);
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim responses (103 Early Hints, ...) are not relayed.
    if (statusCode < 200 || this.#clientGone || this.#finished) return true;
    this.#ttfbUs = this.#ctx.counters.traffic.firstByte(this.#node, this.#startedAt);
    this.#headBlock = CLIENT_HEADS.fromPairs(statusCode, statusText, headers, this.#sessionCookieName());
    return this.#headReceived(statusCode, resume);
  }

  /** h1 nodes: the head as bytes, its kept lines copied into the block at once (no object per header). */
  onRawHeaders(head: RawResponseHead, resume: () => void): boolean {
    const statusCode = head.status;
    if (statusCode < 200 || this.#clientGone || this.#finished) return true;
    this.#ttfbUs = this.#ctx.counters.traffic.firstByte(this.#node, this.#startedAt);
    this.#headBlock = CLIENT_HEADS.fromRaw(head, this.#sessionCookieName());
    return this.#headReceived(statusCode, resume);
  }

  /** The sticky-session cookie whose value a response's Set-Cookie reports; '' when sessions are off. */
  #sessionCookieName(): string {
    return this.#ctx.sessions !== null ? (this.#route?.balancer.stickySessionCookie ?? '') : '';
  }

  /** After CLIENT_HEADS built this response's head. */
  #headReceived(statusCode: number, resume: () => void): boolean {
    this.#responseStarted = true;
    this.#resumeUpstream = resume;
    this.#status = statusCode;
    this.#contentLength = CLIENT_HEADS.contentLength;
    if (this.#setSessionId === '') this.#setSessionId = CLIENT_HEADS.sessionId;
    this.#noBody = statusCode === 204 || statusCode === 304 || this.#head.method === 'HEAD';
    this.#headPending = true;
    if (!this.#noBody) {
      this.#writer = new ResponseBodyWriter(this.#res, this.#contentLength, this, this.#ctx.sendTimeoutMs);
      // Bytes that arrive in the same read as the head go out with it, in one
      // write; only a head whose body is slow to come is flushed on its own.
      // A promise job, not nextTick: it runs at the same point (the end of the
      // read callback) without a tick object and node's tick-queue pass (and
      // not queueMicrotask, which wraps each callback in an AsyncResource).
      // Inside a read batch the end of the batch is that point (batchRead).
      if (!this.#inBatch) void RESOLVED.then((this.#flushHeadTask ??= () => ProxyExchange.#flushHead(this)));
    } else if (this.#contentLength > 0 && this.#head.method !== 'HEAD') {
      // undici's parser waits for the body a 204/304 announces with a length,
      // though such a response has none (RFC 9110 §8.6): the client gets its
      // answer now and the node connection, which would hang, is dropped.
      this.#endWithoutBody();
      this.#reportSession();
      this.#abortUpstream?.(new Error('bodyless response announced a length'));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#clientGone || this.#clientDone || this.#state !== State.Upstream) return true;
    this.#ctx.counters.addRead(this.#node, chunk.length);
    this.#bodyBytesRead += chunk.length;
    // The last bytes of a known-length body: the request stops counting as
    // running before the client can see its end (STOP-APP's Requests=, the
    // status page).
    if (this.#contentLength >= 0 && this.#bodyBytesRead >= this.#contentLength) this.#closeAttempt();
    this.#chunk = chunk;
    if (this.#inBatch) this.#writeChunk();
    else this.#res.cork((this.#corkedWrite ??= () => this.#writeChunk()));
    this.#chunk = null;
    if (this.#writer?.done === true) this.#clientSideDone();
    return this.#chunkAccepted;
  }

  onComplete(): void {
    if (this.#state !== State.Upstream) return;
    this.#closeAttempt();
    if (!this.#clientGone && !this.#clientDone) {
      if (this.#noBody) {
        this.#endWithoutBody();
      } else {
        this.#releaseBody(false);
        if (this.#inBatch) this.#writeEnd();
        else this.#res.cork(() => this.#writeEnd());
        this.#clientDone = true;
      }
    }
    if (!this.#clientGone) this.#reportSession();
    this.#finish();
  }

  onError(err: Error): void {
    if (this.#state !== State.Upstream) return;
    if (this.#clientGone || this.#clientDone) {
      this.#finish();
      return;
    }
    const code = errorCode(err);
    this.#ctx.counters.traffic.upstreamFailed(this.#node, upstreamFailure(code, this.#responseStarted));
    if (!this.#responseStarted) {
      this.#failBeforeResponse(err, code);
      return;
    }
    // The response had started: if nothing reached the client yet it can still
    // get a clean 502; otherwise the connection is closed, so that a short body
    // is never taken for a whole one.
    this.#ctx.logger.debug({ err, node: this.#route?.node.route }, 'node failed during the response');
    if (code === 'UND_ERR_BODY_TIMEOUT') this.#ctx.counters.markError(this.#node, nowSeconds());
    if (this.#headPending) {
      this.#reply(code === 'UND_ERR_BODY_TIMEOUT' ? 504 : 502);
      return;
    }
    this.#state = State.Done;
    this.#clientDone = true;
    this.#closeAttempt();
    this.#releaseBody(true);
    this.#writer?.dispose();
    this.#res.cork(() => this.#res.close());
    this.#finish();
  }

  /**
   * h1/AJP upstreams (upstream/read-batch.ts): everything one read from the
   * node brings goes to the client in one write (the corks of onData and
   * onComplete inside run as part of this one).
   */
  batchRead(parse: () => boolean): void {
    if (this.#clientGone || this.#clientDone) {
      parse();
      return;
    }
    const outer = batchOwner;
    batchOwner = this;
    this.#batchParse = parse;
    try {
      this.#res.cork(ProxyExchange.#runBatch);
    } finally {
      batchOwner = outer;
      this.#batchParse = null;
    }
    const failure = this.#batchFailure;
    if (failure !== null) {
      this.#batchFailure = null;
      this.#ctx.logger.error({ err: failure }, 'writing a response head failed');
      this.internalError();
    }
  }

  /** The cork callback of batchRead: one function for every exchange. */
  static readonly #runBatch = (): void => {
    const exchange = batchOwner as ProxyExchange;
    exchange.#inBatch = true;
    try {
      const parsed = (exchange.#batchParse as () => boolean)();
      // A head no body byte followed in this read goes now, in this write (the unbatched path's promise job);
      // not after a failed read: the client gets a clean 502 for it instead.
      if (parsed && exchange.#headPending && !exchange.#noBody) exchange.#flushHeadNow();
    } catch (err) {
      // Nothing may throw across uWS's cork; the parse itself never does (read-batch.ts).
      exchange.#batchFailure = err;
    } finally {
      exchange.#inBatch = false;
    }
  };

  /** uWS drained the response: let undici read from the node again. */
  drained(): void {
    if (this.#writer?.done === true) this.#clientSideDone();
    const resume = this.#resumeUpstream;
    if (resume !== null && !this.#clientGone) resume();
  }

  // --------------------------------------------------------------- helpers

  #failBeforeResponse(err: Error, code: string): void {
    const ctx = this.#ctx;
    const node = this.#node;
    // §5.9.5: a node that took the request and did not answer within its Timeout is hung.
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT';
    if (CONNECTION_FAILURES.has(code) || timedOut) {
      // §5.9.1: the node is in error; a connection that never carried the request is no use of it.
      ctx.counters.markError(node, nowSeconds());
      if (timedOut) this.#timedOut = true;
      else ctx.counters.undoElected(node);
      this.#closeAttempt();
      const route = this.#route as NodeRoute;
      const body = this.#body;
      // A body held whole can be sent again even after the hung node took it; a streamed one only if untouched.
      const replayable = body === null || Buffer.isBuffer(body) ? timedOut || this.#bodyBytesSent === 0 : body.replayable;
      if (this.#tries <= route.balancer.maxAttempts && replayable && IDEMPOTENT.has(this.#head.method)) {
        ctx.logger.debug({ code, node: route.node.route, tries: this.#tries }, 'node failed before answering, trying another node');
        (this.#exclude ??= new Set()).add(node);
        ctx.counters.traffic.failover(node);
        this.#routeAgain();
        return;
      }
      ctx.logger.debug({ code, node: route.node.route }, 'node failed before answering');
      this.#reply(timedOut ? 504 : 503);
      return;
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      this.#reply(400);
      return;
    }
    ctx.logger.debug({ err, node: this.#route?.node.route }, 'node request failed');
    this.#reply(502);
  }

  /** The whole response of a HEAD, 204 or 304. */
  #endWithoutBody(): void {
    this.#closeAttempt();
    this.#releaseBody(false);
    if (this.#inBatch) this.#writeWithoutBody();
    else this.#res.cork(() => this.#writeWithoutBody());
    this.#clientDone = true;
  }

  /** Inside cork: the head of a HEAD, 204 or 304, and its end. */
  #writeWithoutBody(): void {
    const res = this.#res;
    this.#writeHead();
    // HEAD and 304 announce the length of the body they do not carry; 204 has none.
    if (this.#contentLength >= 0 && this.#status !== 204) res.writeHeader('Content-Length', String(this.#contentLength));
    res.endWithoutBody();
  }

  /** Inside cork: the node's response is complete. */
  #writeEnd(): void {
    if (this.#headPending) this.#writeHead();
    this.#writer?.end();
  }

  /** Inside cork: status line and headers. */
  #writeHead(): void {
    this.#headPending = false;
    const res = this.#res;
    res.writeStatus(this.#headBlock);
    CLIENT_HEADS.giveBack(this.#headBlock);
    this.#headBlock = NO_HEAD;
    if (this.#head.closeConnection || this.#ctx.draining) res.writeHeader('Connection', 'close');
  }

  /** Inside cork (from onData). */
  #writeChunk(): void {
    if (this.#headPending) this.#writeHead();
    this.#chunkAccepted = (this.#writer as ResponseBodyWriter).write(this.#chunk as Buffer);
  }

  /** From a microtask after onHeaders: no body byte came with the head. */
  static #flushHead(this: void, exchange: ProxyExchange): void {
    if (!exchange.#headPending || exchange.#clientGone || exchange.#clientDone || exchange.#state !== State.Upstream) return;
    const writer = exchange.#writer as ResponseBodyWriter;
    exchange.#res.cork(() => {
      exchange.#writeHead();
      writer.startKnownLength();
    });
    if (writer.done) exchange.#clientSideDone();
  }

  /** Inside the batch's cork, at its end: the head came without a body byte. */
  #flushHeadNow(): void {
    if (this.#clientGone || this.#clientDone || this.#state !== State.Upstream) return;
    const writer = this.#writer as ResponseBodyWriter;
    this.#writeHead();
    writer.startKnownLength();
    if (writer.done) this.#clientSideDone();
  }

  /**
   * uWS ended the response (the announced length was reached), possibly
   * before undici said complete; the response object is dead from here on.
   */
  #clientSideDone(): void {
    if (this.#clientDone) return;
    this.#clientDone = true;
    this.#releaseBody(true);
  }

  #reportSession(): void {
    const sessions = this.#ctx.sessions;
    const route = this.#route;
    if (sessions === null || route === null) return;
    const requestId = route.sessionId;
    const setId = this.#setSessionId;
    if (setId !== '') {
      sessions.add(setId, routeOfSession(setId), requestId !== '' && requestId !== setId ? requestId : undefined);
    } else if (requestId !== '') {
      sessions.add(requestId, route.sessionRoute !== '' ? route.sessionRoute : routeOfSession(requestId));
    }
  }

  /** A reply written by the proxy; ends the exchange. */
  #reply(status: number): void {
    if (this.#clientGone || this.#clientDone || this.#state === State.Done) {
      this.#finish();
      return;
    }
    this.#state = State.Done;
    this.#clientDone = true;
    this.#status = status;
    this.#proxyReplied = true;
    this.#closeAttempt();
    this.#releaseBody(false);
    const res = this.#res;
    res.cork(() => writeTextReply(res, status, this.#head.closeConnection, this.#ctx.draining));
    this.#finish();
  }

  #releaseBody(dead: boolean): void {
    const body = this.#body;
    if (body === null || Buffer.isBuffer(body)) return;
    if (dead) body.detachDead();
    else body.detach();
  }

  #closeAttempt(): void {
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    this.#ctx.counters.endRequest(this.#node, this.#context);
  }

  #finish(): void {
    this.#closeAttempt();
    if (this.#waitTimer !== null) {
      clearTimeout(this.#waitTimer);
      this.#waitTimer = null;
    }
    this.#state = State.Done;
    if (this.#finished) return;
    this.#finished = true;
    this.#ctx.counters.traffic.requestDone(this.#node, this.#context, this.#clientGone ? 0 : this.#status, this.#startedAt);
    const accessLog = this.#ctx.accessLog;
    if (accessLog !== null) accessLog.write(this);
    this.#dropReferences();
    this.#ctx.exchangeDone();
  }

  /**
   * Lets go of what the exchange took on after it began (route, response
   * head, the node request, the body). An exchange still running at a
   * scavenge can be promoted to the old generation; dead there, it would keep
   * everything it points to alive through the remembered set and promote it
   * too, until the next mark-compact (measured: ~3x the bytes promoted per
   * request, README issue 10).
   */
  #dropReferences(): void {
    this.#route = null;
    CLIENT_HEADS.giveBack(this.#headBlock);
    this.#headBlock = NO_HEAD;
    this.#writer = null;
    this.#abortUpstream = null;
    this.#resumeUpstream = null;
    this.#body = null;
    this.#local = null;
    this.#exclude = undefined;
  }

  // ---- what the access log reads once the exchange is over (access-log/record.ts) ----

  get request(): ClientRequestHead {
    return this.#head;
  }

  get status(): number {
    return this.#status;
  }

  get bodyBytes(): number {
    return this.#proxyReplied ? textReplyBodyBytes(this.#status) : this.#bodyBytesRead;
  }

  get nodeRoute(): string {
    return this.#proxyReplied || !this.#responseStarted ? '' : (this.#route?.node.route ?? '');
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  get ttfbUs(): number {
    return this.#ttfbUs;
  }

  get tries(): number {
    return this.#tries;
  }

  get stickyRoute(): string {
    const id = this.#route?.sessionId ?? '';
    return id === '' ? '' : routeOfSession(id);
  }
}

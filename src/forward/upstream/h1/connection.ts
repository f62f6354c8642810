// One keep-alive connection to a node, carrying one request at a time (no
// pipelining). Plain sockets read into ONE buffer shared by every connection
// of the thread (net.Socket `onread`), so a read allocates nothing; body bytes
// reach the handler as views into that buffer and must be used before onData
// returns (the exchange writes them to uWS at once, and copies only what uWS
// could not take). Bytes a paused response still holds are copied aside.
// Imported, not the globals: globalThis.Buffer/process/performance are accessors, a getter call per use on the hot path.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { isOutOfDescriptors } from '../descriptors';
import { asHandshakeError, type TlsSessionCache, type UpstreamTlsOptions } from '../../../tls/upstream';
import {
  BodyTimeoutError,
  ConnectTimeoutError,
  HeadersOverflowError,
  HeadersTimeoutError,
  NotSupportedError,
  RequestContentLengthMismatchError,
  ResponseParseError,
  SocketError,
} from './errors';
import type { H1Request, RequestCarrier } from './request';
import { findHeadEnd, parseResponseHead, ResponseHead } from './response-head';
import { HandleIo } from '../../../net/handle-io';
import { Deadline } from '../deadline';
import { ReadBatcher } from '../read-batch';
import { takesRawHeads, type RawHeadReceiving } from '../raw-head';

/** The largest response head (status line + headers) accepted. */
export const MAX_RESPONSE_HEAD = 64 * 1024;
/** The largest chunk-size line or trailer section accepted. */
const MAX_LINE = 16 * 1024;
/** A Buffer request body up to this size goes out in the same write as the head. */
const COALESCE_LIMIT = 64 * 1024;
/** undici's margin under a node's Keep-Alive timeout hint. */
const KEEP_ALIVE_HINT_MARGIN_MS = 1000;

/** Every plain connection of this thread reads into this buffer. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** The thread's context (CA store with --upstream-ca); undefined: Node's default. */
  readonly secureContext: UpstreamTlsOptions['secureContext'];
  /** TLS sessions of this pool's node: each connection resumes the last one. */
  readonly sessions: TlsSessionCache | null;
  /** Told when a TLS handshake fails (the pool logs it). */
  readonly onTlsError: ((err: Error) => void) | undefined;
  readonly connectTimeoutMs: number;
  /** 0: none. */
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly keepAliveMaxMs: number;
  /** Largest response head accepted (ResponseFieldSize, else MAX_RESPONSE_HEAD). */
  readonly maxHeadBytes: number;
}

/** The pool side of a connection. */
export interface ConnectionOwner {
  /** The response is complete and the connection can carry another request. */
  released(conn: H1Connection): void;
  /** The connection is closed (called once). */
  gone(conn: H1Connection): void;
  /** A request to send again on a fresh connection (it failed on a stale kept-alive one). */
  retry(req: H1Request): void;
  /** Its connection could not be opened: the proxy is out of descriptors (not the node's fault). */
  outOfDescriptors(req: H1Request, err: Error): void;
}

const enum Phase {
  /** No request, or the request is being written and no response byte came yet. */
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkCR,
  ChunkLF,
  Trailers,
  UntilClose,
}

const enum TimerKind {
  None,
  Connect,
  Headers,
  Body,
  Idle,
}

export class H1Connection implements RequestCarrier {
  readonly #owner: ConnectionOwner;
  readonly #settings: ConnectionSettings;
  readonly #socket: net.Socket;
  /** Plain sockets: writes and reads through the libuv handle (handle-io.ts); null for TLS. */
  readonly #io: HandleIo | null;
  #connected = false;
  #closed = false;
  #req: H1Request | null = null;
  /** A response was completed on this socket: a failure before any byte is a stale keep-alive. */
  #reused = false;
  #gotBytes = false;

  // ---- response parsing ----
  #phase = Phase.Head;
  readonly #head = new ResponseHead();
  /** A partial head, chunk-size line or trailer line (owned memory). */
  #carry: Buffer | null = null;
  #remaining = 0;
  #keepAlive = true;
  #trailers: Buffer[] | null = null;
  #trailerBytes = 0;
  #paused = false;
  /** Bytes read before a pause that the response has not taken yet (owned memory). */
  #pending: Buffer | null = null;
  #parsing = false;
  /** Parses each read, in one client write when it is small (read-batch.ts). */
  readonly #batcher = new ReadBatcher((buf, start, end) => this.#parse(buf, start, end));
  /** The node closed a close-delimited body while bytes of it were still held by a pause. */
  #endAfterPending = false;

  // ---- request body ----
  #bodyStream: Readable | null = null;
  #bodyChunked = false;
  #bodySent = 0;
  #bodyDone = true;

  // ---- whichever deadline applies (deadline.ts) ----
  readonly #deadline = new Deadline<TimerKind>((kind) => this.#onDeadline(kind));
  #idleMs: number;

  constructor(owner: ConnectionOwner, settings: ConnectionSettings) {
    this.#owner = owner;
    this.#settings = settings;
    this.#idleMs = settings.keepAliveMs;
    if (settings.tls) {
      const sessions = settings.sessions;
      const socket = tls.connect({
        host: settings.host,
        port: settings.port,
        servername: settings.servername,
        rejectUnauthorized: settings.rejectUnauthorized,
        secureContext: settings.secureContext,
        session: sessions?.get(),
        ALPNProtocols: ['http/1.1'],
      });
      if (sessions !== null) socket.on('session', (session: Buffer) => sessions.set(session));
      socket.on('secureConnect', () => this.#onConnect());
      socket.on('data', (chunk: Buffer) => {
        this.#onBytes(chunk, 0, chunk.length);
        if (this.#paused && !this.#closed) socket.pause();
      });
      this.#socket = socket;
      this.#io = null;
    } else {
      this.#socket = net.connect({
        host: settings.host,
        port: settings.port,
        onread: {
          buffer: READ_BUFFER,
          callback: (nread: number, buf: Uint8Array): boolean => {
            this.#onBytes(buf as Buffer, 0, nread);
            // false stops reading until socket.resume()
            return !this.#paused;
          },
        },
      });
      this.#socket.on('connect', () => this.#onConnect());
      this.#io = new HandleIo(this.#socket, (err) => this.#onSocketError(err));
    }
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('error', (err: Error) => this.#onSocketError(err));
    this.#socket.on('close', () => this.#teardown(new SocketError()));
    this.#socket.on('drain', () => this.#onDrain());
    this.#deadline.arm(TimerKind.Connect, settings.connectTimeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Carries this request (the connection is new or idle). */
  start(req: H1Request): void {
    this.#req = req;
    req.carrier = this;
    this.#gotBytes = false;
    this.#phase = Phase.Head;
    this.#paused = false;
    if (this.#connected) this.#writeRequest(req);
  }

  /** Idle in the pool: closed when the keep-alive time runs out. */
  idle(): void {
    this.#deadline.arm(TimerKind.Idle, this.#idleMs);
  }

  /** Closes the connection (idle, or the pool is being destroyed: the request, if any, fails with err). */
  destroy(err: Error): void {
    this.#teardown(err);
  }

  abortRequest(request: H1Request, err: Error): void {
    if (request !== this.#req) {
      request.fail(err);
      return;
    }
    this.#teardown(err);
  }

  // ------------------------------------------------------------ writing

  #onConnect(): void {
    this.#connected = true;
    this.#socket.setNoDelay(true);
    this.#socket.setKeepAlive(true, 60_000);
    this.#io?.attach((nread) => {
      this.#onBytes(READ_BUFFER, 0, nread);
      return !this.#paused;
    });
    this.#deadline.disarm();
    const req = this.#req;
    if (req !== null) this.#writeRequest(req);
    else this.idle();
  }

  #writeRequest(req: H1Request): void {
    const socket = this.#socket;
    const body = req.body;
    this.#deadline.arm(TimerKind.Headers, this.#settings.headersTimeoutMs);
    const io = this.#io;
    if (body === null) {
      this.#bodyDone = true;
      if (io !== null) io.writeLatin1(req.head);
      else socket.write(req.head, 'latin1');
      return;
    }
    if (Buffer.isBuffer(body)) {
      this.#bodyDone = true;
      const head = req.head;
      if (body.length <= COALESCE_LIMIT) {
        const out = Buffer.allocUnsafe(head.length + body.length);
        out.write(head, 0, 'latin1');
        body.copy(out, head.length);
        if (io !== null) io.writeBuffer(out);
        else socket.write(out);
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      req.handler.onBodySent?.(body.length, body.length);
      return;
    }
    this.#bodyDone = false;
    this.#bodyStream = body;
    this.#bodyChunked = req.streamLength < 0;
    this.#bodySent = 0;
    socket.write(req.head, 'latin1');
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
  }

  readonly #onBodyData = (chunk: Buffer): void => {
    const req = this.#req;
    if (req === null || this.#closed) return;
    const socket = this.#socket;
    let ok: boolean;
    this.#bodySent += chunk.length;
    if (this.#bodyChunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      if (this.#bodySent > req.streamLength) {
        this.#teardown(new RequestContentLengthMismatchError());
        return;
      }
      ok = socket.write(chunk);
    }
    req.handler.onBodySent?.(chunk.length, this.#bodySent);
    if (!ok) this.#bodyStream?.pause();
  };

  readonly #onBodyEnd = (): void => {
    const req = this.#req;
    if (req === null || this.#closed) return;
    if (this.#bodyChunked) this.#socket.write('0\r\n\r\n', 'latin1');
    else if (this.#bodySent !== req.streamLength) {
      this.#teardown(new RequestContentLengthMismatchError());
      return;
    }
    this.#bodyDone = true;
    this.#detachBody();
  };

  readonly #onBodyError = (err: Error): void => {
    this.#teardown(err);
  };

  #onDrain(): void {
    const body = this.#bodyStream;
    if (body !== null && body.isPaused()) body.resume();
  }

  #detachBody(): void {
    const body = this.#bodyStream;
    if (body === null) return;
    this.#bodyStream = null;
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
    body.off('error', this.#onBodyError);
    // A listener-less stream that errors later must not throw.
    body.on('error', ignore);
  }

  // ------------------------------------------------------------ reading

  #onBytes(buf: Buffer, start: number, end: number): void {
    if (this.#req === null) {
      // Bytes nobody asked for: the node is confused; the connection cannot be trusted.
      this.#teardown(new SocketError('unexpected bytes from the node while idle'));
      return;
    }
    this.#gotBytes = true;
    if (this.#deadline.kind === TimerKind.Body) this.#deadline.refresh();
    this.#parsing = true;
    try {
      this.#batcher.parse(this.#req.handler, buf, start, end, this.#carry?.length ?? 0);
    } catch (err) {
      // A handler that throws fails its own request only.
      this.#teardown(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#parsing = false;
    }
  }

  #parse(buf: Buffer, start: number, end: number): void {
    const req = this.#req as H1Request;
    while (start < end) {
      if (this.#req !== req) return;
      if (this.#paused) {
        // Kept until resume(); the shared read buffer is overwritten by the next read.
        this.#pending = buf === READ_BUFFER ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end);
        return;
      }
      switch (this.#phase) {
        case Phase.Head:
          start = this.#readHead(req, buf, start, end);
          if (start < 0) return;
          break;
        case Phase.Length:
        case Phase.ChunkData: {
          const n = Math.min(this.#remaining, end - start);
          this.#remaining -= n;
          const chunk = buf.subarray(start, start + n);
          start += n;
          if (this.#remaining === 0) {
            if (this.#phase === Phase.ChunkData) this.#phase = Phase.ChunkCR;
            else {
              if (!this.#deliver(req, chunk)) return;
              this.#complete(req, start < end);
              return;
            }
          }
          if (!this.#deliver(req, chunk)) return;
          break;
        }
        case Phase.UntilClose: {
          const chunk = buf.subarray(start, end);
          start = end;
          if (!this.#deliver(req, chunk)) return;
          break;
        }
        case Phase.ChunkCR: {
          const c = buf[start];
          if (c === 13) this.#phase = Phase.ChunkLF;
          else if (c === 10) this.#phase = Phase.ChunkSize;
          else throw this.#parseError('chunk not followed by CRLF');
          start++;
          break;
        }
        case Phase.ChunkLF:
          if (buf[start] !== 10) throw this.#parseError('chunk not followed by CRLF');
          this.#phase = Phase.ChunkSize;
          start++;
          break;
        case Phase.ChunkSize:
        case Phase.Trailers: {
          const nl = buf.indexOf(10, start);
          if (nl < 0 || nl >= end) {
            this.#keepLine(buf, start, end);
            return;
          }
          const line = this.#takeLine(buf, start, nl);
          start = nl + 1;
          if (this.#phase === Phase.ChunkSize) this.#chunkSizeLine(line);
          else if (line.length === 0) {
            this.#complete(req, start < end);
            return;
          } else {
            this.#trailerLine(line);
          }
          break;
        }
      }
    }
  }

  /** Reads the head from buf[start, end); returns where the body starts, or -1 to stop. */
  #readHead(req: H1Request, buf: Buffer, start: number, end: number): number {
    let src = buf;
    let s = start;
    let e = end;
    let carried = 0;
    const carry = this.#carry;
    if (carry !== null) {
      src = Buffer.concat([carry, buf.subarray(start, end)]);
      carried = carry.length;
      s = 0;
      e = src.length;
      this.#carry = null;
    }
    // The carried bytes were searched already (up to a line end they may end inside).
    const headEnd = findHeadEnd(src, s + Math.max(0, carried - 3), e);
    if (headEnd < 0) {
      if (e - s > this.#settings.maxHeadBytes) throw new HeadersOverflowError(this.#settings.maxHeadBytes);
      this.#carry = src === READ_BUFFER ? Buffer.from(src.subarray(s, e)) : src.subarray(s, e);
      return -1;
    }
    if (headEnd - s > this.#settings.maxHeadBytes) throw new HeadersOverflowError(this.#settings.maxHeadBytes);
    const head = this.#head;
    const raw = takesRawHeads(req.handler);
    if (raw) {
      // Parsed where it lies: the handler copies the lines it keeps before it returns.
      parseResponseHead(src, s, headEnd, head);
    } else {
      // The handler keeps header buffers past this read: they get memory of their own.
      const headBuf = src === READ_BUFFER ? Buffer.from(src.subarray(s, headEnd)) : src.subarray(s, headEnd);
      parseResponseHead(headBuf, 0, headBuf.length, head);
    }
    const next = carry !== null ? start + (headEnd - carried) : headEnd;
    const status = head.status;
    if (status < 200) {
      // 100 Continue, 103 Early Hints: interim, the final response follows.
      if (status === 101) throw new NotSupportedError('protocol upgrade (101) is not supported');
      head.release();
      return next;
    }
    let keepAlive = head.keepAlive;
    let bodyless = false;
    if (req.method === 'HEAD' || status === 204 || status === 304) {
      // No body, whatever length is announced (RFC 9110 §6.4.1).
      bodyless = true;
    } else if (head.chunked) {
      this.#phase = Phase.ChunkSize;
      this.#trailers = null;
      this.#trailerBytes = 0;
    } else if (head.otherEncoding || head.contentLength < 0) {
      this.#phase = Phase.UntilClose;
      keepAlive = false;
    } else if (head.contentLength === 0) {
      bodyless = true;
    } else {
      this.#phase = Phase.Length;
      this.#remaining = head.contentLength;
    }
    this.#keepAlive = keepAlive && !req.closeConnection;
    if (this.#keepAlive) {
      const hint = head.keepAliveHintMs;
      const max = this.#settings.keepAliveMaxMs;
      this.#idleMs = hint > 0 ? Math.min(hint - KEEP_ALIVE_HINT_MARGIN_MS, max) : Math.min(this.#settings.keepAliveMs, max);
      if (this.#idleMs <= 0) this.#keepAlive = false;
    }
    if (bodyless) this.#deadline.disarm();
    else this.#deadline.arm(TimerKind.Body, this.#settings.bodyTimeoutMs);
    const resume = (req.resume ??= () => this.#resume(req));
    const handler = req.handler;
    const go = raw ? (handler as typeof handler & RawHeadReceiving).onRawHeaders(head, resume) : handler.onHeaders?.(status, head.headerBuffers(), resume, head.statusText);
    head.release();
    if (this.#req !== req) return -1;
    if (go === false) this.#pause();
    if (bodyless) {
      this.#complete(req, next < end);
      return -1;
    }
    return next;
  }

  /** Hands a body chunk over; false when the request is gone (aborted from the handler). */
  #deliver(req: H1Request, chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    const more = req.handler.onData?.(chunk);
    if (this.#req !== req) return false;
    if (more === false) this.#pause();
    return true;
  }

  #keepLine(buf: Buffer, start: number, end: number): void {
    const part = buf.subarray(start, end);
    const carry = this.#carry;
    const joined = carry === null ? Buffer.from(part) : Buffer.concat([carry, part]);
    if (joined.length > MAX_LINE) throw this.#parseError('chunk-size line or trailer too long');
    this.#carry = joined;
  }

  /** The line buf[start, nl) joined to what was carried, without its CR. */
  #takeLine(buf: Buffer, start: number, nl: number): Buffer {
    let line = buf.subarray(start, nl);
    const carry = this.#carry;
    if (carry !== null) {
      line = Buffer.concat([carry, line]);
      this.#carry = null;
      if (line.length > MAX_LINE) throw this.#parseError('chunk-size line or trailer too long');
    }
    const n = line.length;
    return n > 0 && line[n - 1] === 13 ? line.subarray(0, n - 1) : line;
  }

  #chunkSizeLine(line: Buffer): void {
    let size = 0;
    let digits = 0;
    let i = 0;
    for (; i < line.length; i++) {
      const c = line[i] as number;
      let v: number;
      if (c >= 48 && c <= 57) v = c - 48;
      else if (c >= 97 && c <= 102) v = c - 87;
      else if (c >= 65 && c <= 70) v = c - 55;
      else break;
      size = size * 16 + v;
      digits++;
    }
    if (digits === 0 || digits > 13) throw this.#parseError('invalid chunk size');
    // What may follow the size: whitespace and extensions (";name=value"), ignored.
    for (; i < line.length; i++) {
      const c = line[i];
      if (c === 59 /* ; */) break;
      if (c !== 32 && c !== 9) throw this.#parseError('invalid chunk size');
    }
    if (size === 0) {
      this.#phase = Phase.Trailers;
      return;
    }
    this.#phase = Phase.ChunkData;
    this.#remaining = size;
  }

  #trailerLine(line: Buffer): void {
    const colon = line.indexOf(58);
    if (colon <= 0) throw this.#parseError('invalid trailer');
    this.#trailerBytes += line.length;
    if (this.#trailerBytes > MAX_LINE) throw this.#parseError('trailers too long');
    const copy = Buffer.from(line);
    let vs = colon + 1;
    while (vs < copy.length && (copy[vs] === 32 || copy[vs] === 9)) vs++;
    (this.#trailers ??= []).push(copy.subarray(0, colon), copy.subarray(vs));
  }

  #parseError(message: string): ResponseParseError {
    return new ResponseParseError(message);
  }

  #pause(): void {
    this.#paused = true;
    // undici does not count time paused by the handler against the body timeout.
    if (this.#deadline.kind === TimerKind.Body) this.#deadline.disarm();
  }

  #resume(req: H1Request): void {
    if (req !== this.#req || !this.#paused || this.#closed) return;
    this.#paused = false;
    if (this.#parsing) return;
    this.#deadline.arm(TimerKind.Body, this.#settings.bodyTimeoutMs);
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      this.#onBytes(pending, 0, pending.length);
    }
    if (this.#paused || this.#closed) return;
    if (this.#endAfterPending) {
      this.#endAfterPending = false;
      this.#onEnd();
      return;
    }
    this.#socket.resume();
  }

  /** The response is whole: hand the connection back (or close it), then tell the handler. */
  #complete(req: H1Request, extraBytes: boolean): void {
    const reusable = this.#keepAlive && !extraBytes && this.#bodyDone && !this.#closed;
    this.#req = null;
    req.carrier = null;
    this.#reused = true;
    this.#paused = false;
    this.#pending = null;
    this.#carry = null;
    this.#phase = Phase.Head;
    this.#deadline.disarm();
    this.#detachBody();
    const trailers = this.#trailers;
    this.#trailers = null;
    if (!reusable) this.#teardown(null);
    req.complete(trailers);
    if (reusable && !this.#closed) {
      // A pause earlier in the response stopped reading; idle sockets must read to see the node close them.
      this.#socket.resume();
      this.#owner.released(this);
    }
  }

  // ------------------------------------------------------------ endings

  #onEnd(): void {
    const req = this.#req;
    if (req !== null && this.#phase === Phase.UntilClose) {
      if (this.#pending !== null) {
        this.#endAfterPending = true;
        return;
      }
      this.#keepAlive = false;
      this.#complete(req, false);
      return;
    }
    if (this.#req !== null && !this.#gotBytes && this.#reused) {
      this.#teardown(new SocketError('kept-alive connection closed by the node before the response', undefined, true));
      return;
    }
    this.#teardown(new SocketError(this.#gotBytes ? 'other side closed during the response' : 'other side closed'));
  }

  #onSocketError(err: Error): void {
    if (this.#settings.tls && !this.#connected) {
      const tlsErr = asHandshakeError(err);
      if (tlsErr !== err) {
        this.#settings.sessions?.clear();
        this.#settings.onTlsError?.(tlsErr);
        this.#teardown(tlsErr);
        return;
      }
    }
    if (this.#req !== null && !this.#gotBytes && this.#reused) {
      // A kept-alive connection the node dropped: the request never reached it.
      this.#teardown(new SocketError('kept-alive connection closed by the node before the response', err, true));
      return;
    }
    this.#teardown(err);
  }

  #onDeadline(kind: TimerKind): void {
    switch (kind) {
      case TimerKind.Connect:
        this.#teardown(new ConnectTimeoutError(this.#settings.connectTimeoutMs));
        return;
      case TimerKind.Headers:
        this.#teardown(new HeadersTimeoutError(this.#settings.headersTimeoutMs));
        return;
      case TimerKind.Body:
        this.#teardown(new BodyTimeoutError(this.#settings.bodyTimeoutMs));
        return;
      case TimerKind.Idle:
        this.#teardown(null);
        return;
    }
  }

  /** Closes for good; the request still carried, if any, fails with err. */
  #teardown(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadline.clear();
    this.#socket.destroy();
    this.#detachBody();
    this.#pending = null;
    this.#carry = null;
    const req = this.#req;
    this.#req = null;
    this.#owner.gone(this);
    if (req !== null) {
      req.carrier = null;
      // A node closing an idle kept-alive connection as we reuse it is not a node failure: an
      // idempotent request whose body can be sent again goes once more on a fresh connection.
      if (err instanceof SocketError && err.stale && req.replayable()) this.#owner.retry(req);
      else if (isOutOfDescriptors(err)) this.#owner.outOfDescriptors(req, err as Error);
      else req.fail(err ?? new SocketError());
    }
  }
}

function ignore(): void {}

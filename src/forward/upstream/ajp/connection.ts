// One AJP13 connection to a node, carrying one request cycle at a time
// (AJP.md §1.5): CPING/CPONG when the connection is new or was idle, then
// FORWARD_REQUEST, request-body data packets on GET_BODY_CHUNK, and the
// container's SEND_HEADERS / SEND_BODY_CHUNK / END_RESPONSE relayed to the
// handler with backpressure. Sockets read into ONE buffer shared by the
// thread's AJP connections; body bytes reach the handler as views into it
// (used before onData returns); bytes a paused response still holds, and a
// packet split across reads, are copied aside. Writes and reads go through the
// socket's libuv handle when this Node allows it (../handle-io.ts, the same as
// the HTTP/1.1 client), else through the stream. Anything AJP.md §6.4 calls
// malformed destroys the connection: it never goes back to the pool.
// Imported, not the global: globalThis.Buffer is an accessor, a getter call per use on the hot path.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { isOutOfDescriptors } from '../descriptors';
import {
  BodyTimeoutError,
  ConnectTimeoutError,
  HeadersTimeoutError,
  RequestContentLengthMismatchError,
  SocketError,
} from '../h1/errors';
import { AjpCpingError, AjpProtocolError } from './errors';
import {
  ContainerMessage,
  CPING_PACKET,
  decodeSendHeaders,
  EMPTY_DATA_PACKET,
  encodeDataPacket,
  endResponseReuse,
  getBodyChunkLength,
  HEADER_BYTES,
  isCpong,
  maxDataBytes,
  payloadLength,
  sendBodyChunkLength,
  BODY_CHUNK_DATA,
} from './protocol';
import type { AjpRequest, AjpRequestCarrier } from './request';
import { Deadline } from '../deadline';
import { HandleIo } from '../../../net/handle-io';
import { ReadBatcher } from '../read-batch';

/** Every AJP connection of this thread reads into this buffer (one read is at most its size). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface AjpConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly packetSize: number;
  /** Connect and CPONG timeout: the node's ping (AJP.md §6.2). */
  readonly pingTimeoutMs: number;
  /** A pooled connection idle at least this long is pinged before a request (D-AJP-4); 0: always. */
  readonly pingIdleMs: number;
  /** Silence of the node while it owes us a packet: the node's Timeout; 0: none. */
  readonly responseTimeoutMs: number;
  /** Idle time in the pool before the connection is closed (ttl). */
  readonly keepAliveMs: number;
}

/** The pool side of a connection. */
export interface AjpConnectionOwner {
  released(conn: AjpConnection): void;
  gone(conn: AjpConnection): void;
  /** A request to send again on a fresh connection (stale kept-alive connection, failed CPING). */
  retry(req: AjpRequest): void;
  /** Its connection could not be opened: the proxy is out of descriptors (not the node's fault). */
  outOfDescriptors(req: AjpRequest, err: Error): void;
}

const enum Phase {
  Connecting,
  Idle,
  /** CPING sent, waiting for CPONG. */
  Cping,
  /** FORWARD_REQUEST sent: the request cycle until END_RESPONSE. */
  Request,
}

const enum TimerKind {
  None,
  Connect,
  Cpong,
  Headers,
  Body,
  Idle,
}

export class AjpConnection implements AjpRequestCarrier {
  readonly #owner: AjpConnectionOwner;
  readonly #settings: AjpConnectionSettings;
  readonly #socket: net.Socket;
  /** Every write goes here: through the libuv handle, or the stream when that is not possible. */
  readonly #io: HandleIo;
  #phase = Phase.Connecting;
  #closed = false;
  #req: AjpRequest | null = null;
  /** When the last request cycle ended (ms); 0: never carried one. */
  #lastUsed = 0;
  /** This request was preceded by a CPING on this connection. */
  #pinged = false;

  // ---- the response ----
  #gotPacket = false;
  /** Whole packets of request cycles taken so far: the silence deadline restarts when it moves. */
  #packets = 0;
  #headSeen = false;
  #bodyless = false;
  /** Content-Length the container announced, -1 when none. */
  #declared = -1;
  #bodyRead = 0;
  #paused = false;
  #parsing = false;
  /** Parses each read, in one client write when it is small (read-batch.ts). */
  readonly #batcher = new ReadBatcher((buf, start, end) => this.#parse(buf, start, end));
  /** Bytes read before a pause that are not handled yet (owned memory). */
  #pending: Buffer | null = null;
  /** A packet split across reads (owned memory, one packet size). */
  #partial: Buffer | null = null;
  #partialLength = 0;

  // ---- the request body ----
  #bodyOffset = 0;
  #bodyStream: Readable | null = null;
  #streamChunk: Buffer | null = null;
  #streamEnded = false;
  /** GET_BODY_CHUNKs (and the unsolicited first packet) not answered yet, and the size asked. */
  #asks = 0;
  #askBytes = 0;

  // ---- whichever deadline applies (deadline.ts) ----
  readonly #deadline = new Deadline<TimerKind>((kind) => this.#onDeadline(kind));

  constructor(owner: AjpConnectionOwner, settings: AjpConnectionSettings) {
    this.#owner = owner;
    this.#settings = settings;
    this.#socket = net.connect({
      host: settings.host,
      port: settings.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (nread: number, buf: Uint8Array): boolean => {
          this.#onBytes(buf as Buffer, 0, nread);
          return !this.#paused;
        },
      },
    });
    this.#io = new HandleIo(this.#socket, (err) => this.#onSocketError(err));
    this.#socket.on('connect', () => this.#onConnect());
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('error', (err: Error) => this.#onSocketError(err));
    this.#socket.on('close', () => this.#teardown(new SocketError()));
    this.#deadline.arm(TimerKind.Connect, settings.pingTimeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Carries this request (the connection is new or idle). */
  start(req: AjpRequest): void {
    this.#req = req;
    req.carrier = this;
    if (this.#phase === Phase.Idle) this.#begin(req);
  }

  /** Idle in the pool: closed when ttl runs out. */
  idle(): void {
    this.#deadline.arm(TimerKind.Idle, this.#settings.keepAliveMs);
  }

  destroy(err: Error): void {
    this.#teardown(err);
  }

  abortRequest(request: AjpRequest, err: Error): void {
    if (request !== this.#req) {
      request.fail(err);
      return;
    }
    this.#teardown(err);
  }

  // ------------------------------------------------------------ writing

  #onConnect(): void {
    this.#socket.setNoDelay(true);
    this.#socket.setKeepAlive(true, 60_000);
    this.#io.attach((nread) => {
      this.#onBytes(READ_BUFFER, 0, nread);
      return !this.#paused;
    });
    this.#phase = Phase.Idle;
    this.#deadline.disarm();
    const req = this.#req;
    if (req !== null) this.#begin(req);
    else this.idle();
  }

  /** CPING first on a new connection or one idle for pingIdleMs (D-AJP-4), else the request at once. */
  #begin(req: AjpRequest): void {
    const idleFor = Date.now() - this.#lastUsed;
    if (this.#lastUsed === 0 || idleFor >= this.#settings.pingIdleMs) {
      this.#pinged = true;
      this.#phase = Phase.Cping;
      this.#deadline.arm(TimerKind.Cpong, this.#settings.pingTimeoutMs);
      this.#io.writeBuffer(CPING_PACKET);
      return;
    }
    this.#pinged = false;
    this.#sendRequest(req);
  }

  #sendRequest(req: AjpRequest): void {
    this.#phase = Phase.Request;
    this.#gotPacket = false;
    this.#headSeen = false;
    this.#bodyless = false;
    this.#declared = -1;
    this.#bodyRead = 0;
    this.#bodyOffset = 0;
    this.#streamChunk = null;
    this.#streamEnded = false;
    // Content-Length > 0: the first data packet goes unasked, right after the head (AJP.md §3.2).
    this.#asks = req.bodyLength > 0 ? 1 : 0;
    this.#askBytes = maxDataBytes(this.#settings.packetSize);
    this.#deadline.arm(TimerKind.Headers, this.#settings.responseTimeoutMs);
    const body = req.body;
    if (body !== null && !Buffer.isBuffer(body)) {
      this.#bodyStream = body;
      body.on('end', this.#onStreamEnd);
      body.on('error', this.#onStreamError);
    }
    const io = this.#io;
    if (this.#asks === 0) {
      io.writeBuffer(req.packet);
      return;
    }
    // The head and the unasked first data packet: one write.
    io.cork();
    io.writeBuffer(req.packet);
    this.#answerAsks(req);
    io.uncork();
  }

  /** Answers every outstanding GET_BODY_CHUNK with exactly one data packet, as far as body bytes are at hand. */
  #answerAsks(req: AjpRequest): void {
    const max = this.#askBytes;
    while (this.#asks > 0 && !this.#closed) {
      const body = req.body;
      let packet: Buffer;
      let n = 0;
      if (body === null) {
        packet = EMPTY_DATA_PACKET;
      } else if (Buffer.isBuffer(body)) {
        n = Math.min(max, body.length - this.#bodyOffset);
        packet = n > 0 ? encodeDataPacket(body, this.#bodyOffset, n) : EMPTY_DATA_PACKET;
        this.#bodyOffset += n;
      } else {
        let chunk = this.#streamChunk;
        if (chunk === null && !this.#streamEnded) chunk = body.read() as Buffer | null;
        if (chunk === null) {
          if (!this.#streamEnded) {
            // The node waits for us: its silence is not a timeout until we answered.
            if (this.#deadline.kind === TimerKind.Headers || this.#deadline.kind === TimerKind.Body) this.#deadline.disarm();
            body.once('readable', this.#onStreamReadable);
            return;
          }
          if (req.bodyLength >= 0 && this.#bodyOffset !== req.bodyLength) {
            this.#teardown(new RequestContentLengthMismatchError());
            return;
          }
          packet = EMPTY_DATA_PACKET;
        } else {
          n = Math.min(max, chunk.length);
          packet = encodeDataPacket(chunk, 0, n);
          this.#streamChunk = n < chunk.length ? chunk.subarray(n) : null;
          this.#bodyOffset += n;
          if (req.bodyLength >= 0 && this.#bodyOffset > req.bodyLength) {
            this.#teardown(new RequestContentLengthMismatchError());
            return;
          }
        }
      }
      this.#asks--;
      this.#io.writeBuffer(packet);
      if (n > 0) req.handler.onBodySent?.(n, this.#bodyOffset);
      if (this.#req !== req) return;
    }
    if (this.#deadline.kind === TimerKind.None && this.#phase === Phase.Request && !this.#paused) {
      this.#deadline.arm(this.#headSeen ? TimerKind.Body : TimerKind.Headers, this.#settings.responseTimeoutMs);
    }
  }

  readonly #onStreamReadable = (): void => {
    const req = this.#req;
    if (req === null || this.#closed || this.#asks === 0) return;
    this.#answerAsks(req);
  };

  readonly #onStreamEnd = (): void => {
    this.#streamEnded = true;
    this.#onStreamReadable();
  };

  readonly #onStreamError = (err: Error): void => {
    this.#teardown(err);
  };

  #detachBody(): void {
    const body = this.#bodyStream;
    if (body === null) return;
    this.#bodyStream = null;
    this.#streamChunk = null;
    body.off('readable', this.#onStreamReadable);
    body.off('end', this.#onStreamEnd);
    body.off('error', this.#onStreamError);
    // A listener-less stream that errors later must not throw.
    body.on('error', ignore);
  }

  // ------------------------------------------------------------ reading

  #onBytes(buf: Buffer, start: number, end: number): void {
    if (this.#phase !== Phase.Cping && this.#phase !== Phase.Request) {
      // Nothing is owed while idle: a container that talks now cannot be trusted (AJP.md §6.4).
      this.#teardown(new AjpProtocolError('bytes from the container while idle'));
      return;
    }
    this.#parsing = true;
    const packets = this.#packets;
    try {
      const req = this.#req;
      if (req === null) this.#parse(buf, start, end);
      else this.#batcher.parse(req.handler, buf, start, end, this.#partialLength);
    } catch (err) {
      // A malformed packet, or a handler that threw: this request and connection only.
      this.#teardown(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#parsing = false;
    }
    // A whole packet came: the node is not silent. Once per read, not per packet (a refresh reads libuv's clock).
    if (this.#packets !== packets && (this.#deadline.kind === TimerKind.Body || this.#deadline.kind === TimerKind.Headers)) this.#deadline.refresh();
  }

  #parse(buf: Buffer, start: number, end: number): void {
    const size = this.#settings.packetSize;
    while (start < end) {
      if (this.#closed) return;
      if (this.#paused) {
        // Kept until resume(); the shared read buffer is overwritten by the next read.
        this.#pending = buf === READ_BUFFER ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end);
        return;
      }
      if (this.#phase !== Phase.Cping && this.#phase !== Phase.Request) {
        throw new AjpProtocolError('bytes from the container after END_RESPONSE');
      }
      if (this.#partialLength > 0 || end - start < HEADER_BYTES) {
        start = this.#collect(buf, start, end);
        continue;
      }
      const n = payloadLength(buf, start, size);
      const packetEnd = start + HEADER_BYTES + n;
      if (packetEnd > end) {
        start = this.#collect(buf, start, end);
        continue;
      }
      this.#packet(buf, start + HEADER_BYTES, packetEnd, packetEnd < end);
      start = packetEnd;
    }
  }

  /** Gathers a packet split across reads; hands it over once whole. Returns where the next byte is. */
  #collect(buf: Buffer, start: number, end: number): number {
    const partial = (this.#partial ??= Buffer.allocUnsafe(this.#settings.packetSize));
    let have = this.#partialLength;
    if (have < HEADER_BYTES) {
      const take = Math.min(HEADER_BYTES - have, end - start);
      buf.copy(partial, have, start, start + take);
      start += take;
      have += take;
      this.#partialLength = have;
      if (have < HEADER_BYTES) return start;
    }
    const total = HEADER_BYTES + payloadLength(partial, 0, this.#settings.packetSize);
    const take = Math.min(total - have, end - start);
    buf.copy(partial, have, start, start + take);
    start += take;
    have += take;
    if (have < total) {
      this.#partialLength = have;
      return start;
    }
    this.#partialLength = 0;
    this.#packet(partial, HEADER_BYTES, total, start < end);
    return start;
  }

  /** One whole packet: payload = buf[start, end); `more`: bytes follow it in this read. */
  #packet(buf: Buffer, start: number, end: number, more: boolean): void {
    const req = this.#req as AjpRequest;
    if (this.#phase === Phase.Cping) {
      if (!isCpong(buf, start, end)) throw new AjpCpingError('CPING answered with something other than CPONG');
      this.#sendRequest(req);
      return;
    }
    this.#gotPacket = true;
    this.#packets++;
    switch (buf[start]) {
      case ContainerMessage.SendHeaders:
        this.#onSendHeaders(req, buf, start, end);
        return;
      case ContainerMessage.SendBodyChunk: {
        const n = sendBodyChunkLength(buf, start, end);
        if (n === 0) return; // a flush: every chunk is written to the client at once anyway (D-AJP-11)
        if (!this.#headSeen) throw new AjpProtocolError('SEND_BODY_CHUNK before SEND_HEADERS');
        this.#bodyRead += n;
        if (this.#declared >= 0 && this.#bodyRead > this.#declared) throw new AjpProtocolError('more body than Content-Length announced');
        if (this.#bodyless) return;
        const from = start + BODY_CHUNK_DATA;
        const more2 = req.handler.onData?.(buf.subarray(from, from + n));
        if (this.#req === req && more2 === false) this.#pause();
        return;
      }
      case ContainerMessage.EndResponse: {
        const reuse = endResponseReuse(buf, start, end);
        if (!this.#headSeen) throw new AjpProtocolError('END_RESPONSE before SEND_HEADERS');
        this.#complete(req, reuse && !more);
        return;
      }
      case ContainerMessage.GetBodyChunk: {
        const asked = getBodyChunkLength(buf, start, end);
        this.#asks++;
        this.#askBytes = Math.max(1, Math.min(asked, maxDataBytes(this.#settings.packetSize)));
        this.#answerAsks(req);
        return;
      }
      case ContainerMessage.Cpong:
        throw new AjpProtocolError('CPONG inside a request cycle');
      default:
        throw new AjpProtocolError(`unknown message type 0x${(buf[start] as number).toString(16).padStart(2, '0')}`);
    }
  }

  #onSendHeaders(req: AjpRequest, buf: Buffer, start: number, end: number): void {
    if (this.#headSeen) throw new AjpProtocolError('a second SEND_HEADERS');
    const head = decodeSendHeaders(buf, start, end);
    this.#headSeen = true;
    const status = head.status;
    if (status < 200) throw new AjpProtocolError(`interim status ${status} over AJP`);
    this.#bodyless = req.method === 'HEAD' || status === 204 || status === 304;
    this.#declared = this.#bodyless ? -1 : head.contentLength;
    this.#deadline.arm(TimerKind.Body, this.#settings.responseTimeoutMs);
    const resume = (req.resume ??= () => this.#resume(req));
    const go = req.handler.onHeaders?.(status, head.headers, resume, head.reason);
    if (this.#req === req && go === false) this.#pause();
  }

  #pause(): void {
    this.#paused = true;
    // Time the client takes to read is not the node's silence.
    if (this.#deadline.kind === TimerKind.Body) this.#deadline.disarm();
  }

  #resume(req: AjpRequest): void {
    if (req !== this.#req || !this.#paused || this.#closed) return;
    this.#paused = false;
    if (this.#parsing) return;
    this.#deadline.arm(TimerKind.Body, this.#settings.responseTimeoutMs);
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      this.#onBytes(pending, 0, pending.length);
    }
    if (this.#paused || this.#closed) return;
    this.#socket.resume();
  }

  /** END_RESPONSE: hand the connection back only when the container said reuse and nothing else is owed. */
  #complete(req: AjpRequest, reuse: boolean): void {
    const reusable = reuse && this.#partialLength === 0 && !this.#closed;
    this.#req = null;
    req.carrier = null;
    this.#phase = Phase.Idle;
    this.#lastUsed = Date.now();
    this.#paused = false;
    this.#pending = null;
    this.#asks = 0;
    this.#deadline.disarm();
    this.#detachBody();
    if (!reusable) this.#teardown(null);
    req.complete();
    if (reusable && !this.#closed) {
      // A pause earlier in the response stopped reading; an idle socket must read to see the node close it.
      this.#socket.resume();
      this.#owner.released(this);
    }
  }

  // ------------------------------------------------------------ endings

  #onEnd(): void {
    if (this.#phase === Phase.Cping) {
      this.#teardown(new AjpCpingError('connection closed before CPONG'));
      return;
    }
    if (this.#phase === Phase.Request) {
      this.#teardown(this.#stale() ? staleError() : new SocketError(this.#gotPacket ? 'other side closed during the response' : 'other side closed'));
      return;
    }
    this.#teardown(null);
  }

  #onSocketError(err: Error): void {
    if (this.#phase === Phase.Cping) this.#teardown(new AjpCpingError(`connection failed before CPONG: ${err.message}`));
    else if (this.#phase === Phase.Request && this.#stale()) this.#teardown(staleError(err));
    else this.#teardown(err);
  }

  /** A reused connection, not pinged, dropped before any response packet: the request never reached the node (D-AJP-5). */
  #stale(): boolean {
    return this.#lastUsed !== 0 && !this.#pinged && !this.#gotPacket && this.#bodyOffset === 0;
  }

  #onDeadline(kind: TimerKind): void {
    const s = this.#settings;
    switch (kind) {
      case TimerKind.Connect:
        this.#teardown(new ConnectTimeoutError(s.pingTimeoutMs));
        return;
      case TimerKind.Cpong:
        this.#teardown(new AjpCpingError(`no CPONG within ${s.pingTimeoutMs} ms`));
        return;
      case TimerKind.Headers:
        this.#teardown(new HeadersTimeoutError(s.responseTimeoutMs));
        return;
      case TimerKind.Body:
        this.#teardown(new BodyTimeoutError(s.responseTimeoutMs));
        return;
      case TimerKind.Idle:
        this.#teardown(null);
        return;
    }
  }

  /** Closes for good; the request still carried, if any, fails with err or goes once more on a fresh connection. */
  #teardown(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadline.clear();
    this.#socket.destroy();
    this.#detachBody();
    this.#pending = null;
    this.#partial = null;
    const req = this.#req;
    this.#req = null;
    this.#owner.gone(this);
    if (req === null) return;
    req.carrier = null;
    // AJP.md §5: a failed CPING is tried once more on a new connection; a stale
    // kept-alive connection (D-AJP-5) likewise for a request that can be sent again.
    if (err instanceof AjpCpingError && !req.retried) {
      req.retried = true;
      this.#owner.retry(req);
    } else if (err instanceof SocketError && err.stale && req.replayable()) {
      this.#owner.retry(req);
    } else if (isOutOfDescriptors(err)) {
      this.#owner.outOfDescriptors(req, err as Error);
    } else {
      req.fail(err ?? new SocketError());
    }
  }
}

function staleError(cause?: unknown): SocketError {
  return new SocketError('kept-alive AJP connection closed by the node before the response', cause, true);
}

function ignore(): void {}

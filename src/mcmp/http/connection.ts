// One MCMP client connection: feeds the socket to the parser, runs the
// handler per request, and writes the replies strictly in request order
// (HTTP/1.1 pipelining) whatever order the handler's promises settle in.
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { HandleIo } from '../../net/handle-io';
import { HttpErrorCode, HttpParseError, RequestParser, type HttpRequest } from './parser';
import { errorResponse, serializeResponse } from './response';
import type { HttpResponse, RequestHandler } from './message';
import type { RefusalLog } from '../../log-throttle';

/** Options of ManagerServer with every default filled in. */
export interface ConnectionSettings {
  handler: RequestHandler;
  methods: ReadonlySet<string>;
  /** Sent in the Allow header of a 501. */
  allowHeader: string;
  maxBodySize: number;
  maxHeaderSize: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxPipelined: number;
  serverHeader: string | undefined;
  logger: Logger;
  /** 403s and protocol refusals: at most one line per peer address and status a minute. */
  refusals: RefusalLog;
}

/**
 * After our FIN we keep reading (and dropping) what the client still sends,
 * so that closing does not turn into a RST that could destroy the reply in
 * flight; a client that never closes its side is cut off after this.
 */
const LINGER_MS = 2000;

/**
 * Plain connections read into this one buffer through their libuv handle
 * (handle-io.ts): the primary thread handles one read at a time, and the
 * parser copies whatever it keeps (transientChunks), so no buffer is
 * allocated per read.
 */
let sharedReadBuffer: Buffer | null = null;
const READ_BUFFER_BYTES = 64 * 1024;

/** A request waiting for its turn to be answered. */
interface Slot {
  /** null for the listener's own replies to requests that never parsed (400, 403, 408, ...). */
  readonly request: HttpRequest | null;
  response: HttpResponse | null;
  /** The connection closes after this reply. */
  readonly close: boolean;
}

/** open: parsing requests. closing: no more requests, answer the queued ones, then end. ended: FIN sent. */
type Phase = 'open' | 'closing' | 'ended' | 'destroyed';

export class ManagerConnection {
  readonly #socket: net.Socket;
  readonly #s: ConnectionSettings;
  readonly #peer: string;
  /** The peer's address without its port: refusals are counted per address. */
  readonly #address: string;
  readonly #parser: RequestParser;
  /** Writes (and, on plain connections, reads) through the socket's handle when this Node allows it. */
  readonly #io: HandleIo;
  readonly #queue: Slot[] = [];
  #phase: Phase = 'open';
  #requestTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** The idle timer counts: nothing pending since it was (re)armed. A busy connection keeps its timer but disarms it. */
  #idleArmed = false;
  /** Counts each arming, so a close deferred past one poll phase can tell it was re-armed meanwhile. */
  #idleArmings = 0;
  #lingerTimer: NodeJS.Timeout | null = null;

  /** `allowed` is the allow-list verdict on the peer; a refused peer gets 403 and nothing is parsed. */
  constructor(socket: net.Socket, settings: ConnectionSettings, allowed: boolean, onClosed: () => void) {
    this.#socket = socket;
    this.#s = settings;
    const address = socket.remoteAddress ?? '';
    this.#address = address;
    const port = socket.remotePort ?? 0;
    this.#peer = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.#io = new HandleIo(
      socket,
      (err) => socket.destroy(err),
      () => this.#updateFlow(),
    );
    // TLS sockets keep node's reads and writes (their handle is not the TCP stream).
    const readBuffer = socket instanceof tls.TLSSocket ? null : (sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
    const direct = readBuffer !== null && this.#io.attach((n) => this.#onRead(readBuffer, n), readBuffer);
    this.#parser = new RequestParser({
      maxHeaderSize: settings.maxHeaderSize,
      maxBodySize: settings.maxBodySize,
      methods: settings.methods,
      remoteAddress: address,
      remotePort: port,
      transientChunks: direct,
      onRequest: (req) => this.#onRequest(req),
      onContinue: () => this.#onContinue(),
    });

    if (!direct) socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onPeerEnd());
    socket.on('drain', () => this.#updateFlow());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      settings.logger.warn({ peer: this.#peer, code: err.code, err: err.message }, 'MCMP connection error');
      socket.destroy();
    });
    socket.on('close', () => {
      this.#phase = 'destroyed';
      this.#parser.stop();
      this.#queue.length = 0;
      this.#clearTimers();
      if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
      onClosed();
    });

    if (!allowed) {
      settings.refusals.refused(address, 403, { peer: this.#peer }, 'MCMP peer not in the allow list: 403');
      this.#parser.stop();
      this.#phase = 'closing';
      this.#queue.push({ request: null, response: errorResponse(403, 'this address may not send MCMP'), close: true });
      this.#flush();
      return;
    }
    this.#updateTimers();
  }

  /** Server shutdown: take no new requests, answer the ones already read, then close. */
  shutdown(): void {
    if (this.#phase !== 'open') return;
    this.#parser.stop();
    this.#phase = 'closing';
    this.#clearTimers();
    if (this.#queue.length === 0) this.#end();
  }

  /** A read into the shared buffer: parsed before the next read can reuse it. */
  #onRead(buffer: Buffer, n: number): boolean {
    this.#onData(buffer.subarray(0, n));
    return true;
  }

  #onData(chunk: Buffer): void {
    if (this.#phase !== 'open') return; // closing: whatever else the client sends is dropped
    // Activity restarts the idle clock (re-armed from now once nothing is pending), even when the request is answered before the timers are looked at again.
    this.#idleArmed = false;
    try {
      this.#parser.push(chunk);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#updateFlow();
  }

  #onRequest(req: HttpRequest): void {
    if (this.#phase !== 'open') return;
    const slot: Slot = { request: req, response: null, close: !req.keepAlive };
    this.#queue.push(slot);
    if (this.#queue.length >= this.#s.maxPipelined) this.#parser.pause();
    let result: HttpResponse | Promise<HttpResponse>;
    try {
      result = this.#s.handler(req);
    } catch (err) {
      this.#handlerFailed(slot, err);
      return;
    }
    if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function')) {
      Promise.resolve(result).then(
        (res) => this.#settle(slot, res),
        (err: unknown) => this.#handlerFailed(slot, err),
      );
    } else {
      this.#settle(slot, result);
    }
  }

  #onContinue(): void {
    // Only when nothing is queued: a 100 must not overtake earlier replies.
    if (this.#queue.length === 0 && this.#phase === 'open') this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n');
  }

  #handlerFailed(slot: Slot, err: unknown): void {
    const req = slot.request as HttpRequest;
    this.#s.logger.warn({ peer: this.#peer, method: req.method, target: req.target, err: err instanceof Error ? err.message : String(err) }, 'MCMP handler failed: 500');
    this.#settle(slot, errorResponse(500, 'the request could not be processed'));
  }

  #settle(slot: Slot, res: HttpResponse): void {
    if (this.#phase === 'destroyed') return;
    if (typeof res !== 'object' || res === null) {
      const req = slot.request as HttpRequest;
      this.#s.logger.warn({ peer: this.#peer, method: req.method, target: req.target }, 'MCMP handler returned no response: 500');
      slot.response = errorResponse(500, 'the request could not be processed');
    } else {
      slot.response = res;
    }
    this.#flush();
  }

  /** A request that cannot be parsed (or took too long) gets its error reply after the earlier ones, then the connection closes. */
  #fail(err: unknown): void {
    if (this.#phase !== 'open') return;
    const parseError = err instanceof HttpParseError
      ? err
      : new HttpParseError(HttpErrorCode.RequestLine, 400, `unexpected parser failure: ${err instanceof Error ? err.message : String(err)}`);
    this.#s.refusals.refused(this.#address, parseError.status, { peer: this.#peer, code: parseError.code, status: parseError.status, err: parseError.message }, 'bad MCMP HTTP request');
    this.#parser.stop();
    this.#phase = 'closing';
    this.#clearTimers();
    const headers: Array<readonly [string, string]> = parseError.status === 501 ? [['Allow', this.#s.allowHeader]] : [];
    this.#queue.push({ request: null, response: errorResponse(parseError.status, parseError.message, headers), close: true });
    this.#flush();
  }

  /** Writes every reply at the head of the queue that is ready. */
  #flush(): void {
    while (this.#phase === 'open' || this.#phase === 'closing') {
      const slot = this.#queue[0];
      if (slot === undefined || slot.response === null) break;
      this.#queue.shift();
      const req = slot.request;
      const close = slot.close || slot.response.close === true || (this.#phase === 'closing' && this.#queue.length === 0);
      let wire: string | Buffer;
      let status = slot.response.status;
      try {
        wire = serializeResponse(slot.response, {
          httpVersion: req?.httpVersion ?? '1.1',
          headOnly: req !== null && req.method.toUpperCase() === 'HEAD',
          close,
          serverHeader: this.#s.serverHeader,
        });
      } catch (err) {
        this.#s.logger.warn({ peer: this.#peer, method: req?.method, target: req?.target, err: err instanceof Error ? err.message : String(err) }, 'MCMP handler returned an invalid response: 500');
        status = 500;
        wire = serializeResponse(errorResponse(500, 'the request could not be processed'), { httpVersion: req?.httpVersion ?? '1.1', headOnly: false, close, serverHeader: this.#s.serverHeader });
      }
      // The access line of the manager port; the MCMP handler logs each command at debug.
      if (req !== null && this.#s.logger.isLevelEnabled('trace')) this.#s.logger.trace({ peer: this.#peer, method: req.method, target: req.target, status }, 'MCMP request');
      if (close) {
        this.#end(wire);
        return;
      }
      if (typeof wire === 'string') this.#io.writeLatin1(wire);
      else this.#io.writeBuffer(wire);
    }
    if (this.#phase === 'closing' && this.#queue.length === 0) {
      this.#end();
      return;
    }
    this.#updateFlow();
  }

  /** Reads more only while few replies are pending and the client takes what we write. */
  #updateFlow(): void {
    if (this.#phase !== 'open') return;
    // As a stream's writableNeedDrain, counting the direct writes libuv still holds too.
    const canRead = this.#queue.length < this.#s.maxPipelined && this.#io.queuedBytes < this.#socket.writableHighWaterMark;
    if (canRead) {
      try {
        this.#parser.resume();
      } catch (err) {
        this.#fail(err);
        return;
      }
    } else {
      this.#parser.pause();
    }
    if (this.#phase !== 'open') return; // resume() may have delivered a closing request that is already answered
    if (this.#parser.paused || this.#parser.finished) this.#io.pauseReading();
    else this.#io.resumeReading();
    this.#updateTimers();
  }

  /** Request timer while a request is half-received; idle timer while nothing is pending at all. */
  #updateTimers(): void {
    if (this.#phase !== 'open') {
      this.#clearTimers();
      return;
    }
    const receiving = this.#parser.inRequest && !this.#parser.paused;
    if (receiving) {
      if (this.#requestTimer === null) {
        // As for the idle close: the rest of a request that arrived before the
        // deadline is read in the poll phase after the timers; the 408 waits for it.
        const timer = setTimeout(() => setImmediate(() => this.#onRequestTimer(timer)), this.#s.requestTimeoutMs);
        this.#requestTimer = timer;
      }
    } else if (this.#requestTimer !== null) {
      clearTimeout(this.#requestTimer);
      this.#requestTimer = null;
    }
    const idle = this.#queue.length === 0 && !this.#parser.inRequest && !this.#parser.finished;
    if (idle) {
      // One Timeout per connection, re-armed with refresh(): a STATUS every few
      // milliseconds would otherwise create and cancel a timer per message.
      if (this.#idleTimer === null) {
        this.#idleTimer = setTimeout(() => this.#onIdleTimer(), this.#s.keepAliveTimeoutMs);
      } else if (!this.#idleArmed) {
        this.#idleTimer.refresh();
      }
      if (!this.#idleArmed) this.#idleArmings++;
      this.#idleArmed = true;
    } else {
      this.#idleArmed = false;
    }
  }

  /** The request timer fired a poll phase ago; it counts unless the request completed (or stalled on our side) meanwhile. */
  #onRequestTimer(timer: NodeJS.Timeout): void {
    if (this.#requestTimer !== timer || this.#phase !== 'open') return;
    this.#requestTimer = null;
    this.#fail(new HttpParseError(HttpErrorCode.Timeout, 408, `request not complete within ${this.#s.requestTimeoutMs} ms`));
  }

  /** The idle timer fired; it only counts when nothing was pending since it was armed. */
  #onIdleTimer(): void {
    if (!this.#idleArmed || this.#phase !== 'open') return;
    // Timers run before the poll phase: when the loop ran late (a STATUS
    // flood, a long GC), a request that arrived before the deadline is still
    // unread. The close waits one poll phase, which reads it and disarms.
    const arming = this.#idleArmings;
    setImmediate(() => this.#closeIfStillIdle(arming));
  }

  #closeIfStillIdle(arming: number): void {
    if (!this.#idleArmed || this.#idleArmings !== arming || this.#phase !== 'open') return;
    this.#idleTimer = null;
    this.#idleArmed = false;
    this.#s.logger.debug({ peer: this.#peer }, 'idle MCMP connection closed');
    this.#parser.stop();
    this.#end();
  }

  #clearTimers(): void {
    if (this.#requestTimer !== null) clearTimeout(this.#requestTimer);
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#requestTimer = null;
    this.#idleTimer = null;
    this.#idleArmed = false;
  }

  /** The client sent FIN: answer what was read, then close (a half-received request is dropped). */
  #onPeerEnd(): void {
    if (this.#phase !== 'open') return;
    if (this.#parser.inRequest) this.#s.logger.debug({ peer: this.#peer }, 'MCMP client closed in the middle of a request');
    this.#parser.stop();
    this.#phase = 'closing';
    this.#clearTimers();
    if (this.#queue.length === 0) this.#end();
  }

  #end(last?: string | Buffer): void {
    if (this.#phase === 'ended' || this.#phase === 'destroyed') return;
    this.#phase = 'ended';
    this.#parser.stop();
    this.#clearTimers();
    this.#queue.length = 0;
    if (last === undefined) this.#socket.end();
    else if (typeof last === 'string') this.#socket.end(last, 'latin1');
    else this.#socket.end(last);
    this.#io.resumeReading(); // keep draining so the client's FIN is seen
    this.#lingerTimer = setTimeout(() => this.#socket.destroy(), LINGER_MS);
  }
}

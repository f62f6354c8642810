// One request handed to an H1Pool: its head is built (and validated) at
// dispatch, so a request the node must not see fails before any connection is
// used. Exactly one of onComplete/onError reaches the handler.
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, NotSupportedError, RequestAbortedError } from './errors';
import { BodyFraming, declaredContentLength, requestHead, type RequestHeadFlags } from './request-head';

export type H1Handler = Dispatcher.DispatchHandlers;

/** Who carries a request once it has a connection (abort goes there). */
export interface RequestCarrier {
  abortRequest(request: H1Request, err: Error): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class H1Request implements RequestHeadFlags {
  readonly method: string;
  /** The caller asked for `connection: close`: the connection ends with this response. */
  closeConnection = false;
  /** Request line and headers, ready to write (latin1). */
  readonly head: string;
  readonly body: Buffer | Readable | null;
  /** For a streamed body: its declared length, or -1 when it goes chunked. */
  readonly streamLength: number;
  readonly handler: H1Handler;
  /** The connection carrying it, null while queued. */
  carrier: RequestCarrier | null = null;
  /** onComplete or onError was called. */
  done = false;
  /** Already sent again once after a stale kept-alive connection. */
  retried = false;
  /** Handed to onHeaders; made once per response. */
  resume: (() => void) | null = null;
  readonly abort: (err?: Error) => void;

  /**
   * Whether the request may be sent again after a stale kept-alive connection (RFC 9112 §9.3.1):
   * once, idempotent, not answered or aborted, its body (if any) still in memory.
   */
  replayable(): boolean {
    if (this.retried || this.done || !IDEMPOTENT.has(this.method) || !(this.body === null || Buffer.isBuffer(this.body))) return false;
    this.retried = true;
    return true;
  }

  constructor(options: Dispatcher.DispatchOptions, handler: H1Handler, defaultHost: string) {
    this.handler = handler;
    const method = options.method;
    if (typeof method !== 'string') throw new InvalidArgumentError('method must be a string');
    if (typeof options.path !== 'string' || options.path[0] !== '/') throw new InvalidArgumentError('path must start with /');
    const raw = options.headers;
    let headers: string[] | null = null;
    if (Array.isArray(raw)) headers = raw as string[];
    else if (raw !== null && raw !== undefined) throw new NotSupportedError('headers must be a flat [name, value, ...] array');
    const body = options.body;
    let framing: BodyFraming;
    let length = 0;
    let streamLength = -1;
    if (body === null || body === undefined) {
      this.body = null;
      framing = BodyFraming.None;
    } else if (Buffer.isBuffer(body) || typeof body === 'string' || body instanceof Uint8Array) {
      const buf = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const declared = declaredContentLength(headers);
      if (declared >= 0 && declared !== buf.length) throw new InvalidArgumentError('content-length does not match the body');
      this.body = buf.length > 0 ? buf : null;
      framing = buf.length > 0 ? BodyFraming.Length : BodyFraming.None;
      length = buf.length;
    } else if (body instanceof Readable) {
      this.body = body;
      streamLength = declaredContentLength(headers);
      framing = streamLength >= 0 ? BodyFraming.Length : BodyFraming.Chunked;
      length = streamLength;
    } else {
      throw new NotSupportedError('body must be a Buffer, a string or a Readable');
    }
    this.method = method;
    this.streamLength = streamLength;
    this.head = requestHead(method, options.path, headers, defaultHost, framing, length, this);
    this.abort = (err?: Error): void => {
      if (this.done) return;
      const reason = err ?? new RequestAbortedError();
      if (this.carrier !== null) this.carrier.abortRequest(this, reason);
      else this.fail(reason);
    };
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    const body = this.body;
    if (body !== null && !Buffer.isBuffer(body) && !body.destroyed) body.destroy();
    this.handler.onError?.(err);
  }

  complete(trailers: Buffer[] | null): void {
    if (this.done) return;
    this.done = true;
    this.handler.onComplete?.(trailers as unknown as string[] | null);
  }
}

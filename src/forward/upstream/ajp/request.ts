// One request handed to an AjpPool: its FORWARD_REQUEST packet is built (and
// checked against the packet size) at dispatch, so a request the node must not
// see fails before any connection is used (D-AJP-15). Exactly one of
// onComplete/onError reaches the handler.
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ClientRequestHead } from '../../request/headers';
import { InvalidArgumentError, NotSupportedError, RequestAbortedError } from '../h1/errors';
import { encodeForwardRequest, type ForwardRequest } from './protocol';

/** The exchange's dispatch options; an AJP node also needs the client's side of the request. */
export interface ForwardOptions extends Dispatcher.DispatchOptions {
  /** The client request as the forwarding thread read it (AJP: addresses, scheme, Host). */
  readonly client?: ClientRequestHead;
  /** The sticky route found in the request's session id, '' when none (AJP jvm_route). */
  readonly sessionRoute?: string;
}

/** What a pool knows that a request needs: the node's and the listener's side. */
export interface AjpRequestSettings {
  readonly packetSize: number;
  /** AJPSecret for this node, or ''. */
  readonly secret: string;
  /** The address the client connected to when the listener is bound to one, else ''. */
  readonly localAddress: string;
  /** The port the client connected to. */
  readonly localPort: number;
}

/** Who carries a request once it has a connection (abort goes there). */
export interface AjpRequestCarrier {
  abortRequest(request: AjpRequest, err: Error): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class AjpRequest {
  readonly method: string;
  readonly packet: Buffer;
  readonly body: Buffer | Readable | null;
  /** Body bytes announced by Content-Length (a Buffer body: its length); -1: unknown (chunked). */
  readonly bodyLength: number;
  readonly handler: Dispatcher.DispatchHandlers;
  carrier: AjpRequestCarrier | null = null;
  /** onComplete or onError was called. */
  done = false;
  /** Already sent again once: after a stale kept-alive connection or a failed CPING. */
  retried = false;
  resume: (() => void) | null = null;
  readonly abort: (err?: Error) => void;

  constructor(options: ForwardOptions, handler: Dispatcher.DispatchHandlers, settings: AjpRequestSettings) {
    this.handler = handler;
    const { method, path } = options;
    if (typeof method !== 'string') throw new InvalidArgumentError('method must be a string');
    if (typeof path !== 'string' || path[0] !== '/') throw new InvalidArgumentError('path must start with /');
    const client = options.client;
    if (client === undefined) throw new InvalidArgumentError('an AJP request needs the client request head');
    const body = options.body;
    if (body === null || body === undefined) {
      this.body = null;
      this.bodyLength = 0;
    } else if (Buffer.isBuffer(body)) {
      this.body = body.length > 0 ? body : null;
      this.bodyLength = body.length;
    } else if (body instanceof Readable) {
      this.body = body;
      this.bodyLength = client.chunked ? -1 : client.contentLength;
    } else {
      throw new NotSupportedError('body must be a Buffer or a Readable');
    }
    const q = path.indexOf('?');
    const request: ForwardRequest = {
      method,
      protocol: 'HTTP/1.1',
      uri: q < 0 ? path : path.slice(0, q),
      remoteAddr: client.clientAddress,
      serverName: serverName(client.host, settings.localAddress),
      serverPort: settings.localPort,
      isSsl: client.scheme === 'https',
      headers: clientHeaders(client, options.headers),
      query: q < 0 ? null : path.slice(q + 1),
      route: options.sessionRoute ?? '',
      secret: settings.secret,
      // uWebSockets.js 20.30 does not expose the client's port: Tomcat reports -1 for it.
      remotePort: -1,
      localAddr: settings.localAddress,
    };
    this.packet = encodeForwardRequest(request, settings.packetSize);
    this.method = method;
    this.abort = (err?: Error): void => {
      if (this.done) return;
      const reason = err ?? new RequestAbortedError();
      if (this.carrier !== null) this.carrier.abortRequest(this, reason);
      else this.fail(reason);
    };
  }

  /** May go once more on a fresh connection: idempotent, not answered, its body (if any) still whole in memory. */
  replayable(): boolean {
    if (this.retried || this.done || !IDEMPOTENT.has(this.method) || !(this.body === null || Buffer.isBuffer(this.body))) return false;
    this.retried = true;
    return true;
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    const body = this.body;
    if (body !== null && !Buffer.isBuffer(body) && !body.destroyed) body.destroy();
    this.handler.onError?.(err);
  }

  complete(): void {
    if (this.done) return;
    this.done = true;
    this.handler.onComplete?.(null);
  }
}

/**
 * The headers the client sent (D-AJP-13: hop-by-hop already gone), without
 * the X-Forwarded-* this proxy adds for HTTP nodes: the container gets the
 * client's address natively. A client's own X-Forwarded-For/-Host pass.
 */
function clientHeaders(client: ClientRequestHead, sent: Dispatcher.DispatchOptions['headers']): string[] {
  const all = Array.isArray(sent) ? (sent as string[]) : client.headers;
  const out = all.slice(0, client.proxyHeadersFrom);
  if (client.forwardedFor !== '') out.push('x-forwarded-for', client.forwardedFor);
  if (client.forwardedHost !== '') out.push('x-forwarded-host', client.forwardedHost);
  return out;
}

/** server_name (D-AJP-17): the host part of Host, lower case; else the listener's address. */
function serverName(host: string, localAddress: string): string {
  if (host === '') return localAddress !== '' ? localAddress : 'localhost';
  if (host[0] === '[') {
    const close = host.indexOf(']');
    return (close > 0 ? host.slice(1, close) : host).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

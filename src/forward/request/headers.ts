// Header handling between the client and a node (RFC 9110 §7.6.1): the
// hop-by-hop headers stay on their own connection, X-Forwarded-* tell the node
// who the client is, Host is preserved (MCMP.md §5.12, ProxyPreserveHost On).
import type { HttpRequest } from 'uWebSockets.js';
import { addressText } from './client-address';
import { contentLengthValue, isValidHost, MAX_REQUEST_HEAD_BYTES, transferCoding } from './framing';
import { DEFAULT_PATH_RULES, normaliseRequestTarget, type PathRules } from './path';
import { ConnectionOption, soleConnectionOption } from './connection-option';

/** The listener a request came in on: what the node learns as X-Forwarded-Proto/-Port. */
export interface ClientListener {
  readonly scheme: 'http' | 'https';
  /** 0: unknown (no X-Forwarded-Port). */
  readonly port: number;
}

export const PLAIN_LISTENER: ClientListener = { scheme: 'http', port: 0 };

/**
 * Where a client's address is read from: the uWS response (getpeername and an
 * ArrayBuffer per call), only while it is alive. The binary form: its text is
 * made here (client-address.ts), the same as uWS's getRemoteAddressAsText.
 */
export interface RemoteAddressSource {
  getRemoteAddress(): ArrayBuffer;
}

/** The client's address as text, '' when the response can no longer say (uWS throws once it was aborted). */
function remoteAddressText(source: RemoteAddressSource): string {
  try {
    return addressText(source.getRemoteAddress());
  } catch {
    return '';
  }
}

/** What the forwarding path needs from one client request head (uWS's HttpRequest dies with the handler). */
export class ClientRequestHead {
  /** As received (case kept): undici and the node see the same method. */
  method = '';
  /**
   * The normalised request target (request-path.ts), with `;params` and
   * `?query`: what the router matches and what every upstream is sent.
   */
  url = '';
  /** The request target as the client sent it (the access log's %r). */
  receivedTarget = '';
  /** Host header value ('' when absent). */
  host = '';
  /** Cookie header value ('' when absent; several Cookie headers joined with '; '). */
  cookie = '';
  /** Content-Length of the request body, -1 when absent. */
  contentLength = -1;
  /** Transfer-Encoding: chunked (the body length is unknown). */
  chunked = false;
  /** Headers for the node as [name, value, ...], hop-by-hop removed and X-Forwarded-* added. */
  readonly headers: string[] = [];
  /** Index of the Cookie value in `headers`, -1 when there is none. */
  cookieIndex = -1;
  /** X-Forwarded-For / -Host received from the client, appended to. */
  forwardedFor = '';
  forwardedHost = '';
  /** Values of Connection headers: the hop-by-hop headers the client named. */
  connection = '';
  /**
   * The client sent `Connection: close`: uWS closes after the response but
   * does not say so, so the response carries the header (RFC 9112 §9.6).
   */
  closeConnection = false;
  /** The address given, or read once from #addressSource; null: not read yet. */
  #clientAddress: string | null = null;
  /** Set when nothing needed the address while the head was read (ProxyAddHeaders Off): read on first use. */
  #addressSource: RemoteAddressSource | null = null;
  /** The scheme the client used, `http` or `https` (AJP is_ssl). */
  scheme = 'http';
  /** Where the X-Forwarded-* this proxy adds start in `headers` (AJP nodes get the client's headers without them). */
  proxyHeadersFrom = 0;
  /**
   * Not 0: the status the proxy answers instead of serving the request
   * (framing, Host, path or size refused), and the connection is closed.
   */
  refusal = 0;
  /** Host fields seen. */
  hostFields = 0;
  /** Transfer-Encoding fields seen, and their values joined with ','. */
  transferEncodingFields = 0;
  transferEncoding = '';
  /** Bytes of the header section as received (name, ": ", value, CRLF per field). */
  headBytes = 0;
  /** The port the client connected to (0 when unknown); sent as X-Forwarded-Port. */
  port = 0;

  get hasBody(): boolean {
    return this.contentLength > 0 || this.chunked;
  }

  /**
   * The client's address as uWS gives it as text (X-Forwarded-For, AJP
   * remote_addr, the access and refusal logs). When it was not read with the
   * head, the first use reads it: it must come while the uWS response is alive.
   */
  get clientAddress(): string {
    let address = this.#clientAddress;
    if (address === null) {
      const source = this.#addressSource;
      address = source === null ? '' : remoteAddressText(source);
      this.#clientAddress = address;
      this.#addressSource = null;
    }
    return address;
  }

  /** Reads the address now, while the response is alive, for a reader that comes after it (the access log). */
  keepClientAddress(): void {
    if (this.#clientAddress === null) void this.clientAddress;
  }

  /** The address, or where to read it from on first use. */
  setClientAddress(client: string | RemoteAddressSource): void {
    if (typeof client === 'string') this.#clientAddress = client;
    else this.#addressSource = client;
  }
}

// uWS calls forEach's callback once per header; a module-level target and
// callback avoid allocating a closure per request.
let target: ClientRequestHead | undefined;
/** ProxyAddHeaders of the head being read: the client's X-Forwarded-For/-Host are appended to (On) or passed as sent (Off). */
let addingHeaders = true;

/** Keeps the first reason a request is refused. */
function refuse(head: ClientRequestHead, status: number): void {
  if (head.refusal === 0) head.refusal = status;
}

function collect(name: string, value: string): void {
  const head = target as ClientRequestHead;
  head.headBytes += name.length + value.length + 4;
  switch (name) {
    case 'host':
      // RFC 9112 §3.2: a repeated Host is a 400.
      if (head.hostFields++ > 0) {
        refuse(head, 400);
        return;
      }
      head.host = value;
      break;
    case 'cookie':
      if (head.cookieIndex >= 0) {
        head.cookie = `${head.cookie}; ${value}`;
        head.headers[head.cookieIndex] = head.cookie;
        return;
      }
      head.cookie = value;
      head.cookieIndex = head.headers.length + 1;
      break;
    case 'content-length': {
      // uWS frames the body on the first field: any other value is a 400
      // (RFC 9112 §6.3), an identical repeat is forwarded once.
      const length = contentLengthValue(value);
      if (length < 0 || (head.contentLength >= 0 && head.contentLength !== length)) refuse(head, 400);
      if (head.contentLength >= 0) return;
      head.contentLength = length;
      break;
    }
    case 'transfer-encoding':
      // Checked once all fields are in (request-framing.ts); never forwarded, the upstream frames the body itself.
      head.transferEncoding = head.transferEncodingFields++ === 0 ? value : `${head.transferEncoding},${value}`;
      return;
    case 'connection':
      head.connection = head.connection === '' ? value : `${head.connection},${value}`;
      return;
    case 'x-forwarded-for':
      if (!addingHeaders) break;
      head.forwardedFor = head.forwardedFor === '' ? value : `${head.forwardedFor}, ${value}`;
      return;
    case 'x-forwarded-host':
      if (!addingHeaders) break;
      head.forwardedHost = head.forwardedHost === '' ? value : `${head.forwardedHost}, ${value}`;
      return;
    case 'keep-alive':
    case 'te':
    case 'trailer':
    case 'upgrade':
    // uWS answered `Expect: 100-continue` itself; undici refuses the header.
    case 'expect':
    // Set by this proxy, never trusted from the client.
    case 'x-forwarded-proto':
    case 'x-forwarded-port':
      return;
    default:
      if (name.charCodeAt(0) === 112 /* p */ && name.startsWith('proxy-')) return;
  }
  head.headers.push(name, value);
}

/**
 * Reads the request head from uWS (valid only inside the route handler) and
 * builds the header list for the node. `url` is the target as uWS gives it
 * (path, and `?query` when there is one); `head.url` becomes its normalised
 * form under `rules`. `client` is the client's address as text, or the uWS
 * response to read it from when first needed (ProxyAddHeaders Off: a
 * getpeername saved on every request nothing asks it of); `proto` is the
 * scheme the client used and `port` the port it connected to (0: unknown, no
 * X-Forwarded-Port). `addHeaders` is ProxyAddHeaders: On adds X-Forwarded-For,
 * -Proto, -Port and -Host (the client's own For/Host appended to), Off adds
 * none and passes the client's For/Host as sent. A request to refuse has
 * `refusal` set.
 */
export function readRequestHead(
  req: HttpRequest,
  url: string,
  client: string | RemoteAddressSource,
  proto: string,
  rules: PathRules = DEFAULT_PATH_RULES,
  port = 0,
  addHeaders = true,
): ClientRequestHead {
  const head = new ClientRequestHead();
  head.port = port;
  head.method = req.getCaseSensitiveMethod();
  head.url = url;
  head.receivedTarget = url;
  target = head;
  addingHeaders = addHeaders;
  req.forEach(collect);
  target = undefined;
  checkHead(head, url, rules);
  if (head.connection !== '') {
    const option = soleConnectionOption(head.connection);
    if (option !== ConnectionOption.Other) head.closeConnection = option === ConnectionOption.Close;
    else {
      head.closeConnection = /(?:^|,)\s*close\s*(?:,|$)/i.test(head.connection);
      dropConnectionTokens(head);
    }
  }
  const h = head.headers;
  head.setClientAddress(client);
  head.scheme = proto;
  head.proxyHeadersFrom = h.length;
  if (!addHeaders) return head;
  const clientAddress = head.clientAddress;
  h.push('x-forwarded-for', head.forwardedFor === '' ? clientAddress : `${head.forwardedFor}, ${clientAddress}`);
  h.push('x-forwarded-proto', proto);
  if (port > 0) h.push('x-forwarded-port', String(port));
  if (head.host !== '') h.push('x-forwarded-host', head.forwardedHost === '' ? head.host : `${head.forwardedHost}, ${head.host}`);
  return head;
}

/** The framing, Host, size and target checks once every field is in. */
function checkHead(head: ClientRequestHead, url: string, rules: PathRules): void {
  if (head.headBytes + url.length > MAX_REQUEST_HEAD_BYTES) head.refusal = 431;
  if (head.transferEncodingFields > 0) {
    const coding = transferCoding(head.transferEncoding);
    if (coding === 'chunked') head.chunked = true;
    else refuse(head, coding);
    // uWS closes such a request itself; kept so that no framing is ever guessed.
    if (head.contentLength >= 0) refuse(head, 400);
  }
  // uWS drops a request without Host (HTTP/1.0 too) before this point.
  if (head.hostFields === 0 || !isValidHost(head.host)) refuse(head, 400);
  const normal = normaliseRequestTarget(url, rules);
  if (typeof normal === 'number') refuse(head, normal);
  else head.url = normal;
}

/** Removes the headers the client's Connection header names (rare: most clients send only close/keep-alive). */
function dropConnectionTokens(head: ClientRequestHead): void {
  const named = new Set<string>();
  for (const token of head.connection.split(',')) {
    const t = token.trim().toLowerCase();
    // Host is what routes the request; a client cannot make it hop-by-hop.
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'host') named.add(t);
  }
  if (named.size === 0) return;
  const h = head.headers;
  let out = 0;
  head.cookieIndex = -1;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    if (named.has(name)) continue;
    if (name === 'cookie') head.cookieIndex = out + 1;
    h[out] = name;
    h[out + 1] = h[i + 1] as string;
    out += 2;
  }
  h.length = out;
  if (head.cookieIndex < 0) head.cookie = '';
  if (named.has('x-forwarded-for')) head.forwardedFor = '';
  if (named.has('x-forwarded-host')) head.forwardedHost = '';
}

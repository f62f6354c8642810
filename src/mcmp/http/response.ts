// Turns a handler's HttpResponse into the bytes of an HTTP/1.1 response.
// Framing (Content-Length, Connection, close-delimited HTTP/1.0 bodies) is
// decided here and only here, so handlers cannot contradict it.
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './message';

export class InvalidResponseError extends Error {
  readonly code = 'ERR_MCMP_EDGE_HTTP_RESPONSE';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResponseError';
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values may not carry CR, LF or other control characters (response splitting), nor non-latin1 text. */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f\u0100-\uffff]/;
/** The server owns these: a handler setting them would break the framing. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

/** The standard reason phrase; the Java worker requires one (MCMP.md §1.6). */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown Status';
}

let dateSecond = -1;
let dateText = '';
/** IMF-fixdate of now, computed at most once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export interface WireOptions {
  httpVersion: '1.0' | '1.1';
  /** The request was HEAD: announce the body's length, send none of it. */
  headOnly: boolean;
  /** The connection closes after this response. */
  close: boolean;
  serverHeader?: string;
}

/** The header lines of a handler's header list, checked once. */
interface CheckedHeaders {
  readonly text: string;
  readonly hasDate: boolean;
  readonly hasServer: boolean;
}

/**
 * Header lists the handler shares between replies (frozen, with frozen pairs)
 * are checked once: per MCMP reply the checks cost about as much as the rest
 * of the serialisation.
 */
const checkedFrozen = new WeakMap<object, CheckedHeaders>();

function checkHeaders(headers: ReadonlyArray<readonly [string, string]>): CheckedHeaders {
  let text = '';
  let hasDate = false;
  let hasServer = false;
  for (const [name, value] of headers) {
    if (typeof name !== 'string' || !TOKEN.test(name)) throw new InvalidResponseError(`bad header name ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || BAD_VALUE.test(value)) throw new InvalidResponseError(`bad value for header ${name}`);
    const lower = name.toLowerCase();
    if (FRAMING_HEADERS.has(lower)) throw new InvalidResponseError(`header ${name} is set by the server`);
    if (lower === 'date') hasDate = true;
    if (lower === 'server') hasServer = true;
    text += `${name}: ${value}\r\n`;
  }
  return { text, hasDate, hasServer };
}

function headerLines(headers: ReadonlyArray<readonly [string, string]> | undefined): CheckedHeaders {
  if (headers === undefined) return NO_HEADERS;
  const known = checkedFrozen.get(headers);
  if (known !== undefined) return known;
  const checked = checkHeaders(headers);
  if (Object.isFrozen(headers) && headers.every((pair) => Object.isFrozen(pair))) checkedFrozen.set(headers, checked);
  return checked;
}

const NO_HEADERS: CheckedHeaders = { text: '', hasDate: false, hasServer: false };

/**
 * Builds the response; throws InvalidResponseError if the handler's response
 * cannot be sent as is. A reply whose body is ASCII text (every MCMP reply)
 * comes as one latin1 string, written without a Buffer; others as one Buffer.
 */
export function serializeResponse(res: HttpResponse, o: WireOptions): string | Buffer {
  const status = res.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new InvalidResponseError(`status ${String(status)} is not a final status 200..599`);
  const body = res.body;
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) throw new InvalidResponseError('body is neither a string nor a Buffer');
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const bodyless = status === 204 || status === 304;
  if (bodyless && length > 0) throw new InvalidResponseError(`status ${status} cannot carry a body`);

  const lines = headerLines(res.headers);
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n${lines.text}`;
  if (!lines.hasDate) head += `Date: ${httpDate()}\r\n`;
  if (!lines.hasServer && o.serverHeader !== undefined && o.serverHeader !== '') head += `Server: ${o.serverHeader}\r\n`;
  // HTTP/1.0 replies are close-delimited, as httpd does (reference exchanges #3, #77).
  if (o.httpVersion === '1.1' && !bodyless) head += `Content-Length: ${length}\r\n`;
  if (o.close || o.httpVersion === '1.0') head += 'Connection: close\r\n';
  head += '\r\n';

  const sendBody = !o.headOnly && body !== undefined && length > 0;
  if (!sendBody) return head;
  // As many UTF-8 bytes as characters: ASCII, the same bytes in latin1.
  if (typeof body === 'string' && length === body.length) return head + body;
  // One allocation for head and body: the reply goes out in one write.
  const headLength = head.length;
  const out = Buffer.allocUnsafe(headLength + length);
  out.write(head, 0, headLength, 'latin1');
  if (typeof body === 'string') out.write(body, headLength, length, 'utf8');
  else body.copy(out, headLength);
  return out;
}

/** A short text/plain reply for errors found by the listener itself (400, 403, 408, 431, 500, 501, 505). */
export function errorResponse(status: number, detail: string, headers: ReadonlyArray<readonly [string, string]> = []): HttpResponse {
  return {
    status,
    headers: [...headers, ['Content-Type', 'text/plain; charset=utf-8']],
    body: `${status} ${reasonPhrase(status)}: ${detail}\n`,
  };
}

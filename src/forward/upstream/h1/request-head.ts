// The request line and header block sent to a node, as one latin1 string (one
// write with the body when it is small). Validation follows undici's, so a
// request undici would refuse (UND_ERR_INVALID_ARG → 400) is refused here too.
import { InvalidArgumentError, NotSupportedError } from './errors';

// The checks run on every header of every request: scans over a character
// table, not regular expressions (RegExp exec was a visible cost per request).

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** undici's check: no control character, space or non-latin1 character in the target. */
function isValidPath(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0xff) return false;
  }
  return true;
}

/** HTAB, printable ASCII and latin1 above DEL. */
function isValidValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 ? c !== 9 : c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** `name` (a token) is `lower` in any case: no lower-case copy made. */
function nameIs(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    // |0x20 folds A-Z to a-z; a token holds no character it would confuse with a letter or "-".
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Framing of the request body. */
export const enum BodyFraming {
  /** No body; methods that expect one get `content-length: 0`. */
  None,
  /** The given length (a Buffer body, or a stream whose length was declared). */
  Length,
  /** A stream of unknown length: chunked. */
  Chunked,
}

/** Methods whose request without a body still says so (undici sends content-length: 0 for them). */
function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/**
 * The Content-Length value among the request headers, -1 when there is none.
 * Throws when it is not a plain decimal number.
 */
export function declaredContentLength(headers: readonly string[] | null): number {
  if (headers === null) return -1;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const value = headers[i + 1] as string;
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('invalid content-length header');
      return Number(value);
    }
  }
  return -1;
}

/** What the headers say about the connection. */
export interface RequestHeadFlags {
  /** `connection: close` was asked for: the connection is not reused after this request. */
  closeConnection: boolean;
}

/**
 * The head of one request. `length` is the body length for BodyFraming.Length.
 * Content-Length / Transfer-Encoding among `headers` are replaced by what the
 * framing says; Host is added when absent. A `connection` header (close or
 * keep-alive only, as undici) is not sent: it is noted in `flags`.
 */
export function requestHead(
  method: string,
  path: string,
  headers: readonly string[] | null,
  defaultHost: string,
  framing: BodyFraming,
  length: number,
  flags: RequestHeadFlags,
): string {
  if (!isToken(method)) throw new InvalidArgumentError('invalid request method');
  if (path.length === 0 || !isValidPath(path)) throw new InvalidArgumentError('invalid request path');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  if (headers !== null) {
    if ((headers.length & 1) !== 0) throw new InvalidArgumentError('headers must be name/value pairs');
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (typeof name !== 'string' || typeof value !== 'string' || !isToken(name)) throw new InvalidArgumentError('invalid header name');
      if (!isValidValue(value)) throw new InvalidArgumentError(`invalid ${name} header`);
      switch (name.length) {
        case 4:
          if (nameIs(name, 'host')) {
            if (hasHost) throw new InvalidArgumentError('duplicate host header');
            hasHost = true;
          }
          break;
        case 10: {
          if (nameIs(name, 'keep-alive')) throw new InvalidArgumentError('invalid keep-alive header');
          if (nameIs(name, 'connection')) {
            const token = value.toLowerCase();
            if (token !== 'close' && token !== 'keep-alive') throw new InvalidArgumentError('invalid connection header');
            if (token === 'close') flags.closeConnection = true;
            continue;
          }
          break;
        }
        case 14:
          if (nameIs(name, 'content-length')) continue;
          break;
        case 17:
          if (nameIs(name, 'transfer-encoding')) throw new InvalidArgumentError('invalid transfer-encoding header');
          break;
        case 6:
          if (nameIs(name, 'expect')) throw new NotSupportedError('expect header not supported');
          break;
        case 7:
          if (nameIs(name, 'upgrade')) throw new InvalidArgumentError('invalid upgrade header');
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
  }
  if (!hasHost) head += `host: ${defaultHost}\r\n`;
  switch (framing) {
    case BodyFraming.None:
      if (expectsPayload(method)) head += 'content-length: 0\r\n';
      break;
    case BodyFraming.Length:
      head += `content-length: ${length}\r\n`;
      break;
    case BodyFraming.Chunked:
      head += 'transfer-encoding: chunked\r\n';
      break;
  }
  return `${head}\r\n`;
}

// The request line and header block sent to a node, as one latin1 string (one
// write with the body when it is small). Validation follows undici's, so a
// request undici would refuse (UND_ERR_INVALID_ARG → 400) is refused here too.
import { InvalidArgumentError, NotSupportedError } from './errors';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** undici's check: no control character, space or non-latin1 character in the target. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

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
  if (!TOKEN.test(method)) throw new InvalidArgumentError('invalid request method');
  if (path.length === 0 || INVALID_PATH.test(path)) throw new InvalidArgumentError('invalid request path');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  if (headers !== null) {
    if ((headers.length & 1) !== 0) throw new InvalidArgumentError('headers must be name/value pairs');
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (typeof name !== 'string' || typeof value !== 'string' || !TOKEN.test(name)) throw new InvalidArgumentError('invalid header name');
      if (INVALID_VALUE.test(value)) throw new InvalidArgumentError(`invalid ${name} header`);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') {
            if (hasHost) throw new InvalidArgumentError('duplicate host header');
            hasHost = true;
          }
          break;
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'keep-alive') throw new InvalidArgumentError('invalid keep-alive header');
          if (lower === 'connection') {
            const token = value.toLowerCase();
            if (token !== 'close' && token !== 'keep-alive') throw new InvalidArgumentError('invalid connection header');
            if (token === 'close') flags.closeConnection = true;
            continue;
          }
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') continue;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') throw new InvalidArgumentError('invalid transfer-encoding header');
          break;
        case 6:
          if (name.toLowerCase() === 'expect') throw new NotSupportedError('expect header not supported');
          break;
        case 7:
          if (name.toLowerCase() === 'upgrade') throw new InvalidArgumentError('invalid upgrade header');
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

// A strict, incremental HTTP/1.x request parser for the MCMP listener.
// Neither uWebSockets.js nor node:http accept methods such as CONFIG or
// ENABLE-APP (ARCHITECTURE.md), so the primary parses requests itself. It is
// strict on purpose: anything ambiguous about framing (bare LF, obs-fold,
// Content-Length together with Transfer-Encoding, ...) is a 400, because a
// lenient parser in front of a table that steers all traffic is a smuggling
// hazard. Bytes are fed as they arrive; complete requests come out in order.

/** Error codes of HttpParseError (and of the listener's own 408). */
export const HttpErrorCode = {
  RequestLine: 'ERR_MCMP_EDGE_HTTP_REQUEST_LINE',
  Version: 'ERR_MCMP_EDGE_HTTP_VERSION',
  Target: 'ERR_MCMP_EDGE_HTTP_TARGET',
  LineEnd: 'ERR_MCMP_EDGE_HTTP_LINE_END',
  Header: 'ERR_MCMP_EDGE_HTTP_HEADER',
  Host: 'ERR_MCMP_EDGE_HTTP_HOST',
  Framing: 'ERR_MCMP_EDGE_HTTP_FRAMING',
  Chunk: 'ERR_MCMP_EDGE_HTTP_CHUNK',
  HeaderTooLarge: 'ERR_MCMP_EDGE_HTTP_HEADER_TOO_LARGE',
  Method: 'ERR_MCMP_EDGE_HTTP_METHOD',
  Timeout: 'ERR_MCMP_EDGE_HTTP_TIMEOUT',
} as const;

export class HttpParseError extends Error {
  readonly code: string;
  /** The HTTP status to answer with: 400, 408, 413, 431, 501 or 505. */
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.code = code;
    this.status = status;
  }
}

export interface HttpRequest {
  /** The method as sent (MCMP matches methods case-insensitively: dispatch on methodUpper). */
  method: string;
  /**
   * Upper-cased method the handler dispatches on. One exception: when the
   * accepted methods include GET but not HEAD, a HEAD request comes as 'GET'
   * (`method` still says HEAD) and the listener sends the headers only.
   */
  methodUpper: string;
  target: string;
  httpVersion: '1.0' | '1.1';
  /** Header names lower-cased, values trimmed, in the order received. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** First value of a header; the name is case-insensitive. */
  header(name: string): string | undefined;
  body: Buffer;
  /** The body exceeded the limit: it was read and thrown away, `body` is empty. */
  bodyTooLarge: boolean;
  /** False when the connection closes after this request's reply (HTTP/1.0, `Connection: close`, body too large). */
  keepAlive: boolean;
  remoteAddress: string;
  remotePort: number;
}

export interface RequestParserOptions {
  /** Bytes allowed for the request line plus headers (and, separately, for chunked trailers). */
  maxHeaderSize: number;
  /** Larger bodies are not buffered: the request comes out with bodyTooLarge. */
  maxBodySize: number;
  /** Upper-case methods accepted (HEAD too when GET is there); any other fails with 501 once its head is read. Omitted: every token. */
  methods?: ReadonlySet<string>;
  remoteAddress: string;
  remotePort: number;
  /**
   * The buffers given to push() are reused by the caller once push() returns
   * (reads into one shared buffer): whatever the parser keeps (a partial
   * request, bytes not parsed yet, a body) is copied first. Default false:
   * pushed buffers are kept as they are.
   */
  transientChunks?: boolean;
  /** Receives each complete request, in order. */
  onRequest(req: HttpRequest): void;
  /** A head asked `Expect: 100-continue` and its body has not arrived yet. */
  onContinue?(): void;
}

class ParsedRequest implements HttpRequest {
  constructor(
    readonly method: string,
    readonly methodUpper: string,
    readonly target: string,
    readonly httpVersion: '1.0' | '1.1',
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly body: Buffer,
    readonly bodyTooLarge: boolean,
    readonly keepAlive: boolean,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  header(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (const [n, v] of this.headers) if (n === wanted) return v;
    return undefined;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);
/** A chunk-size line is a few hex digits plus extensions we ignore; anything longer is abuse. */
const MAX_CHUNK_LINE = 4096;
/** 2^53 needs 14 hex digits: 13 keep every size a safe integer. */
const MAX_CHUNK_HEX_DIGITS = 13;
/** 15 decimal digits stay below Number.MAX_SAFE_INTEGER. */
const MAX_LENGTH_DIGITS = 15;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^\d+$/;

/** `HTTP/d.d` (one digit each). */
function isHttpVersion(v: string): boolean {
  if (v.length !== 8 || !v.startsWith('HTTP/') || v.charCodeAt(6) !== 0x2e /* . */) return false;
  const major = v.charCodeAt(5);
  const minor = v.charCodeAt(7);
  return major >= 0x30 && major <= 0x39 && minor >= 0x30 && minor <= 0x39;
}
/** Field values: visible ASCII, obs-text, SP and HTAB; no other control characters. */
const BAD_FIELD_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
const TARGET_CHARS = /^[\x21-\x7e]+$/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]/;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]+)(?:[ \t]*;.*)?$/;

// Parser states.
const HEAD = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
/** A request that closes the connection was delivered, or stop() was called: later bytes are ignored. */
const DONE = 6;
const FAILED = 7;
type State = typeof HEAD | typeof BODY | typeof CHUNK_SIZE | typeof CHUNK_DATA | typeof CHUNK_DATA_END | typeof TRAILERS | typeof DONE | typeof FAILED;

/** What a parsed head says about the request still being read. */
interface PendingRequest {
  method: string;
  methodUpper: string;
  target: string;
  httpVersion: '1.0' | '1.1';
  headers: Array<readonly [string, string]>;
  keepAlive: boolean;
}

function lineEndError(): HttpParseError {
  return new HttpParseError(HttpErrorCode.LineEnd, 400, 'line not terminated by CRLF');
}

function headerTooLarge(what: string, max: number): HttpParseError {
  return new HttpParseError(HttpErrorCode.HeaderTooLarge, 431, `${what} larger than ${max} bytes`);
}

/** line[from..] without leading and trailing SP/HTAB (RFC 9110 OWS); a loop, not a regex: it runs for every header. */
function trimOws(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  return line.slice(start, end);
}

/** Validates one `name: value` line; returns the lower-cased name and the trimmed value. */
function parseFieldLine(line: string): readonly [string, string] {
  if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) {
    throw new HttpParseError(HttpErrorCode.Header, 400, 'folded header line (obs-fold) or leading whitespace');
  }
  const colon = line.indexOf(':');
  const name = colon < 0 ? '' : line.slice(0, colon);
  if (!TOKEN.test(name)) throw new HttpParseError(HttpErrorCode.Header, 400, 'malformed header name');
  const value = trimOws(line, colon + 1);
  if (BAD_FIELD_CHAR.test(value)) throw new HttpParseError(HttpErrorCode.Header, 400, `control character in header ${name}`);
  return [name.toLowerCase(), value];
}

/** The comma-separated list elements of every field named `name`, trimmed, empty ones dropped. */
function listValues(headers: ReadonlyArray<readonly [string, string]>, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n !== name) continue;
    for (const item of v.split(',')) {
      const t = item.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

function countOf(headers: ReadonlyArray<readonly [string, string]>, name: string): number {
  let n = 0;
  for (const [h] of headers) if (h === name) n++;
  return n;
}

/**
 * Feed it bytes with push(); complete requests go to onRequest in order.
 * It keeps references to the pushed buffers (bodies are sliced, not copied,
 * when they arrive whole), so callers must not reuse them, unless the parser
 * was made with `transientChunks`.
 * After a HttpParseError the parser is dead: answer the error and close.
 */
export class RequestParser {
  readonly #opts: RequestParserOptions;
  #state: State = HEAD;
  #error: HttpParseError | null = null;
  #paused = false;
  #running = false;
  readonly #transient: boolean;

  /** Unconsumed bytes are #buf[#off..]. */
  #buf: Buffer = EMPTY;
  #off = 0;
  /** HEAD/TRAILERS: start of the line being scanned, and where the LF search resumes (absolute in #buf). */
  #lineStart = 0;
  #scan = 0;
  /** Bytes of the current head (or trailer section) already consumed: empty lines before a request line. */
  #consumed = 0;

  #pending: PendingRequest | null = null;
  /** BODY / CHUNK_DATA: bytes still to come of the body or of the current chunk. */
  #remaining = 0;
  #tooLarge = false;
  /** Content-Length body arriving in pieces is copied into one buffer of its size. */
  #bodyBuf: Buffer | null = null;
  #bodyFilled = 0;
  /** Chunked body pieces and their total size. */
  #chunks: Buffer[] = [];
  #chunkTotal = 0;

  constructor(opts: RequestParserOptions) {
    this.#opts = opts;
    this.#transient = opts.transientChunks === true;
  }

  /** Part of a request has arrived and the rest has not (drives the request timeout). */
  get inRequest(): boolean {
    if (this.#state === HEAD) return this.#off < this.#buf.length || this.#consumed > 0;
    return this.#state !== DONE && this.#state !== FAILED;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True once nothing more will be parsed (a closing request was delivered, stop(), or an error). */
  get finished(): boolean {
    return this.#state === DONE || this.#state === FAILED;
  }

  /** Appends bytes and delivers every request they complete. Throws HttpParseError on malformed input. */
  push(chunk: Buffer): void {
    if (this.#state === FAILED) throw this.#error as HttpParseError;
    if (this.#state === DONE || chunk.length === 0) return;
    this.#append(chunk);
    try {
      this.#run();
    } finally {
      if (this.#transient && this.#buf === chunk) this.#keepRest();
    }
  }

  /** Copies the unconsumed bytes of a pushed buffer the caller will reuse. */
  #keepRest(): void {
    if (this.#off >= this.#buf.length) {
      this.#lineStart -= this.#off;
      this.#scan -= this.#off;
      this.#buf = EMPTY;
    } else {
      const rest = Buffer.from(this.#buf.subarray(this.#off));
      this.#lineStart -= this.#off;
      this.#scan -= this.#off;
      this.#buf = rest;
    }
    this.#off = 0;
  }

  /** Stops delivering requests; bytes keep being buffered until resume(). */
  pause(): void {
    this.#paused = true;
  }

  /** Delivers requests already buffered (may throw HttpParseError, like push()). */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    // Called from inside onRequest: the running loop picks up where it is.
    if (!this.#running && this.#state !== DONE) this.#run();
  }

  /** Nothing more will be parsed or delivered; buffered bytes are dropped. */
  stop(): void {
    if (this.#state === FAILED) return;
    this.#state = DONE;
    this.#releaseBuffers();
  }

  #append(chunk: Buffer): void {
    if (this.#off >= this.#buf.length) {
      this.#lineStart -= this.#off;
      this.#scan -= this.#off;
      this.#buf = chunk;
    } else {
      // Only partial lines wait here (heads, chunk-size lines, trailers, a CRLF): bounded by the size limits.
      const rest = this.#buf.subarray(this.#off);
      this.#lineStart -= this.#off;
      this.#scan -= this.#off;
      this.#buf = Buffer.concat([rest, chunk], rest.length + chunk.length);
    }
    this.#off = 0;
  }

  #run(): void {
    this.#running = true;
    try {
      while (!this.#paused && this.#step()) {
        // each step consumed input or completed a request
      }
    } catch (err) {
      if (!(err instanceof HttpParseError)) throw err;
      this.#state = FAILED;
      this.#error = err;
      this.#releaseBuffers();
      throw err;
    } finally {
      this.#running = false;
    }
    // Everything consumed: let go of the last chunk now rather than at the next push.
    if (this.#off >= this.#buf.length && this.#buf !== EMPTY) {
      this.#lineStart -= this.#off;
      this.#scan -= this.#off;
      this.#buf = EMPTY;
      this.#off = 0;
    }
  }

  #releaseBuffers(): void {
    this.#buf = EMPTY;
    this.#off = 0;
    this.#lineStart = 0;
    this.#scan = 0;
    this.#pending = null;
    this.#bodyBuf = null;
    this.#chunks = [];
  }

  /** Advances the state machine once; false when it needs more bytes. */
  #step(): boolean {
    switch (this.#state) {
      case HEAD:
        return this.#stepHead();
      case BODY:
        return this.#stepBody();
      case CHUNK_SIZE:
        return this.#stepChunkSize();
      case CHUNK_DATA:
        return this.#stepChunkData();
      case CHUNK_DATA_END:
        return this.#stepChunkDataEnd();
      case TRAILERS:
        return this.#stepTrailers();
      default:
        return false;
    }
  }

  /**
   * Finds the next CRLF-terminated line starting at #lineStart. Returns the
   * index of its LF, or -1 when it is not complete yet. A LF without CR is an error.
   */
  #nextLineEnd(): number {
    const buf = this.#buf;
    const lf = buf.indexOf(LF, Math.max(this.#scan, this.#lineStart));
    if (lf < 0) {
      this.#scan = buf.length;
      return -1;
    }
    if (lf === this.#lineStart || buf[lf - 1] !== CR) throw lineEndError();
    return lf;
  }

  #stepHead(): boolean {
    if (this.#lineStart < this.#off) this.#lineStart = this.#off;
    const max = this.#opts.maxHeaderSize;
    for (;;) {
      const lf = this.#nextLineEnd();
      if (lf < 0) {
        if (this.#consumed + (this.#buf.length - this.#off) > max) throw headerTooLarge('request head', max);
        return false;
      }
      const end = lf + 1;
      if (this.#consumed + (end - this.#off) > max) throw headerTooLarge('request head', max);
      const emptyLine = lf - 1 === this.#lineStart;
      if (emptyLine && this.#lineStart === this.#off) {
        // RFC 9112 §2.2: empty lines before the request line are ignored (they still count toward the limit).
        this.#consumed += 2;
        this.#off = end;
        this.#lineStart = end;
        this.#scan = end;
        continue;
      }
      if (!emptyLine) {
        this.#lineStart = end;
        this.#scan = end;
        continue;
      }
      // Head is #buf[#off .. lf-3]: lines separated by CRLF, then the final CRLF CRLF.
      const text = this.#buf.toString('latin1', this.#off, lf - 3);
      this.#off = end;
      this.#lineStart = end;
      this.#scan = end;
      this.#consumed = 0;
      this.#startRequest(text);
      return true;
    }
  }

  #startRequest(head: string): void {
    const lineEnd = head.indexOf('\r\n');
    const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
    // Exactly two spaces: method SP target SP version.
    const sp1 = requestLine.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : requestLine.indexOf(' ', sp1 + 1);
    if (sp2 < 0 || requestLine.indexOf(' ', sp2 + 1) >= 0) throw new HttpParseError(HttpErrorCode.RequestLine, 400, 'malformed request line');
    const method = requestLine.slice(0, sp1);
    const target = requestLine.slice(sp1 + 1, sp2);
    const version = requestLine.slice(sp2 + 1);
    if (!TOKEN.test(method)) throw new HttpParseError(HttpErrorCode.RequestLine, 400, 'malformed method');
    if (!isHttpVersion(version)) throw new HttpParseError(HttpErrorCode.RequestLine, 400, 'malformed HTTP version');
    const major = version.charAt(5);
    const minor = version.charAt(7);
    if (major !== '1' || (minor !== '0' && minor !== '1')) {
      throw new HttpParseError(HttpErrorCode.Version, 505, `HTTP/${major}.${minor} not supported`);
    }
    const httpVersion = minor === '0' ? '1.0' : '1.1';
    const methodUpper = method.toUpperCase();
    this.#checkTarget(target, methodUpper);

    // One pass over the fields, counting the ones framing and routing depend on.
    const headers: Array<readonly [string, string]> = [];
    let hosts = 0;
    let connections = 0;
    let framingFields = 0;
    let expects = 0;
    for (let from = lineEnd + 2; lineEnd >= 0; ) {
      const end = head.indexOf('\r\n', from);
      const field = parseFieldLine(end < 0 ? head.slice(from) : head.slice(from, end));
      headers.push(field);
      switch (field[0]) {
        case 'host':
          hosts++;
          break;
        case 'connection':
          connections++;
          break;
        case 'content-length':
        case 'transfer-encoding':
          framingFields++;
          break;
        case 'expect':
          expects++;
          break;
      }
      if (end < 0) break;
      from = end + 2;
    }

    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0.
    if (hosts > 1 || (hosts === 0 && httpVersion === '1.1')) {
      throw new HttpParseError(HttpErrorCode.Host, 400, hosts > 1 ? 'several Host headers' : 'HTTP/1.1 request without Host');
    }

    const closeAsked = connections > 0 && listValues(headers, 'connection').some((t) => t.toLowerCase() === 'close');
    const keepAlive = httpVersion === '1.1' && !closeAsked;
    const chunked = this.#framing(headers, httpVersion, framingFields);

    let dispatchAs = methodUpper;
    const methods = this.#opts.methods;
    if (methods !== undefined && !methods.has(methodUpper)) {
      // HEAD is GET without the body bytes: a GET handler answers it, the listener drops the body.
      if (methodUpper === 'HEAD' && methods.has('GET')) dispatchAs = 'GET';
      else throw new HttpParseError(HttpErrorCode.Method, 501, `${method} not supported`);
    }

    this.#pending = { method, methodUpper: dispatchAs, target, httpVersion, headers, keepAlive };
    this.#tooLarge = false;
    if (chunked) {
      this.#chunks = [];
      this.#chunkTotal = 0;
      this.#state = CHUNK_SIZE;
      this.#lineStart = this.#off;
      this.#scan = this.#off;
    } else if (this.#remaining > 0) {
      this.#tooLarge = this.#remaining > this.#opts.maxBodySize;
      this.#bodyBuf = null;
      this.#bodyFilled = 0;
      this.#state = BODY;
    } else {
      this.#finish(EMPTY);
      return;
    }
    const expect = expects === 0 ? undefined : headers.find(([n]) => n === 'expect');
    if (expect !== undefined && expect[1].toLowerCase() === '100-continue' && httpVersion === '1.1' && this.#off >= this.#buf.length) {
      this.#opts.onContinue?.();
    }
  }

  #checkTarget(target: string, methodUpper: string): void {
    if (target === '' || !TARGET_CHARS.test(target)) throw new HttpParseError(HttpErrorCode.Target, 400, 'empty or malformed request target');
    if (target === '*') {
      // As httpd core: the asterisk form is only for OPTIONS (reference exchanges #2, #56, #66).
      if (methodUpper !== 'OPTIONS') throw new HttpParseError(HttpErrorCode.Target, 400, 'request target * is only valid for OPTIONS');
      return;
    }
    if (target.charCodeAt(0) === 0x2f /* / */ || ABSOLUTE_FORM.test(target)) return;
    throw new HttpParseError(HttpErrorCode.Target, 400, 'request target is neither a path nor an absolute URI');
  }

  /** Validates Content-Length / Transfer-Encoding (`fields` of them in `headers`); sets #remaining; returns true for chunked. */
  #framing(headers: ReadonlyArray<readonly [string, string]>, httpVersion: '1.0' | '1.1', fields: number): boolean {
    this.#remaining = 0;
    if (fields === 0) return false;
    if (fields === 1) {
      // The common case, one Content-Length of digits only: what the full checks below conclude too.
      const only = headers.find(([n]) => n === 'content-length' || n === 'transfer-encoding') as readonly [string, string];
      if (only[0] === 'content-length' && only[1].length <= MAX_LENGTH_DIGITS && DIGITS.test(only[1])) {
        this.#remaining = Number(only[1]);
        return false;
      }
    }
    const codings = listValues(headers, 'transfer-encoding');
    const hasTe = countOf(headers, 'transfer-encoding') > 0;
    const lengths = listValues(headers, 'content-length');
    const hasCl = countOf(headers, 'content-length') > 0;
    if (hasTe) {
      // A request with both is the classic smuggling vector: never guess which one wins.
      if (hasCl) throw new HttpParseError(HttpErrorCode.Framing, 400, 'both Transfer-Encoding and Content-Length');
      if (httpVersion === '1.0') throw new HttpParseError(HttpErrorCode.Framing, 400, 'Transfer-Encoding in an HTTP/1.0 request');
      if (codings.length !== 1 || (codings[0] as string).toLowerCase() !== 'chunked') {
        throw new HttpParseError(HttpErrorCode.Framing, 400, 'only Transfer-Encoding: chunked is supported');
      }
      return true;
    }
    if (hasCl) {
      if (lengths.length === 0) throw new HttpParseError(HttpErrorCode.Framing, 400, 'empty Content-Length');
      const first = lengths[0] as string;
      for (const l of lengths) {
        if (!DIGITS.test(l)) throw new HttpParseError(HttpErrorCode.Framing, 400, 'non-numeric Content-Length');
        if (l.replace(/^0+(?=\d)/, '').length > MAX_LENGTH_DIGITS) throw new HttpParseError(HttpErrorCode.Framing, 400, 'Content-Length too large');
        if (Number(l) !== Number(first)) throw new HttpParseError(HttpErrorCode.Framing, 400, 'differing Content-Length values');
      }
      this.#remaining = Number(first);
    }
    return false;
  }

  #stepBody(): boolean {
    const available = this.#buf.length - this.#off;
    if (available === 0) return false;
    const take = Math.min(available, this.#remaining);
    if (!this.#tooLarge) {
      if (this.#bodyBuf === null && take === this.#remaining) {
        // The whole body is here: hand out a view, no copy (a copy when the caller reuses its buffers).
        const view = this.#buf.subarray(this.#off, this.#off + take);
        const body = this.#transient ? Buffer.from(view) : view;
        this.#off += take;
        this.#remaining = 0;
        this.#finish(body);
        return true;
      }
      if (this.#bodyBuf === null) this.#bodyBuf = Buffer.allocUnsafe(this.#remaining);
      this.#buf.copy(this.#bodyBuf, this.#bodyFilled, this.#off, this.#off + take);
      this.#bodyFilled += take;
    }
    this.#off += take;
    this.#remaining -= take;
    if (this.#remaining > 0) return true;
    const body = this.#bodyBuf ?? EMPTY;
    this.#bodyBuf = null;
    this.#finish(this.#tooLarge ? EMPTY : body);
    return true;
  }

  #stepChunkSize(): boolean {
    if (this.#lineStart < this.#off) this.#lineStart = this.#off;
    const lf = this.#nextLineEnd();
    if (lf < 0) {
      if (this.#buf.length - this.#off > MAX_CHUNK_LINE) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'chunk-size line too long');
      return false;
    }
    if (lf + 1 - this.#off > MAX_CHUNK_LINE) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'chunk-size line too long');
    const line = this.#buf.toString('latin1', this.#off, lf - 1);
    this.#off = lf + 1;
    const m = CHUNK_SIZE_LINE.exec(line);
    if (m === null || BAD_FIELD_CHAR.test(line)) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'malformed chunk-size line');
    const hex = (m[1] as string).replace(/^0+(?=[0-9A-Fa-f])/, '');
    if (hex.length > MAX_CHUNK_HEX_DIGITS) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'chunk size too large');
    const size = parseInt(hex, 16);
    if (size === 0) {
      this.#state = TRAILERS;
      this.#lineStart = this.#off;
      this.#scan = this.#off;
      this.#consumed = 0;
    } else {
      this.#remaining = size;
      this.#state = CHUNK_DATA;
    }
    return true;
  }

  #stepChunkData(): boolean {
    const available = this.#buf.length - this.#off;
    if (available === 0) return false;
    const take = Math.min(available, this.#remaining);
    if (!this.#tooLarge) {
      if (this.#chunkTotal + take > this.#opts.maxBodySize) {
        this.#tooLarge = true;
        this.#chunks = [];
      } else {
        const piece = this.#buf.subarray(this.#off, this.#off + take);
        this.#chunks.push(this.#transient ? Buffer.from(piece) : piece);
      }
    }
    this.#chunkTotal += take;
    this.#off += take;
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = CHUNK_DATA_END;
    return true;
  }

  #stepChunkDataEnd(): boolean {
    const available = this.#buf.length - this.#off;
    if (available === 0) return false;
    if (this.#buf[this.#off] !== CR) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'chunk data not followed by CRLF');
    if (available < 2) return false;
    if (this.#buf[this.#off + 1] !== LF) throw new HttpParseError(HttpErrorCode.Chunk, 400, 'chunk data not followed by CRLF');
    this.#off += 2;
    this.#state = CHUNK_SIZE;
    this.#lineStart = this.#off;
    this.#scan = this.#off;
    return true;
  }

  /** Trailer fields are validated and dropped: nothing in MCMP uses them. */
  #stepTrailers(): boolean {
    if (this.#lineStart < this.#off) this.#lineStart = this.#off;
    const max = this.#opts.maxHeaderSize;
    const lf = this.#nextLineEnd();
    if (lf < 0) {
      if (this.#consumed + (this.#buf.length - this.#off) > max) throw headerTooLarge('trailer section', max);
      return false;
    }
    const end = lf + 1;
    if (this.#consumed + (end - this.#off) > max) throw headerTooLarge('trailer section', max);
    const line = this.#buf.toString('latin1', this.#off, lf - 1);
    this.#consumed += end - this.#off;
    this.#off = end;
    this.#lineStart = end;
    this.#scan = end;
    if (line !== '') {
      parseFieldLine(line);
      return true;
    }
    this.#consumed = 0;
    const body = this.#tooLarge ? EMPTY : this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#chunkTotal);
    this.#chunks = [];
    this.#finish(body);
    return true;
  }

  #finish(body: Buffer): void {
    const p = this.#pending as PendingRequest;
    this.#pending = null;
    // After an oversized body the connection closes: the client may not expect us to keep reading it.
    const keepAlive = p.keepAlive && !this.#tooLarge;
    const req = new ParsedRequest(
      p.method, p.methodUpper, p.target, p.httpVersion, p.headers, body, this.#tooLarge, keepAlive,
      this.#opts.remoteAddress, this.#opts.remotePort,
    );
    this.#tooLarge = false;
    if (keepAlive) {
      this.#state = HEAD;
      this.#lineStart = this.#off;
      this.#scan = this.#off;
    } else {
      this.#state = DONE;
      this.#releaseBuffers();
    }
    this.#opts.onRequest(req);
  }
}

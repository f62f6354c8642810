// The AJP13 wire format (AJP.md §1–§4), and the only module that knows its
// byte values: packet framing, the coded request methods and header names,
// the request attributes, the container's message types. Everything else
// talks in fields and names.
import { AjpProtocolError, AjpRequestTooLargeError, AjpInvalidRequestError } from './errors';
import { decimalValue } from '../decimal';

/** Default packet size, header included (AJP.md §1.4): what Tomcat's packetSize defaults to. */
export const DEFAULT_PACKET_SIZE = 8192;
/** httpd's ProxyIOBufferSize bounds, the same as Tomcat's packetSize range. */
export const MIN_PACKET_SIZE = 8192;
export const MAX_PACKET_SIZE = 65536;

/** A packet size as httpd's ProxyIOBufferSize takes it: clamped to 8192..65536, rounded up to 1 KiB. */
export function packetSizeFrom(value: number): number {
  const clamped = Math.min(MAX_PACKET_SIZE, Math.max(MIN_PACKET_SIZE, Math.floor(value)));
  return Math.ceil(clamped / 1024) * 1024;
}

/** Packet header: two signature bytes and the payload length. */
export const HEADER_BYTES = 4;
const TO_CONTAINER_0 = 0x12;
const TO_CONTAINER_1 = 0x34;
const FROM_CONTAINER_0 = 0x41; // 'A'
const FROM_CONTAINER_1 = 0x42; // 'B'

/** Body bytes one data packet carries at most: packet − header − int16 length. */
export function maxDataBytes(packetSize: number): number {
  return packetSize - HEADER_BYTES - 2;
}

/** Message types sent by the container (AJP.md §1.3). */
export const enum ContainerMessage {
  SendBodyChunk = 0x03,
  SendHeaders = 0x04,
  EndResponse = 0x05,
  GetBodyChunk = 0x06,
  Cpong = 0x09,
}

const FORWARD_REQUEST = 0x02;

/** CPING, byte for byte (AJP.md §1.3); the probe of ajp nodes sends the same packet. */
export const CPING_PACKET: Buffer = Buffer.from([TO_CONTAINER_0, TO_CONTAINER_1, 0x00, 0x01, 0x0a]);
/** The only answer to CPING mod_proxy_cluster's probe accepts. */
export const CPONG_PACKET: Buffer = Buffer.from([FROM_CONTAINER_0, FROM_CONTAINER_1, 0x00, 0x01, ContainerMessage.Cpong]);
/** "No more body", as httpd writes it (D-AJP-6). */
export const EMPTY_DATA_PACKET: Buffer = Buffer.from([TO_CONTAINER_0, TO_CONTAINER_1, 0x00, 0x02, 0x00, 0x00]);

// ------------------------------------------------------------------ codes

/** The 27 coded methods (AJP.md §2.2); any other goes as 0xFF + the stored_method attribute. */
const METHOD_CODES: ReadonlyMap<string, number> = new Map(
  [
    'OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK',
    'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT', 'UNCHECKOUT', 'SEARCH', 'MKWORKSPACE', 'UPDATE',
    'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY',
  ].map((name, i) => [name, i + 1]),
);
const STORED_METHOD = 0xff;

/** Request header names with a code (AJP.md §2.4), lower case → 0xA0xx. */
const REQUEST_HEADER_CODES: ReadonlyMap<string, number> = new Map(
  [
    'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection', 'content-type',
    'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent',
  ].map((name, i) => [name, 0xa001 + i]),
);

/** Response header names by code − 0xA001 (AJP.md §4.1), as Buffers the exchange can keep. */
const RESPONSE_HEADER_NAMES: readonly Buffer[] = [
  'Content-Type', 'Content-Language', 'Content-Length', 'Date', 'Last-Modified', 'Location', 'Set-Cookie',
  'Set-Cookie2', 'Servlet-Engine', 'Status', 'WWW-Authenticate',
].map((name) => Buffer.from(name, 'latin1'));
const CODED_NAME_MARK = 0xa0;

/** Request attribute codes (AJP.md §2.5); only these may be sent. */
const enum Attribute {
  QueryString = 0x05,
  JvmRoute = 0x06,
  ReqAttribute = 0x0a,
  Secret = 0x0c,
  StoredMethod = 0x0d,
  End = 0xff,
}

/** Names of req_attribute (0x0A) entries Tomcat accepts without configuration (AJP.md §7.2). */
export const REMOTE_PORT_ATTRIBUTE = 'AJP_REMOTE_PORT';
export const LOCAL_ADDR_ATTRIBUTE = 'AJP_LOCAL_ADDR';

// ---------------------------------------------------------- FORWARD_REQUEST

/** What a FORWARD_REQUEST carries (AJP.md §2.1). Strings are byte strings (latin1). */
export interface ForwardRequest {
  readonly method: string;
  readonly protocol: string;
  /** Path only, without the query. */
  readonly uri: string;
  readonly remoteAddr: string;
  readonly serverName: string;
  readonly serverPort: number;
  readonly isSsl: boolean;
  /** [name, value, ...]; names lower case as uWS gives them. */
  readonly headers: readonly string[];
  /** The query without `?`; null when the request had no `?`. */
  readonly query: string | null;
  /** A sticky route found in the session id, or ''. */
  readonly route: string;
  /** AJPSecret, or ''. */
  readonly secret: string;
  /** -1: not known (the attribute is left out, Tomcat then reports -1). */
  readonly remotePort: number;
  /** '' : not known. */
  readonly localAddr: string;
}

/** Each FORWARD_REQUEST is written in place into a slab of this size and handed out as a view of it (Buffer's own pool does the same). */
const SLAB_BYTES = 64 * 1024;

/**
 * Writes one packet at a time into the current slab, refusing to go past the
 * packet size. Strings are written char by char (latin1: the low byte of each
 * UTF-16 unit, as Buffer#write does) and checked in the same pass: no regex
 * and no call into C++ per field.
 */
class PacketWriter {
  #slab: Buffer = Buffer.allocUnsafe(0);
  /** Bytes of the slab handed out. */
  #used = 0;
  #start = 0;
  #pos = 0;
  #limit = 0;

  begin(packetSize: number): void {
    if (this.#slab.length - this.#used < packetSize) {
      // Earlier packets keep the old slab alive as long as their requests need them.
      this.#slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, packetSize));
      this.#used = 0;
    }
    this.#start = this.#used;
    this.#pos = this.#start + HEADER_BYTES;
    this.#limit = this.#start + packetSize;
  }

  #tooLarge(): AjpRequestTooLargeError {
    return new AjpRequestTooLargeError(this.#limit - this.#start);
  }

  byte(v: number): void {
    if (this.#pos + 1 > this.#limit) throw this.#tooLarge();
    this.#slab[this.#pos++] = v;
  }

  int16(v: number): void {
    const pos = this.#pos;
    if (pos + 2 > this.#limit) throw this.#tooLarge();
    const buf = this.#slab;
    buf[pos] = v >>> 8;
    buf[pos + 1] = v & 0xff;
    this.#pos = pos + 2;
  }

  /** A string field; null writes the null string (0xFFFF). A CR, LF or NUL byte is refused (AJP.md §1.1). */
  string(s: string | null): void {
    if (s === null) {
      this.int16(0xffff);
      return;
    }
    const n = s.length;
    let pos = this.#pos;
    if (n >= 0xffff || pos + 3 + n > this.#limit) {
      if (hasForbiddenByte(s)) throw forbidden();
      throw this.#tooLarge();
    }
    const buf = this.#slab;
    buf[pos] = n >>> 8;
    buf[pos + 1] = n & 0xff;
    pos += 2;
    for (let i = 0; i < n; i++) {
      // The byte latin1 writes (the Uint8Array store keeps the low 8 bits): that is the byte checked.
      const c = s.charCodeAt(i) & 0xff;
      if (c === 13 || c === 10 || c === 0) throw forbidden();
      buf[pos++] = c;
    }
    buf[pos] = 0;
    this.#pos = pos + 1;
  }

  /** The finished packet, header filled in: a view of the slab no later packet overwrites. */
  finish(): Buffer {
    const buf = this.#slab;
    const start = this.#start;
    const pos = this.#pos;
    const n = pos - start - HEADER_BYTES;
    buf[start] = TO_CONTAINER_0;
    buf[start + 1] = TO_CONTAINER_1;
    buf[start + 2] = n >>> 8;
    buf[start + 3] = n & 0xff;
    // The next packet starts 8-aligned.
    this.#used = (pos + 7) & ~7;
    return buf.subarray(start, pos);
  }
}

function hasForbiddenByte(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (c === 13 || c === 10 || c === 0) return true;
  }
  return false;
}

function forbidden(): AjpInvalidRequestError {
  return new AjpInvalidRequestError('CR, LF or NUL in a request field');
}

const writer = new PacketWriter();

/**
 * The FORWARD_REQUEST packet for one request (D-AJP-14, D-AJP-16: attributes
 * in httpd's order). Throws AjpRequestTooLargeError when it does not fit in
 * `packetSize` (D-AJP-15: answered 400 before any connection is used).
 */
export function encodeForwardRequest(req: ForwardRequest, packetSize: number): Buffer {
  const w = writer;
  w.begin(packetSize);
  const code = METHOD_CODES.get(req.method);
  w.byte(FORWARD_REQUEST);
  w.byte(code ?? STORED_METHOD);
  w.string(req.protocol);
  w.string(req.uri);
  w.string(req.remoteAddr);
  // remote_host: Tomcat uses remote_addr unless lookups are on (D-AJP-17).
  w.string(null);
  w.string(req.serverName);
  w.int16(req.serverPort);
  w.byte(req.isSsl ? 1 : 0);
  const h = req.headers;
  w.int16(h.length >> 1);
  for (let i = 0; i + 1 < h.length; i += 2) {
    const name = h[i] as string;
    const coded = REQUEST_HEADER_CODES.get(name.toLowerCase());
    if (coded !== undefined) w.int16(coded);
    else w.string(name);
    w.string(h[i + 1] as string);
  }
  if (req.secret !== '') {
    w.byte(Attribute.Secret);
    w.string(req.secret);
  }
  if (req.query !== null) {
    w.byte(Attribute.QueryString);
    w.string(req.query);
  }
  if (req.route !== '') {
    w.byte(Attribute.JvmRoute);
    w.string(req.route);
  }
  if (code === undefined) {
    w.byte(Attribute.StoredMethod);
    w.string(req.method);
  }
  if (req.remotePort >= 0) {
    w.byte(Attribute.ReqAttribute);
    w.string(REMOTE_PORT_ATTRIBUTE);
    w.string(String(req.remotePort));
  }
  if (req.localAddr !== '') {
    w.byte(Attribute.ReqAttribute);
    w.string(LOCAL_ADDR_ATTRIBUTE);
    w.string(req.localAddr);
  }
  w.byte(Attribute.End);
  return w.finish();
}

/** A data packet carrying body[start, start + n) (n ≤ maxDataBytes), in memory of its own. */
export function encodeDataPacket(body: Buffer, start: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 2 + n);
  out[0] = TO_CONTAINER_0;
  out[1] = TO_CONTAINER_1;
  out.writeUInt16BE(n + 2, 2);
  out.writeUInt16BE(n, 4);
  body.copy(out, 6, start, start + n);
  return out;
}

// ------------------------------------------------------- container packets

/**
 * The payload length of the packet whose header starts at buf[at] (4 bytes
 * must be there). Refuses a wrong signature and a payload larger than the
 * packet size allows (AJP.md §1.4: ≤ packetSize − 4).
 */
export function payloadLength(buf: Buffer, at: number, packetSize: number): number {
  if (buf[at] !== FROM_CONTAINER_0 || buf[at + 1] !== FROM_CONTAINER_1) throw new AjpProtocolError('packet signature is not AB');
  const n = ((buf[at + 2] as number) << 8) | (buf[at + 3] as number);
  if (n === 0) throw new AjpProtocolError('empty packet from the container');
  if (n > packetSize - HEADER_BYTES) throw new AjpProtocolError(`packet of ${n} bytes exceeds the packet size ${packetSize}`);
  return n;
}

/** The message type of a payload (its first byte). */
export function messageType(payload: Buffer, start: number): number {
  return payload[start] as number;
}

/** Reads fields of one payload, each checked to lie inside it (AJP.md §1.1). One reader, reset per packet. */
class PayloadReader {
  #buf: Buffer = Buffer.allocUnsafe(0);
  #pos = 0;
  #end = 0;

  reset(buf: Buffer, start: number, end: number): void {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  byte(): number {
    if (this.#pos + 1 > this.#end) throw new AjpProtocolError('byte beyond the packet');
    return this.#buf[this.#pos++] as number;
  }

  int16(): number {
    if (this.#pos + 2 > this.#end) throw new AjpProtocolError('int16 beyond the packet');
    const v = ((this.#buf[this.#pos] as number) << 8) | (this.#buf[this.#pos + 1] as number);
    this.#pos += 2;
    return v;
  }

  /** A string as a view into the payload, or null for the null string; the terminator is skipped unchecked (D-AJP-3). */
  string(): Buffer | null {
    const n = this.int16();
    if (n === 0xffff) return null;
    if (this.#pos + n + 1 > this.#end) throw new AjpProtocolError('string beyond the packet');
    const s = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n + 1;
    return s;
  }

  /** A header name: a code 0xA0xx from the table (a shared Buffer), or a string (a view into the payload). */
  headerName(): Buffer {
    if (this.#pos + 2 > this.#end) throw new AjpProtocolError('header name beyond the packet');
    if (this.#buf[this.#pos] === CODED_NAME_MARK) {
      const code = this.#buf[this.#pos + 1] as number;
      this.#pos += 2;
      const name = RESPONSE_HEADER_NAMES[code - 1];
      if (name === undefined) throw new AjpProtocolError(`unknown response header code 0xA0${code.toString(16).padStart(2, '0')}`);
      return name;
    }
    const s = this.string();
    if (s === null) throw new AjpProtocolError('null response header name');
    return s;
  }
}

const reader = new PayloadReader();
const CONTENT_LENGTH_NAME = RESPONSE_HEADER_NAMES[2] as Buffer;

/** A decoded SEND_HEADERS (AJP.md §4.1); names and values in memory of their own. */
export interface ResponseHead {
  readonly status: number;
  /** '' when the container sent none, an empty one or just the number (D-AJP-10). */
  readonly reason: string;
  /** [name, value, ...] as the exchange takes them. */
  readonly headers: Buffer[];
  /** The Content-Length announced: -1 when none, when it is not 1–15 digits, or when two differ. */
  readonly contentLength: number;
}

/**
 * Decodes SEND_HEADERS. The payload is copied once (the read buffer is
 * reused); names and values are views of that copy, so the exchange can keep
 * them.
 */
export function decodeSendHeaders(payload: Buffer, start: number, end: number): ResponseHead {
  const own = Buffer.allocUnsafe(end - start);
  payload.copy(own, 0, start, end);
  const r = reader;
  r.reset(own, 1, own.length);
  const status = r.int16();
  if (status < 100 || status > 999) throw new AjpProtocolError(`status ${status} out of range`);
  const reason = reasonOf(r.string(), status);
  const count = r.int16();
  const headers: Buffer[] = [];
  let contentLength = -1;
  for (let i = 0; i < count; i++) {
    const name = r.headerName();
    const value = r.string();
    if (value === null) throw new AjpProtocolError('null response header value');
    headers.push(name, value);
    if (name === CONTENT_LENGTH_NAME || isContentLength(name)) {
      const n = decimalValue(value);
      // Two different lengths, or one that is no number: nothing to check the body against.
      contentLength = contentLength >= 0 && contentLength !== n ? -1 : n;
    }
  }
  return { status, reason, headers, contentLength };
}

/** The reason phrase: Tomcat sends the number (→ ''); a real phrase passes without CTLs. */
function reasonOf(bytes: Buffer | null, status: number): string {
  if (bytes === null) return '';
  if (
    bytes.length === 3 &&
    bytes[0] === 48 + Math.floor(status / 100) &&
    bytes[1] === 48 + (Math.floor(status / 10) % 10) &&
    bytes[2] === 48 + (status % 10)
  ) {
    return '';
  }
  return bytes.toString('latin1').replace(/[\x00-\x1f\x7f]/g, '');
}

const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');

/** A header name spelled Content-Length in any case (ASCII: no latin1 letter lower-cases into it). */
function isContentLength(name: Buffer): boolean {
  if (name.length !== 14) return false;
  for (let i = 0; i < 14; i++) {
    let c = name[i] as number;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== CONTENT_LENGTH[i]) return false;
  }
  return true;
}

/** Where a SEND_BODY_CHUNK's body bytes start in its payload. */
export const BODY_CHUNK_DATA = 3;

/**
 * The number of body bytes of a SEND_BODY_CHUNK (they start at
 * start + BODY_CHUNK_DATA). The length field must agree with the payload:
 * n + 4 (Tomcat, trailing byte) or n + 3 (D-AJP-3). 0 is a flush.
 */
export function sendBodyChunkLength(payload: Buffer, start: number, end: number): number {
  if (end - start < 3) throw new AjpProtocolError('SEND_BODY_CHUNK without its length');
  const n = ((payload[start + 1] as number) << 8) | (payload[start + 2] as number);
  const size = end - start;
  if (size !== n + 4 && size !== n + 3) throw new AjpProtocolError(`SEND_BODY_CHUNK length ${n} disagrees with its packet (${size})`);
  return n;
}

/** END_RESPONSE's reuse flag (any non-zero is true, AJP.md §4.4). */
export function endResponseReuse(payload: Buffer, start: number, end: number): boolean {
  if (end - start < 2) throw new AjpProtocolError('END_RESPONSE without its reuse byte');
  return payload[start + 1] !== 0;
}

/** How many body bytes GET_BODY_CHUNK asks for. */
export function getBodyChunkLength(payload: Buffer, start: number, end: number): number {
  if (end - start < 3) throw new AjpProtocolError('GET_BODY_CHUNK without its length');
  return ((payload[start + 1] as number) << 8) | (payload[start + 2] as number);
}

/** Whether a payload is a well-formed CPONG. */
export function isCpong(payload: Buffer, start: number, end: number): boolean {
  return end - start === 1 && payload[start] === ContainerMessage.Cpong;
}

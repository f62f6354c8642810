// The advertise datagram of MCMP.md §4: the one module that knows its wire
// format. The sender builds with it; anything that listens (the tests, a
// Node.js worker agent) parses and verifies with it. Parsing and digest
// checking follow the Java listener (org.jboss.modcluster AdvertiseListenerImpl)
// step by step, because a datagram that Java would drop must be dropped here
// too, and one that Java accepts must be accepted here.
import { createHash } from 'node:crypto';

/** The Java listener reads into a 512-byte buffer: anything after is cut off. */
export const JAVA_LISTENER_BUFFER_SIZE = 512;

/** MCMP.md §4.1 defaults (mod_advertise). */
export const DEFAULT_ADVERTISE_GROUP = '224.0.1.105';
export const DEFAULT_ADVERTISE_PORT = 23364;
export const DEFAULT_ADVERTISE_TTL = 10;

/** The status lines mod_advertise sends: 200 while running, 403/410 on shutdown. */
export const ADVERTISE_STATUS = {
  200: 'OK',
  403: 'Forbidden',
  410: 'Gone',
} as const;
export type AdvertiseStatus = keyof typeof ADVERTISE_STATUS;

export type AdvertisementErrorCode =
  /** Does not start with `HTTP/1.` (Java skips it silently). */
  | 'ERR_MCMP_EDGE_ADVERTISE_NOT_HTTP'
  /** Status line not `HTTP/1.x <int ≥ 100> <reason>` (Java drops it; a non-integer status kills Java's listener thread). */
  | 'ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE'
  /** No `Server:` header before parsing stopped (Java drops it). */
  | 'ERR_MCMP_EDGE_ADVERTISE_NO_SERVER'
  /** X-Manager-Address that Java cannot turn into a socket address. */
  | 'ERR_MCMP_EDGE_ADVERTISE_MANAGER_ADDRESS'
  /** buildAdvertisement: a field value that cannot be sent (CR/LF, non-ASCII, out of range). */
  | 'ERR_MCMP_EDGE_ADVERTISE_FIELD'
  /** buildAdvertisement: longer than the Java listener's 512-byte buffer. */
  | 'ERR_MCMP_EDGE_ADVERTISE_TOO_LARGE';

/** Every failure of this module; `code` says which. */
export class AdvertisementError extends Error {
  readonly code: AdvertisementErrorCode;
  constructor(code: AdvertisementErrorCode, message: string) {
    super(message);
    this.name = 'AdvertisementError';
    this.code = code;
  }
}

/** What a running proxy tells workers about its MCMP endpoint (the four X-Manager-* headers). */
export interface ManagerFields {
  /** `host:port` (IPv6 host in brackets): where workers send MCMP. */
  readonly address: string;
  /** X-Manager-Url; mod_advertise defaults it to `/<server uuid>`. */
  readonly url: string;
  /** `http` or `https`. */
  readonly protocol: string;
  /** The advertising server's name. */
  readonly host: string;
}

export interface AdvertisementFields {
  /** 200 while running (default); 403 and 410 are the shutdown packets, sent without `manager`. */
  readonly status?: AdvertiseStatus;
  readonly date: Date;
  /** The packet counter: 1 for the first packet of a process (see nextSequence). */
  readonly sequence: bigint | number;
  /** The proxy's UUID for this run. */
  readonly server: string;
  /** AdvertiseSecurityKey; absent or undefined = no key (16 zero bytes of salt). */
  readonly securityKey?: string | undefined;
  /** Required with status 200, refused with the others (mod_advertise leaves them out). */
  readonly manager?: ManagerFields | undefined;
}

/** A datagram as the Java listener understands it. */
export interface Advertisement {
  readonly status: number;
  readonly reason: string;
  /** Header values exactly as received; undefined when the header was absent. */
  readonly date: string | undefined;
  readonly sequence: string | undefined;
  readonly digest: string | undefined;
  readonly server: string;
  /**
   * Headers that came after `Server`, in order, later duplicates winning (Java
   * stores them as the server's parameters; headers before `Server` are lost).
   */
  readonly parameters: ReadonlyMap<string, string>;
  /** Shorthands for the X-Manager-* parameters. */
  readonly managerAddress: string | undefined;
  readonly managerUrl: string | undefined;
  readonly managerProtocol: string | undefined;
  readonly managerHost: string | undefined;
}

/** The RFC 1123 date mod_advertise writes (`Wed, 02 Dec 2026 03:15:01 GMT`). */
export function formatAdvertiseDate(date: Date): string {
  return date.toUTCString();
}

const SEQUENCE_MAX = (1n << 63n) - 1n;

/** The sequence after `previous`: +1, back to 1 when it would leave the signed 64-bit range. */
export function nextSequence(previous: bigint): bigint {
  const next = previous + 1n;
  return next < 1n || next > SEQUENCE_MAX ? 1n : next;
}

// Java hashes strings through this mapping (digestString): a char below 127
// is its own byte, anything else becomes '?'.
function javaDigestBytes(s: string): Buffer {
  const out = Buffer.allocUnsafe(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c < 127 ? c : 0x3f;
  }
  return out;
}

const ZERO_SALT = Buffer.alloc(16);

function digestBytes(securityKey: string | undefined, date: string, sequence: string, server: string): Buffer {
  const salt = securityKey === undefined ? ZERO_SALT : createHash('md5').update(javaDigestBytes(securityKey)).digest();
  return createHash('md5')
    .update(salt)
    .update(javaDigestBytes(date))
    .update(javaDigestBytes(sequence))
    .update(javaDigestBytes(server))
    .digest();
}

/**
 * MCMP.md §4.2: hex(MD5(salt ‖ Date ‖ Sequence ‖ Server)), salt = MD5(key) or
 * 16 zero bytes without a key. An empty key is a key (MD5 of nothing), as in Java.
 */
export function computeAdvertisementDigest(securityKey: string | undefined, date: string, sequence: string, server: string): string {
  return digestBytes(securityKey, date, sequence, server).toString('hex');
}

/**
 * The Java listener's digest check, including its quirks: hex is compared
 * case-insensitively, a digest of 33 characters passes when its first 32 do
 * (the length test is `length / 2 == 16`), and non-hex characters are turned
 * into numbers the way Java does rather than rejected. A datagram without
 * Digest, Date or Sequence returns false here; the Java listener thread dies
 * on it (null dereference), so a sender must never send one.
 */
export function verifyAdvertisementDigest(ad: Pick<Advertisement, 'date' | 'sequence' | 'digest' | 'server'>, securityKey: string | undefined): boolean {
  const { digest, date, sequence, server } = ad;
  if (digest === undefined || date === undefined || sequence === undefined) return false;
  const ours = digestBytes(securityKey, date, sequence, server);
  if (ours.length !== Math.trunc(digest.length / 2)) return false;
  let val = 0;
  for (let i = 0; i < digest.length; i++) {
    const ch = digest.charCodeAt(i);
    const nibble = ch >= 0x41 ? (ch & 0xdf) - 0x41 + 10 : ch - 0x30;
    if (i % 2 === 0) {
      val = nibble;
    } else {
      val = val * 16 + nibble;
      if (ours[i >> 1] !== (val & 0xff)) return false;
    }
  }
  return true;
}

// Java's Integer.parseInt on what a latin-1 decode can produce.
function javaParseInt(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/**
 * Parses a received datagram as the Java listener does: only the first
 * `bufferSize` bytes (512, Java's buffer) are read, decoded as ISO-8859-1;
 * lines split on CRLF; the status line split in three on spaces; each header
 * split at the first `": "`, and the first line without one ends the headers;
 * names are case-sensitive. Throws AdvertisementError when Java would drop
 * the datagram before its digest check. The digest is not checked here: call
 * verifyAdvertisementDigest.
 */
export function parseAdvertisement(datagram: Uint8Array, options: { bufferSize?: number } = {}): Advertisement {
  const size = Math.min(datagram.length, options.bufferSize ?? JAVA_LISTENER_BUFFER_SIZE);
  const message = Buffer.from(datagram.buffer, datagram.byteOffset, size).toString('latin1');
  if (!message.startsWith('HTTP/1.')) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_NOT_HTTP', 'not an advertisement: does not start with HTTP/1.');
  }
  // Java's String.split drops trailing empty strings.
  const lines = message.split('\r\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  const statusLine = lines[0] ?? '';
  const first = statusLine.indexOf(' ');
  const second = first < 0 ? -1 : statusLine.indexOf(' ', first + 1);
  const status = second < 0 ? undefined : javaParseInt(statusLine.slice(first + 1, second));
  if (status === undefined || status < 100) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE', `bad advertisement status line ${JSON.stringify(statusLine)}`);
  }
  const reason = statusLine.slice(second + 1);

  let date: string | undefined;
  let sequence: string | undefined;
  let digest: string | undefined;
  let server: string | undefined;
  let parameters = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const sep = line.indexOf(': ');
    if (sep < 0) break;
    const name = line.slice(0, sep);
    const value = line.slice(sep + 2);
    if (name === 'Date') date = value;
    else if (name === 'Digest') digest = value;
    else if (name === 'Sequence') sequence = value;
    else if (name === 'Server') {
      server = value;
      parameters = new Map(); // a second Server starts a new server object in Java
    } else if (server !== undefined) parameters.set(name, value);
  }
  if (server === undefined) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_NO_SERVER', 'advertisement without a Server header');
  }
  return {
    status,
    reason,
    date,
    sequence,
    digest,
    server,
    parameters,
    managerAddress: parameters.get('X-Manager-Address'),
    managerUrl: parameters.get('X-Manager-Url'),
    managerProtocol: parameters.get('X-Manager-Protocol'),
    managerHost: parameters.get('X-Manager-Host'),
  };
}

/**
 * X-Manager-Address as the Java worker reads it (Utils.parseSocketAddress):
 * `host:port`; with more than one colon, `[v6]:port` or a bare IPv6 address
 * that keeps `defaultPort` (Java passes 0). No name resolution is done here.
 */
export function parseManagerAddress(value: string, defaultPort = 0): { host: string; port: number } {
  let host = value;
  let port = defaultPort;
  const lastColon = value.lastIndexOf(':');
  let portText: string | undefined;
  if (lastColon >= 0) {
    if (value.indexOf(':') === lastColon) {
      host = value.slice(0, lastColon);
      portText = value.slice(lastColon + 1);
    } else {
      const open = value.indexOf('[');
      const close = value.indexOf(']');
      if (open >= 0 && close >= 0) {
        host = value.slice(open + 1, close);
        if (close < lastColon) portText = value.slice(lastColon + 1);
      }
    }
  }
  if (portText !== undefined) {
    const n = javaParseInt(portText);
    if (n === undefined) {
      throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_MANAGER_ADDRESS', `bad port in X-Manager-Address ${JSON.stringify(value)}`);
    }
    port = n;
  }
  if (port < 0 || port > 65535) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_MANAGER_ADDRESS', `port out of range in X-Manager-Address ${JSON.stringify(value)}`);
  }
  return { host, port };
}

// A header value must survive the trip: no CR/LF (it would end the header),
// and only ASCII, so the bytes C hashes are the chars Java hashes.
function checkValue(name: string, value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_FIELD', `advertisement ${name} must be printable ASCII: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Builds the datagram of MCMP.md §4.1, byte for byte as mod_advertise sends
 * it: status line, Date, Sequence, Digest, Server, then (status 200 only) the
 * four X-Manager-* headers, which must follow Server for Java to keep them.
 */
export function buildAdvertisement(fields: AdvertisementFields): Buffer {
  const status = fields.status ?? 200;
  const reason: string | undefined = ADVERTISE_STATUS[status];
  if (reason === undefined) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_FIELD', `advertisement status must be 200, 403 or 410, not ${String(status)}`);
  }
  const sequence = BigInt(fields.sequence);
  if (sequence < 1n || sequence > SEQUENCE_MAX) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_FIELD', `advertisement sequence out of range: ${sequence}`);
  }
  if ((status === 200) !== (fields.manager !== undefined)) {
    throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_FIELD', 'the X-Manager-* fields go with status 200 and only with it');
  }
  const date = formatAdvertiseDate(fields.date);
  const seq = sequence.toString();
  const server = checkValue('Server', fields.server);
  if (server === '') throw new AdvertisementError('ERR_MCMP_EDGE_ADVERTISE_FIELD', 'advertisement Server must not be empty');
  const digest = computeAdvertisementDigest(fields.securityKey, date, seq, server);
  let text = `HTTP/1.0 ${status} ${reason}\r\nDate: ${date}\r\nSequence: ${seq}\r\nDigest: ${digest}\r\nServer: ${server}\r\n`;
  const m = fields.manager;
  if (m !== undefined) {
    text +=
      `X-Manager-Address: ${checkValue('X-Manager-Address', m.address)}\r\n` +
      `X-Manager-Url: ${checkValue('X-Manager-Url', m.url)}\r\n` +
      `X-Manager-Protocol: ${checkValue('X-Manager-Protocol', m.protocol)}\r\n` +
      `X-Manager-Host: ${checkValue('X-Manager-Host', m.host)}\r\n`;
  }
  text += '\r\n';
  const datagram = Buffer.from(text, 'latin1');
  if (datagram.length > JAVA_LISTENER_BUFFER_SIZE) {
    throw new AdvertisementError(
      'ERR_MCMP_EDGE_ADVERTISE_TOO_LARGE',
      `advertisement of ${datagram.length} bytes: the Java listener reads ${JAVA_LISTENER_BUFFER_SIZE} (shorten AdvertiseManagerUrl or the address)`,
    );
  }
  return datagram;
}

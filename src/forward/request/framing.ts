// The checks RFC 9112 asks of a server on a request head, for what uWS lets
// through to JavaScript (README "Security" lists what uWS drops before that):
// one Host, a Content-Length that is one decimal number, a Transfer-Encoding
// this proxy implements, a bounded header section. A request that fails them
// is answered by the proxy and its connection closed: its framing is never
// guessed at, re-framed or forwarded.

/** Largest request head (target and header lines) served; above it, 431. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

/** What a Transfer-Encoding says: the body is chunked, or the status to refuse the request with. */
export type TransferCoding = 'chunked' | 400 | 501;

const DIGITS = /^\d{1,15}$/;

/** The value of one Content-Length field, -1 when it is not a single decimal number. */
export function contentLengthValue(value: string): number {
  return DIGITS.test(value) ? Number(value) : -1;
}

/**
 * The Transfer-Encoding fields of a request, joined with ",". uWS reads any
 * Transfer-Encoding as chunked, so only exactly "chunked" is served: a list
 * not ending in chunked cannot be framed (400, RFC 9112 §6.3), chunked after
 * another coding is a coding this proxy does not implement (501), and
 * chunked twice or an empty list is malformed (400).
 */
export function transferCoding(joined: string): TransferCoding {
  const codings = joined.split(',');
  let last = '';
  let chunkedCount = 0;
  let others = 0;
  for (const raw of codings) {
    const coding = raw.trim().toLowerCase();
    if (coding === '') continue;
    last = coding;
    if (coding === 'chunked') chunkedCount++;
    else others++;
  }
  if (last !== 'chunked' || chunkedCount !== 1) return 400;
  return others === 0 ? 'chunked' : 501;
}

// RFC 9112 §3.2 / RFC 3986 authority without userinfo: reg-name or IP literal, optional port
// (the check of every request: a table per character class instead of a regular expression).
const REG_NAME = charTable("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%");
const IP_LITERAL = charTable('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:.%_~-');

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

/** Whether a Host field value is a valid uri-host[:port] (an empty value is allowed, RFC 9112 §3.2). */
export function isValidHost(value: string): boolean {
  const n = value.length;
  let i = 0;
  if (n > 0 && value.charCodeAt(0) === 0x5b /* [ */) {
    i = 1;
    while (i < n && inTable(IP_LITERAL, value.charCodeAt(i))) i++;
    if (i === 1 || i >= n || value.charCodeAt(i) !== 0x5d /* ] */) return false;
    i++;
  } else {
    while (i < n && inTable(REG_NAME, value.charCodeAt(i))) i++;
  }
  if (i === n) return true;
  // ":" and up to five digits.
  if (value.charCodeAt(i) !== 0x3a || n - i - 1 > 5) return false;
  for (let j = i + 1; j < n; j++) {
    const c = value.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// The request target every upstream sees, normalised once when the request
// head is read: the router matches contexts on it and the node gets exactly
// it, so a path cannot name one context to the proxy and another to the node.
//
// Rules (README "Security"), in the order a Java container applies its own:
// - percent-escapes of unreserved characters are decoded (%2e is "."); with
//   UseNocanon Off every escape of a character mod_proxy allows literally is
//   decoded too (%3b is ";"), as the node will see the forwarded path, and
//   characters not allowed literally are escaped (upper-case hex);
// - dot-segments are removed (RFC 3986 §5.2.4); a path that climbs above "/"
//   is refused (400);
// - a "." or ".." segment carrying path parameters ("..;x", ".;") is refused
//   (400): Tomcat drops the parameters and reads a dot-segment, other
//   containers do not, so no reading of it is safe to route on;
// - empty segments are merged ("//" is "/"), as httpd's MergeSlashes On and
//   Tomcat do: otherwise "//app/x" would route to the ROOT context while the
//   node serves /app;
// - %2F follows AllowEncodedSlashes: Off refuses it (404, as httpd), On reads
//   it as "/" before dot-segments are removed, NoDecode keeps it escaped;
// - refused (400): %00, a malformed escape, escaped bytes that are not valid
//   UTF-8 (overlong forms such as %c0%ae, surrogates), a backslash raw or
//   escaped (a separator to some containers), "#", controls, DEL, and bytes
//   uWS could not read as UTF-8 (it hands them over as U+FFFD);
// - the result is ASCII only: other characters are escaped as UTF-8, in the
//   query too (which is otherwise forwarded as received).

/** AllowEncodedSlashes, as httpd. */
export const enum EncodedSlashes {
  /** A path holding %2F is refused with 404. */
  Off = 0,
  /** %2F is a path separator. */
  On = 1,
  /** %2F is accepted and forwarded escaped; it separates nothing. */
  NoDecode = 2,
}

export interface PathRules {
  readonly encodedSlashes: EncodedSlashes;
  /** UseNocanon Off: the forwarded path is canonicalised as mod_proxy does (ap_proxy_canonenc). */
  readonly canonical: boolean;
}

export const DEFAULT_PATH_RULES: PathRules = Object.freeze({ encodedSlashes: EncodedSlashes.Off, canonical: true });

/** Status for a path that must not be served: 400 malformed or hostile, 404 an encoded slash refused by AllowEncodedSlashes Off. */
export type PathRefusal = 400 | 404;

// RFC 3986 unreserved: their escapes are always decoded.
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
// What mod_proxy lets appear literally in a path: unreserved, sub-delims, ":" "@" (and "/").
const ALLOWED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") ALLOWED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const HASH = 0x23;
const DOT = 0x2e;
const REPLACEMENT = 0xfffd;

/**
 * The common path: segments of allowed characters, none empty, none starting
 * with "." (so no dot-segment), no escape, an optional final "/". Such a path
 * is already normal. (Every request is checked: a scan, not a regular expression.)
 */
function isPlainPath(path: string): boolean {
  const n = path.length;
  let i = 0;
  while (i < n) {
    if (path.charCodeAt(i) !== SLASH) return false;
    i++;
    if (i === n) return true;
    let c = path.charCodeAt(i);
    if (c >= 128 || ALLOWED[c] !== 1 || c === DOT) return false;
    i++;
    while (i < n && (c = path.charCodeAt(i)) < 128 && ALLOWED[c] === 1) i++;
  }
  return true;
}
/** A query of printable ASCII without "#": forwarded as received. */
const PLAIN_QUERY = /^[\x21\x22\x24-\x7e]*$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function escapeByte(b: number): string {
  return `%${HEX[b >> 4]}${HEX[b & 15]}`;
}

/** A non-ASCII character (and its low surrogate) at s[i] as UTF-8 escapes; '' for a lone surrogate. */
function escapeCodePoint(s: string, i: number): string {
  const cp = s.codePointAt(i) as number;
  if (cp >= 0xd800 && cp <= 0xdfff) return '';
  let out = '';
  for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += escapeByte(b);
  return out;
}

/**
 * The normalised target for a request target as uWS gives it (`path` or
 * `path?query`), or the status to refuse it with. Returns `url` itself when it
 * is already normal.
 */
export function normaliseRequestTarget(url: string, rules: PathRules): string | PathRefusal {
  const q = url.indexOf('?');
  if (q < 0) return isPlainPath(url) ? url : normalisePath(url, rules);
  const rawPath = url.slice(0, q);
  const path = isPlainPath(rawPath) ? rawPath : normalisePath(rawPath, rules);
  if (typeof path === 'number') return path;
  const rawQuery = url.slice(q + 1);
  const query = PLAIN_QUERY.test(rawQuery) ? rawQuery : normaliseQuery(rawQuery);
  if (typeof query === 'number') return query;
  return path === rawPath && query === rawQuery ? url : `${path}?${query}`;
}

/** The slow path for a path that is not plain (see the rules at the top). */
export function normalisePath(path: string, rules: PathRules): string | PathRefusal {
  if (path.charCodeAt(0) !== SLASH) return 400;
  // Pass 1: one escape form per character, so that "." and ";" are literal
  // wherever the node will read them as such.
  let canon = '';
  let highEscapes = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT) {
      const hi = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(path.charCodeAt(i + 2)) : -1;
      if (lo < 0) return 400;
      const b = (hi << 4) | lo;
      i += 2;
      if (b === 0 || b === BACKSLASH) return 400;
      if (b === SLASH) {
        if (rules.encodedSlashes === EncodedSlashes.Off) return 404;
        canon += rules.encodedSlashes === EncodedSlashes.On ? '/' : rules.canonical ? '%2F' : path.slice(i - 2, i + 1);
      } else if (b < 128 && (UNRESERVED[b] === 1 || (rules.canonical && ALLOWED[b] === 1))) {
        canon += String.fromCharCode(b);
      } else {
        if (b >= 128) highEscapes = true;
        // UseNocanon On forwards the escape as the client wrote it.
        canon += rules.canonical ? escapeByte(b) : path.slice(i - 2, i + 1);
      }
      continue;
    }
    if (c < 128) {
      if (c <= 0x20 || c === 0x7f || c === BACKSLASH || c === HASH) return 400;
      if (c === SLASH || ALLOWED[c] === 1 || !rules.canonical) canon += path[i];
      else canon += escapeByte(c);
      continue;
    }
    if (c === REPLACEMENT) return 400;
    const escaped = escapeCodePoint(path, i);
    if (escaped === '') return 400;
    canon += escaped;
    if (c >= 0xd800 && c <= 0xdbff) i++;
  }
  if (highEscapes && !isUtf8(canon)) return 400;
  return removeDotSegments(canon);
}

/** Pass 2: RFC 3986 §5.2.4 on a path whose "/", "." and ";" are literal; empty segments merged. */
function removeDotSegments(canon: string): string | PathRefusal {
  const segments = canon.split('/');
  const out: string[] = [];
  // A path ending in "/" (or in a dot-segment, which names a directory) keeps its trailing "/".
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    const last = i === segments.length - 1;
    if (seg.length === 0) {
      if (last) trailingSlash = true;
      continue;
    }
    if (seg.charCodeAt(0) === DOT) {
      const semi = seg.indexOf(';');
      const name = semi < 0 ? seg : seg.slice(0, semi);
      if (name === '.' || name === '..') {
        if (semi >= 0) return 400;
        if (name === '..' && out.pop() === undefined) return 400;
        if (last) trailingSlash = true;
        continue;
      }
    }
    out.push(seg);
    trailingSlash = false;
  }
  if (out.length === 0) return '/';
  const joined = `/${out.join('/')}`;
  return trailingSlash ? `${joined}/` : joined;
}

/** Whether the bytes a path's escapes stand for are valid UTF-8 (no overlong form, no surrogate). */
function isUtf8(canon: string): boolean {
  const bytes = Buffer.allocUnsafe(canon.length);
  let n = 0;
  for (let i = 0; i < canon.length; i++) {
    const c = canon.charCodeAt(i);
    if (c === PERCENT) {
      bytes[n++] = (hexValue(canon.charCodeAt(i + 1)) << 4) | hexValue(canon.charCodeAt(i + 2));
      i += 2;
    } else {
      bytes[n++] = c;
    }
  }
  try {
    strictUtf8.decode(bytes.subarray(0, n));
    return true;
  } catch {
    return false;
  }
}

/** A query that is not plain: controls, DEL, "#" and unreadable bytes refused, other characters escaped as UTF-8. */
export function normaliseQuery(query: string): string | PathRefusal {
  let out = '';
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 128) {
      if (c <= 0x20 || c === 0x7f || c === HASH) return 400;
      out += query[i];
      continue;
    }
    if (c === REPLACEMENT) return 400;
    const escaped = escapeCodePoint(query, i);
    if (escaped === '') return 400;
    out += escaped;
    if (c >= 0xd800 && c <= 0xdbff) i++;
  }
  return out;
}

// The client's Connection header in its common forms (RFC 9112 §9.3, §9.6).
// Nearly every client sends exactly `close` or `keep-alive`; a client that
// opens a new connection per request sends `close` on every one of them. The
// general reading (a regex for the close option, a split, a Set of the named
// headers) cost those requests ~1 µs and ~0.5 KB of garbage each (README issue
// 10, "new connection per request"): a lone option is recognised here in place,
// and only a value that names more goes the general way.

/** What a Connection value that is one bare option says. */
export const enum ConnectionOption {
  /** Anything else: a list, other tokens (headers the client names as hop-by-hop). */
  Other = 0,
  Close = 1,
  KeepAlive = 2,
}

const CLOSE = 'close';
const KEEP_ALIVE = 'keep-alive';

/**
 * `close` or `keep-alive` (any case, optional whitespace around it) as the
 * whole value; Other for every other value, which the caller reads in full.
 */
export function soleConnectionOption(value: string): ConnectionOption {
  let start = 0;
  let end = value.length;
  while (start < end && isWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isWhitespace(value.charCodeAt(end - 1))) end--;
  const length = end - start;
  if (length === CLOSE.length && equalsLowerAscii(value, start, CLOSE)) return ConnectionOption.Close;
  if (length === KEEP_ALIVE.length && equalsLowerAscii(value, start, KEEP_ALIVE)) return ConnectionOption.KeepAlive;
  return ConnectionOption.Other;
}

/** SP or HTAB (OWS, RFC 9110 §5.6.3). */
function isWhitespace(code: number): boolean {
  return code === 32 || code === 9;
}

/** value[start..] equals `lower` (lower-case letters and '-') ignoring ASCII case. */
function equalsLowerAscii(value: string, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const want = lower.charCodeAt(i);
    const code = value.charCodeAt(start + i);
    // Setting 0x20 maps A-Z (and only them) onto a-z; '-' must match as it is (CR | 0x20 is '-').
    if (want === 45 /* - */ ? code !== want : (code | 0x20) !== want) return false;
  }
  return true;
}

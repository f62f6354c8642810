// UseNocanon Off (the default, MCMP.md §5.12): the path sent to the node is
// re-canonicalised as mod_proxy does (ap_proxy_canonenc for a path): escapes of
// characters that may appear literally are decoded, characters that may not are
// escaped (upper-case hex), an escaped "/" stays escaped. The query is left as
// it is. With UseNocanon On the raw request URI is forwarded untouched.

// RFC 3986 unreserved + sub-delims + ":" "@" "/", as mod_proxy allows in a path.
const ALLOWED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") ALLOWED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** A path of allowed characters only (no escape to look at): nothing to do. */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?|$)/;

/** Canonicalises the path part of `url` (everything before `?`). Returns `url` itself when nothing changes. */
export function canonicalisePath(url: string): string {
  // The common case on the hot path, without building a copy char by char.
  if (PLAIN_PATH.test(url)) return url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let out = '';
  let changed = false;
  for (let i = 0; i < path.length; i++) {
    let c = path.charCodeAt(i);
    if (c === 37 /* % */ && i + 2 < path.length && hexValue(path.charCodeAt(i + 1)) >= 0 && hexValue(path.charCodeAt(i + 2)) >= 0) {
      const decoded = hexValue(path.charCodeAt(i + 1)) * 16 + hexValue(path.charCodeAt(i + 2));
      if (decoded === 47 /* / */ || decoded === 37 /* % */ || decoded >= 128 || ALLOWED[decoded] !== 1) {
        // Stays escaped; normalise the hex digits to upper case.
        const esc = `%${HEX[decoded >> 4]}${HEX[decoded & 15]}`;
        if (esc !== path.slice(i, i + 3)) changed = true;
        out += esc;
      } else {
        out += String.fromCharCode(decoded);
        changed = true;
      }
      i += 2;
      continue;
    }
    if (c < 128 && ALLOWED[c] === 1) {
      out += path[i];
      continue;
    }
    // Not allowed literally: escape each UTF-8 byte.
    changed = true;
    const ch = c >= 0xd800 && c <= 0xdbff && i + 1 < path.length ? path.slice(i, ++i + 1) : path[i] ?? '';
    for (const b of Buffer.from(ch, 'utf8')) {
      c = b;
      out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    }
  }
  if (!changed) return url;
  return q < 0 ? out : out + url.slice(q);
}

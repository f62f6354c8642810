// The two request inputs that context matching needs, normalised the way
// httpd hands them to mod_proxy_cluster: the decoded path (MCMP.md §5.4 step 1)
// and the host name of the Host header (§5.4 step 2).

const PERCENT = 0x25;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Percent-decodes a path as bytes and reads the bytes as UTF-8, like httpd's
 * ap_unescape_url. Returns undefined for a malformed escape (httpd answers 400).
 */
export function percentDecode(path: string): string | undefined {
  if (path.indexOf('%') === -1) return path;
  const raw = Buffer.from(path, 'utf8');
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c !== PERCENT) {
      out[n++] = c;
      continue;
    }
    const hi = i + 1 < raw.length ? hexValue(raw[i + 1] as number) : -1;
    const lo = i + 2 < raw.length ? hexValue(raw[i + 2] as number) : -1;
    if (hi < 0 || lo < 0) return undefined;
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return out.toString('utf8', 0, n);
}

/**
 * §5.4 step 1: the path used to match contexts. The query is removed, the rest
 * is decoded, then cut at the first `?` if the decoded path has one (an
 * encoded %3F), else at the first `;` (path parameters such as jsessionid).
 * Undefined: malformed percent-encoding.
 */
export function routingPath(url: string): string | undefined {
  const queryAt = url.indexOf('?');
  const raw = queryAt === -1 ? url : url.slice(0, queryAt);
  if (raw.indexOf('%') === -1) {
    const semi = raw.indexOf(';');
    return semi === -1 ? raw : raw.slice(0, semi);
  }
  const decoded = percentDecode(raw);
  if (decoded === undefined) return undefined;
  const question = decoded.indexOf('?');
  if (question !== -1) return decoded.slice(0, question);
  const semi = decoded.indexOf(';');
  return semi === -1 ? decoded : decoded.slice(0, semi);
}

/**
 * §5.4 step 2: the host part of a Host header value, as httpd's r->hostname:
 * no port, no IPv6 brackets, no trailing dot, lower case.
 */
export function hostName(host: string): string {
  let start = 0;
  let end = host.length;
  while (start < end && host.charCodeAt(start) === 0x20) start++;
  while (end > start && host.charCodeAt(end - 1) === 0x20) end--;
  if (host.charCodeAt(start) === 0x5b /* [ */) {
    const close = host.indexOf(']', start);
    if (close !== -1) {
      start++;
      end = close;
    }
  } else {
    const colon = host.indexOf(':', start);
    // One colon is a port separator; several without brackets is a bare IPv6 literal.
    if (colon !== -1 && colon < end && host.indexOf(':', colon + 1) === -1) end = colon;
  }
  while (end > start && host.charCodeAt(end - 1) === 0x2e /* . */) end--;
  const name = start === 0 && end === host.length ? host : host.slice(start, end);
  return name.toLowerCase();
}

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
 * §5.4 step 1: the path used to match contexts. The query is removed, then
 * the path parameters of every segment (`/app;jsessionid=x/y` is `/app/y`, as
 * a Java container reads it before it maps a context: matching on the first
 * segment alone would let `/;x/other` reach /other behind the ROOT context),
 * then the rest is decoded and cut at an encoded `?` (%3F). Only a literal
 * `;` starts parameters: an escaped one is part of the segment's name to the
 * node too. Undefined: malformed percent-encoding.
 */
export function routingPath(url: string): string | undefined {
  const queryAt = url.indexOf('?');
  let raw = queryAt === -1 ? url : url.slice(0, queryAt);
  if (raw.indexOf(';') !== -1) raw = withoutPathParameters(raw);
  if (raw.indexOf('%') === -1) return raw;
  const decoded = percentDecode(raw);
  if (decoded === undefined) return undefined;
  const question = decoded.indexOf('?');
  return question === -1 ? decoded : decoded.slice(0, question);
}

/** `/a;x/b;y=1/c` → `/a/b/c`; a segment left empty is merged (`/;x/a` → `/a`), as the container does. */
export function withoutPathParameters(path: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const semi = path.indexOf(';', from);
    if (semi === -1) {
      out += path.slice(from);
      break;
    }
    out += path.slice(from, semi);
    from = path.indexOf('/', semi);
    if (from === -1) break;
  }
  return out.indexOf('//') === -1 ? out : out.replace(/\/{2,}/g, '/');
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

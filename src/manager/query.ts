// The status page's query string (MCMP.md §6.1): items split on `&`, each
// `name=value`; values decoded like httpd's ap_unescape_url (a malformed `%`
// escape is 400; an encoded `/` or NUL is 404, except in Context); names are
// looked up case-insensitively and a repeated name keeps its last value.

export class QueryError extends Error {
  readonly code = 'ERR_MCMP_EDGE_QUERY';
  readonly status: 400 | 404;
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.name = 'QueryError';
    this.status = status;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes `%XX`; `+` stays `+`. Throws QueryError as described above. */
export function unescapeValue(raw: string, allowSlash: boolean): string {
  const src = Buffer.from(raw, 'latin1');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  let badEscape = false;
  let badPath = false;
  for (let i = 0; i < src.length; i++) {
    const b = src[i] as number;
    if (b !== 0x25) {
      out[n++] = b;
      continue;
    }
    const hi = i + 1 < src.length ? hex(src[i + 1] as number) : -1;
    const lo = i + 2 < src.length ? hex(src[i + 2] as number) : -1;
    if (hi < 0 || lo < 0) {
      badEscape = true;
      out[n++] = b;
      continue;
    }
    const decoded = (hi << 4) | lo;
    if (decoded === 0 || (decoded === 0x2f && !allowSlash)) badPath = true;
    out[n++] = decoded;
    i += 2;
  }
  if (badEscape) throw new QueryError(400, `malformed escape in ${JSON.stringify(raw)}`);
  if (badPath) throw new QueryError(404, `encoded / or NUL in ${JSON.stringify(raw)}`);
  return out.toString('utf8', 0, n);
}

/** Parameters keyed by lower-case name. */
export function parseManagerQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const item of query.split('&')) {
    if (item === '') continue; // httpd's loop tolerates `a=b&` and `a=b&&c=d`
    const eq = item.indexOf('=');
    if (eq < 0) throw new QueryError(400, `query item ${JSON.stringify(item)} has no "="`);
    const name = item.slice(0, eq);
    params.set(name.toLowerCase(), unescapeValue(item.slice(eq + 1), name.toLowerCase() === 'context'));
  }
  return params;
}

/** Splits a request target into its path and query ('' when there is no `?`). */
export function splitTarget(target: string): { path: string; query: string; hasQuery: boolean } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '', hasQuery: false } : { path: target.slice(0, q), query: target.slice(q + 1), hasQuery: true };
}

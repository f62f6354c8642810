// Session ids in requests (MCMP.md §5.3) and their removal on failover
// (§5.9.6). Pure string work on the hot path: no regular expressions, no
// splitting, and nothing allocated unless a session id is actually found.

const SEMICOLON = 0x3b;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const QUESTION = 0x3f;
const AMPERSAND = 0x26;
const HASH = 0x23;

/** C's isspace(): space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Where a cookie name may start: the header start, or after `;`, `,` or whitespace. */
function isCookieBoundary(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  return c === SEMICOLON || c === COMMA || isSpace(c);
}

/**
 * Finds cookie `name` in a Cookie header: the first occurrence at a boundary
 * followed (after optional whitespace) by `=` and a value. Returns the offsets
 * of the name and of the value, or -1.
 */
function findCookie(cookie: string, name: string, from: number): { nameAt: number; valueAt: number; valueEnd: number } | undefined {
  if (name.length === 0) return undefined;
  for (let at = cookie.indexOf(name, from); at !== -1; at = cookie.indexOf(name, at + 1)) {
    if (!isCookieBoundary(cookie, at)) continue;
    let p = at + name.length;
    while (p < cookie.length && isSpace(cookie.charCodeAt(p))) p++;
    if (cookie.charCodeAt(p) !== EQUALS || p + 1 >= cookie.length) continue;
    const valueAt = p + 1;
    let valueEnd = valueAt;
    while (valueEnd < cookie.length) {
      const c = cookie.charCodeAt(valueEnd);
      if (c === SEMICOLON || c === COMMA) break;
      valueEnd++;
    }
    return { nameAt: at, valueAt, valueEnd };
  }
  return undefined;
}

/**
 * §5.3 step 1: the value of cookie `name` (case-sensitive, first occurrence
 * wins), without the double quotes of a version-1 cookie. An empty value is
 * not a session id: the search goes on to a later occurrence.
 */
export function sessionIdFromCookie(cookie: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const hit = findCookie(cookie, name, from);
    if (hit === undefined) return undefined;
    let { valueAt, valueEnd } = hit;
    if (valueEnd - valueAt >= 2 && cookie.charCodeAt(valueAt) === QUOTE && cookie.charCodeAt(valueEnd - 1) === QUOTE) {
      valueAt++;
      valueEnd--;
    }
    if (valueEnd > valueAt) return cookie.slice(valueAt, valueEnd);
    from = hit.nameAt + 1;
  }
}

/**
 * §5.3 step 2: the `;name=value` path parameter of the request path (the part
 * before `?`). The value runs to the next `;`, `?` or `&`.
 */
export function sessionIdFromPath(url: string, name: string): string | undefined {
  if (name.length === 0) return undefined;
  let pathEnd = url.indexOf('?');
  if (pathEnd === -1) pathEnd = url.length;
  for (let at = url.indexOf(name); at !== -1 && at < pathEnd; at = url.indexOf(name, at + 1)) {
    if (at === 0 || url.charCodeAt(at - 1) !== SEMICOLON) continue;
    const eq = at + name.length;
    if (url.charCodeAt(eq) !== EQUALS) continue;
    let end = eq + 1;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === SEMICOLON || c === QUESTION || c === AMPERSAND) break;
      end++;
    }
    if (end > eq + 1) return url.slice(eq + 1, end);
  }
  return undefined;
}

/** §5.3: session id from the Cookie header (name C) or the ;P= path parameter. */
export function findSessionId(cookieHeader: string, url: string, cookieName: string, pathName: string): { id: string; name: string } | undefined {
  if (cookieHeader.length !== 0) {
    const id = sessionIdFromCookie(cookieHeader, cookieName);
    if (id !== undefined) return { id, name: cookieName };
  }
  const id = sessionIdFromPath(url, pathName);
  return id === undefined ? undefined : { id, name: pathName };
}

/** The route of a session id: what follows its first '.', '' if none. */
export function routeOfSession(id: string): string {
  const dot = id.indexOf('.');
  return dot === -1 ? '' : id.slice(dot + 1);
}

/**
 * §5.9.6, URL side: removes every `;name=value` path parameter and every
 * `name=value` query parameter. The separators are kept consistent (no `;;`,
 * `?&` or dangling `?`), which C's version does not do.
 */
export function stripSessionFromUrl(url: string, name: string): string {
  if (name.length === 0 || url.indexOf(name) === -1) return url;
  let out = url;
  // Path parameters: ;name=value up to ; ? & # or the end.
  for (let at = out.indexOf(name); at !== -1; ) {
    const queryAt = out.indexOf('?');
    if (queryAt !== -1 && at > queryAt) break;
    if (at > 0 && out.charCodeAt(at - 1) === SEMICOLON && out.charCodeAt(at + name.length) === EQUALS) {
      let end = at + name.length + 1;
      while (end < out.length) {
        const c = out.charCodeAt(end);
        if (c === SEMICOLON || c === QUESTION || c === AMPERSAND || c === HASH) break;
        end++;
      }
      out = out.slice(0, at - 1) + out.slice(end);
      at = out.indexOf(name, at - 1);
    } else {
      at = out.indexOf(name, at + 1);
    }
  }
  // Query parameters: name=value after ? or &, up to & or #.
  const queryAt = out.indexOf('?');
  if (queryAt === -1) return out;
  for (let at = out.indexOf(name, queryAt); at !== -1; ) {
    const before = out.charCodeAt(at - 1);
    if ((before === QUESTION || before === AMPERSAND) && out.charCodeAt(at + name.length) === EQUALS) {
      let end = at + name.length + 1;
      while (end < out.length) {
        const c = out.charCodeAt(end);
        if (c === AMPERSAND || c === HASH) break;
        end++;
      }
      if (before === AMPERSAND) {
        out = out.slice(0, at - 1) + out.slice(end);
        at = out.indexOf(name, at - 1);
      } else {
        // First parameter: drop the following '&' too, or the '?' when nothing is left.
        const next = out.charCodeAt(end) === AMPERSAND ? end + 1 : end;
        out = next === end ? out.slice(0, at - 1) + out.slice(end) : out.slice(0, at) + out.slice(next);
        at = out.indexOf(name, at > 0 ? at - 1 : 0);
      }
    } else {
      at = out.indexOf(name, at + 1);
    }
  }
  return out;
}

/**
 * §5.9.6, Cookie side: removes every `name=value` pair (same matching rule as
 * sessionIdFromCookie) with one adjacent separator, so `a=1; S=x; b=2`
 * becomes `a=1; b=2`. Returns '' when nothing else is left.
 */
export function stripSessionFromCookie(cookie: string, name: string): string {
  let out = cookie;
  for (let hit = findCookie(out, name, 0); hit !== undefined; hit = findCookie(out, name, hit.nameAt)) {
    const { nameAt, valueEnd } = hit;
    if (valueEnd < out.length) {
      // Not the last pair: drop it, its separator and the whitespace after it.
      let next = valueEnd + 1;
      while (next < out.length && isSpace(out.charCodeAt(next))) next++;
      out = out.slice(0, nameAt) + out.slice(next);
    } else {
      // The last pair: drop it and the separator before it.
      let end = nameAt;
      while (end > 0 && isSpace(out.charCodeAt(end - 1))) end--;
      if (end > 0) {
        const c = out.charCodeAt(end - 1);
        if (c === SEMICOLON || c === COMMA) end--;
      }
      while (end > 0 && isSpace(out.charCodeAt(end - 1))) end--;
      out = out.slice(0, end);
      break;
    }
  }
  return out;
}

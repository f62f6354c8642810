// Sticky sessions for a Node worker: the proxy reads the route after the
// first '.' of the session id (MCMP.md §5.3), so the id handed to the client
// must end in `.<route>` — what Tomcat does with its jvmRoute. The cookie name
// is the balancer's StickySessionCookie (JSESSIONID unless configured).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sessionIdFromCookie } from '../router/session';

/** `<id without any route>.<route>`: a session that failed over gets this node's route. */
export function withRoute(sessionId: string, route: string): string {
  const dot = sessionId.indexOf('.');
  const base = dot < 0 ? sessionId : sessionId.slice(0, dot);
  return `${base}.${route}`;
}

/** The id without its route. */
export function withoutRoute(sessionId: string): string {
  const dot = sessionId.indexOf('.');
  return dot < 0 ? sessionId : sessionId.slice(0, dot);
}

export interface SessionCookieOptions {
  /** Default `/`. */
  readonly path?: string;
  /** Default true. */
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  readonly maxAgeSeconds?: number;
}

/** Reads and writes the session cookie of one node. */
export class SessionCookies {
  readonly route: string;
  readonly cookieName: string;

  constructor(route: string, cookieName: string) {
    this.route = route;
    this.cookieName = cookieName;
  }

  /** The session id the client sent (with its route), or undefined. */
  get(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    return header === undefined ? undefined : sessionIdFromCookie(header, this.cookieName);
  }

  /**
   * Sets the cookie to `id` (a new random id when omitted) carrying this
   * node's route, and returns the id as sent. Other Set-Cookie headers stay.
   */
  set(res: ServerResponse, id: string = randomBytes(16).toString('hex').toUpperCase(), opts: SessionCookieOptions = {}): string {
    const value = withRoute(id, this.route);
    let cookie = `${this.cookieName}=${value}; Path=${opts.path ?? '/'}`;
    if (opts.httpOnly !== false) cookie += '; HttpOnly';
    if (opts.secure === true) cookie += '; Secure';
    if (opts.sameSite !== undefined) cookie += `; SameSite=${opts.sameSite}`;
    if (opts.maxAgeSeconds !== undefined) cookie += `; Max-Age=${Math.floor(opts.maxAgeSeconds)}`;
    const previous = res.getHeader('set-cookie');
    const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
    res.setHeader('set-cookie', [...list.filter((c) => !c.startsWith(`${this.cookieName}=`)), cookie]);
    return value;
  }

  /**
   * The client's session id if it is routed here; when it carries another
   * route (the client failed over) or none, the cookie is re-issued with this
   * node's route. Returns the id now in force, or undefined without a session.
   */
  adopt(req: IncomingMessage, res: ServerResponse, opts?: SessionCookieOptions): string | undefined {
    const id = this.get(req);
    if (id === undefined) return undefined;
    const routed = withRoute(id, this.route);
    return routed === id ? id : this.set(res, id, opts);
  }
}

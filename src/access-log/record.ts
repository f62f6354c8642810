// What the access log reads of one finished request. The exchange, the
// WebSocket tunnel and the proxy's own refusals provide it; the log never
// reaches into them, so the forwarding code only owes it these facts.

/** The request as the client sent it and as the proxy forwarded it. */
export interface LoggedRequest {
  /** The client's address as uWS gives it as text ('' when unknown). */
  readonly clientAddress: string;
  readonly method: string;
  /** The request target as the client sent it (path and query). */
  readonly receivedTarget: string;
  /** The normalised target the router matched and the node was sent. */
  readonly url: string;
  readonly host: string;
  /** Header name/value pairs, names in lower case (Referer and User-Agent are read from them). */
  readonly headers: readonly string[];
}

export interface AccessRecord {
  readonly request: LoggedRequest;
  /** The status sent to the client; 0: none, the client left first (logged as 499, as nginx does). */
  readonly status: number;
  /** Response body bytes sent to the client (headers not counted, as httpd's %b). */
  readonly bodyBytes: number;
  /** JVMRoute of the node whose answer the client got; '' when the proxy answered itself. */
  readonly nodeRoute: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Microseconds from the arrival to the node's response head (for a tunnel: its 101); -1: no node answered. */
  readonly ttfbUs: number;
  /** Nodes tried (more than 1: failed over). */
  readonly tries: number;
  /** The route the request's session id pointed to ('' for none). */
  readonly stickyRoute: string;
}

/** Status logged for a request whose client left before any status was sent (nginx's 499). */
export const CLIENT_CLOSED = 499;

/** The value of a request header (lower-case name), '' when absent. */
export function requestHeader(request: LoggedRequest, name: string): string {
  const h = request.headers;
  for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === name) return h[i + 1] as string;
  return '';
}

/** A refusal by the proxy itself (no node, no time spent): what the log needs of it. */
export class RefusalRecord implements AccessRecord {
  readonly request: LoggedRequest;
  readonly status: number;
  readonly bodyBytes: number;
  readonly nodeRoute = '';
  readonly startedAt = performance.now();
  readonly ttfbUs = -1;
  readonly tries = 0;
  readonly stickyRoute = '';

  constructor(request: LoggedRequest, status: number, bodyBytes: number) {
    this.request = request;
    this.status = status;
    this.bodyBytes = bodyBytes;
  }
}

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

/** RFC 9112 §3.2 / RFC 3986 authority without userinfo: reg-name or IP literal, optional port. */
const HOST = /^(?:\[[0-9A-Za-z:.%_~\-]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d{0,5})?$/;

/** Whether a Host field value is a valid uri-host[:port] (an empty value is allowed, RFC 9112 §3.2). */
export function isValidHost(value: string): boolean {
  return HOST.test(value);
}

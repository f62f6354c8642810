// Which response headers of a node the client sees (RFC 9110 §7.6.1): the
// hop-by-hop ones stay on the node's connection, and the ones uWS writes
// itself (Date, the body's framing) are not written twice. The one place that
// says so, for the raw h1 head and for the header pairs of AJP and undici.
import { bytesAre } from '../upstream/ascii-case';

/** How a response header from a node is treated. */
export const enum ResponseHeader {
  Forward = 0,
  /** Hop-by-hop, or written by uWS itself (Date, framing). */
  Drop = 1,
  ContentLength = 2,
  /** Dropped, and the headers it names are dropped too. */
  Connection = 3,
  /** Forwarded, and read for the session-id table. */
  SetCookie = 4,
}

/** Classifies the header name buf[at, at + length) (case as sent). */
export function responseHeaderKindAt(buf: Uint8Array, at: number, length: number): ResponseHeader {
  switch (length) {
    case 2:
      if (bytesAre(buf, at, 'te')) return ResponseHeader.Drop;
      break;
    case 4:
      // uWS always writes its own Date; two Date headers would be invalid.
      if (bytesAre(buf, at, 'date')) return ResponseHeader.Drop;
      break;
    case 7:
      if (bytesAre(buf, at, 'trailer') || bytesAre(buf, at, 'upgrade')) return ResponseHeader.Drop;
      break;
    case 10:
      if (bytesAre(buf, at, 'set-cookie')) return ResponseHeader.SetCookie;
      if (bytesAre(buf, at, 'connection')) return ResponseHeader.Connection;
      if (bytesAre(buf, at, 'keep-alive')) return ResponseHeader.Drop;
      break;
    case 14:
      if (bytesAre(buf, at, 'content-length')) return ResponseHeader.ContentLength;
      break;
    case 17:
      if (bytesAre(buf, at, 'transfer-encoding')) return ResponseHeader.Drop;
      break;
  }
  if (length > 6 && bytesAre(buf, at, 'proxy-')) return ResponseHeader.Drop;
  return ResponseHeader.Forward;
}

/** Classifies a header name handed over as its own buffer (AJP, undici). */
export function responseHeaderKind(name: Uint8Array): ResponseHeader {
  return responseHeaderKindAt(name, 0, name.length);
}

/** The lower-case header names a Connection header value lists (close/keep-alive excluded). */
export function connectionTokens(value: string): string[] {
  const names: string[] = [];
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') names.push(t);
  }
  return names;
}

/**
 * Whether the Connection value buf[start, end) names any header (a token other
 * than close and keep-alive). A kept-alive node sends `Connection: keep-alive`
 * with every response: this answers without making a string.
 */
export function connectionNamesHeaders(buf: Uint8Array, start: number, end: number): boolean {
  let ts = start;
  while (ts <= end) {
    let te = ts;
    while (te < end && buf[te] !== 44 /* , */) te++;
    let a = ts;
    let b = te;
    while (a < b && (buf[a] === 32 || buf[a] === 9)) a++;
    while (b > a && (buf[b - 1] === 32 || buf[b - 1] === 9)) b--;
    const n = b - a;
    if (n !== 0 && !(n === 5 && bytesAre(buf, a, 'close')) && !(n === 10 && bytesAre(buf, a, 'keep-alive'))) return true;
    ts = te + 1;
  }
  return false;
}

// Parses one response head (status line and header lines, the blank line
// excluded) into offsets within the bytes it came in (raw-head.ts). Header
// names and values handed to an undici-style handler are views into them, so
// for such a handler the bytes must not be the shared read buffer.
import { ResponseParseError } from './errors';
import { Field, FIELD_STRIDE, type RawResponseHead } from '../raw-head';
import { bytesAre } from '../ascii-case';

const LF = 10;
const CR = 13;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const COMMA = 44;

/** Characters allowed in a header name (RFC 9110 tchar). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Offsets room for 16 header lines; a connection keeps up to 256 lines' worth between responses (a 64 KiB head may have 16 K). */
const INITIAL_FIELDS = 16 * FIELD_STRIDE;
const MAX_KEPT_FIELDS = 256 * FIELD_STRIDE;

/** What the client needs from a response head; one per connection, filled per response. */
export class ResponseHead implements RawResponseHead {
  /** The bytes parsed (the connection's read buffer on the raw path: valid during the handler's call only). */
  buf: Buffer = EMPTY;
  status = 0;
  statusLineStart = 0;
  statusLineEnd = 0;
  headerCount = 0;
  fields: Int32Array = new Int32Array(INITIAL_FIELDS);
  headerEnd = 0;
  /** -1: no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** Transfer-Encoding without chunked last: the body runs to the end of the connection. */
  otherEncoding = false;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** The node's Keep-Alive timeout hint in ms, 0 when absent. */
  keepAliveHintMs = 0;
  /** Content-Length was sent with Transfer-Encoding: nobody downstream may frame the body by it. */
  lengthOverridden = false;

  /** The reason phrase ('' when none): made only for handlers that take strings. */
  get statusText(): string {
    const from = this.statusLineStart + 13;
    return this.statusLineEnd > from ? this.buf.toString('latin1', from, this.statusLineEnd) : '';
  }

  /** [name, value, ...] as views into `buf` (undici's onHeaders), without a Content-Length that Transfer-Encoding overrides. */
  headerBuffers(): Buffer[] {
    const buf = this.buf;
    const f = this.fields;
    const headers: Buffer[] = [];
    for (let i = 0, at = 0; i < this.headerCount; i++, at += FIELD_STRIDE) {
      const nameStart = f[at + Field.LineStart] as number;
      const colon = f[at + Field.Colon] as number;
      if (this.lengthOverridden && colon - nameStart === 14 && bytesAre(buf, nameStart, 'content-length')) continue;
      headers.push(buf.subarray(nameStart, colon), buf.subarray(f[at + Field.ValueStart] as number, f[at + Field.ValueEnd] as number));
    }
    return headers;
  }

  /** The response is over: an idle connection must not hold its bytes, nor the offsets of an outsized head. */
  release(): void {
    this.buf = EMPTY;
    this.headerCount = 0;
    if (this.fields.length > MAX_KEPT_FIELDS) this.fields = new Int32Array(INITIAL_FIELDS);
  }

  /** Room for one more header line's offsets. */
  grow(): Int32Array {
    const bigger = new Int32Array(this.fields.length * 2);
    bigger.set(this.fields);
    this.fields = bigger;
    return bigger;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The end of the head in buf[start, end): the index just past the blank line,
 * or -1. `start` may be where an earlier search of the same bytes stopped,
 * less 3 (a line end cut by a read). Buffer#indexOf (memchr) beat a byte loop
 * here and in the parser's line ends (measured: ~510 vs ~590 ns of user CPU per 9-header head).
 */
export function findHeadEnd(buf: Buffer, start: number, end: number): number {
  let i = buf.indexOf(LF, start);
  while (i >= 0 && i < end) {
    // A line ending followed by an empty line (CRLF or a bare LF).
    if (i + 1 < end && buf[i + 1] === LF) return i + 2;
    if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

function lineEnd(buf: Buffer, from: number, end: number): number {
  const i = buf.indexOf(LF, from);
  return i < 0 || i > end ? end : i;
}

/**
 * Parses buf[start, end) (end: just past the blank line) into `out`, offsets
 * absolute in buf. Every line is checked before any of it is relayed: the raw
 * path copies the lines as they are.
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, out: ResponseHead): void {
  let eol = lineEnd(buf, start, end);
  // Every line ends with CRLF: a bare LF is where parsers disagree on where a field ends (RFC 9112 §2.2).
  if (eol === start || buf[eol - 1] !== CR) throw new ResponseParseError('bare LF in the response head');
  let stop = eol - 1;
  // "HTTP/1.x SSS[ reason]"
  const s = start;
  if (
    stop - s < 12 ||
    buf[s] !== 0x48 || buf[s + 1] !== 0x54 || buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50 || buf[s + 4] !== 0x2f || buf[s + 5] !== 0x31 || buf[s + 6] !== 0x2e ||
    (buf[s + 7] !== 0x30 && buf[s + 7] !== 0x31) || buf[s + 8] !== SP
  ) {
    throw new ResponseParseError('invalid status line');
  }
  const d0 = (buf[s + 9] as number) - 48;
  const d1 = (buf[s + 10] as number) - 48;
  const d2 = (buf[s + 11] as number) - 48;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (stop - s > 12 && buf[s + 12] !== SP)) throw new ResponseParseError('invalid status code');
  // The reason phrase reaches the client as it came (RFC 9112 §4: HTAB, SP, VCHAR, obs-text).
  for (let i = s + 13; i < stop; i++) {
    const c = buf[i] as number;
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) throw new ResponseParseError('invalid reason phrase');
  }
  out.buf = buf;
  out.status = d0 * 100 + d1 * 10 + d2;
  out.statusLineStart = s;
  out.statusLineEnd = stop;
  const http10 = buf[s + 7] === 0x30;
  out.keepAlive = !http10;
  out.contentLength = -1;
  out.chunked = false;
  out.otherEncoding = false;
  out.keepAliveHintMs = 0;
  out.lengthOverridden = false;
  let fields = out.fields;
  let count = 0;
  let sawKeepAliveToken = false;
  let sawCloseToken = false;

  let pos = eol + 1;
  for (;;) {
    eol = lineEnd(buf, pos, end);
    if (eol >= end) throw new ResponseParseError('unterminated header line');
    if (eol === pos || buf[eol - 1] !== CR) throw new ResponseParseError('bare LF in the response head');
    stop = eol - 1;
    if (stop === pos) break; // the blank line
    const first = buf[pos] as number;
    if (first === SP || first === HTAB) throw new ResponseParseError('obsolete header line folding');
    let colon = pos;
    while (colon < stop && TCHAR[buf[colon] as number] === 1) colon++;
    if (colon === pos || colon >= stop || buf[colon] !== COLON) throw new ResponseParseError('invalid header name');
    let vs = colon + 1;
    while (vs < stop && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    let ve = stop;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    for (let i = vs; i < ve; i++) {
      const c = buf[i] as number;
      if ((c < 0x20 && c !== HTAB) || c === 0x7f) throw new ResponseParseError('invalid header value');
    }
    const nameLength = colon - pos;
    if (nameLength === 14 || nameLength === 17 || nameLength === 10) {
      if (nameLength === 14 && bytesAre(buf, pos, 'content-length')) {
        if (ve === vs) throw new ResponseParseError('empty content-length');
        let n = 0;
        for (let i = vs; i < ve; i++) {
          const c = (buf[i] as number) - 48;
          if (c < 0 || c > 9) throw new ResponseParseError('invalid content-length');
          n = n * 10 + c;
        }
        if (!Number.isSafeInteger(n)) throw new ResponseParseError('content-length too large');
        if (out.contentLength >= 0 && out.contentLength !== n) throw new ResponseParseError('conflicting content-length');
        out.contentLength = n;
      } else if (nameLength === 17 && bytesAre(buf, pos, 'transfer-encoding')) {
        // Only the last coding frames the message (RFC 9112 §6.3).
        const value = buf.toString('latin1', vs, ve).toLowerCase();
        const chunkedLast = /(?:^|,)\s*chunked$/.test(value);
        if (chunkedLast) out.chunked = true;
        else out.otherEncoding = true;
      } else if (nameLength === 10 && bytesAre(buf, pos, 'connection')) {
        // Every response of a kept-alive node carries it: its tokens are read from the bytes, no string made.
        let ts = vs;
        while (ts <= ve) {
          let te = ts;
          while (te < ve && buf[te] !== COMMA) te++;
          let a = ts;
          let b = te;
          while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
          while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
          if (b - a === 5 && bytesAre(buf, a, 'close')) sawCloseToken = true;
          else if (b - a === 10 && bytesAre(buf, a, 'keep-alive')) sawKeepAliveToken = true;
          ts = te + 1;
        }
      } else if (nameLength === 10 && bytesAre(buf, pos, 'keep-alive')) {
        const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(buf.toString('latin1', vs, ve));
        if (m !== null) out.keepAliveHintMs = Number(m[1]) * 1000;
      }
    }
    const at = count * FIELD_STRIDE;
    if (at + FIELD_STRIDE > fields.length) fields = out.grow();
    fields[at + Field.LineStart] = pos;
    fields[at + Field.Colon] = colon;
    fields[at + Field.ValueStart] = vs;
    fields[at + Field.ValueEnd] = ve;
    count++;
    pos = eol + 1;
  }
  out.headerCount = count;
  out.headerEnd = pos;
  if (out.otherEncoding) out.chunked = false;
  // A message with both framings is suspect (RFC 9112 §6.1): Transfer-Encoding wins and the connection is not reused.
  if ((out.chunked || out.otherEncoding) && out.contentLength >= 0) {
    out.contentLength = -1;
    out.keepAlive = false;
    out.lengthOverridden = true;
  }
  if (sawCloseToken) out.keepAlive = false;
  else if (http10 && sawKeepAliveToken) out.keepAlive = true;
}

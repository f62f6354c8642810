// The response head the client gets, as ONE block of bytes for uWS:
// writeStatus(x) writes "HTTP/1.1 " + x + "\r\n" as given, so x is the status
// ("200 OK") followed by "\r\n" + line for every header kept, and uWS adds
// Date and the body's framing after it. From an h1 node the kept lines are
// copied as they came (the parser checked each of them), with no object per
// header; from AJP and undici (a Buffer per name and value) they are joined
// the same way. What is kept is decided by head-rules.ts for both.
import { Buffer } from 'node:buffer';
import { Field, FIELD_STRIDE, type RawResponseHead } from '../upstream/raw-head';
import { decimalValue } from '../upstream/decimal';
import { sessionIdFromSetCookie } from '../sessions';
import { connectionNamesHeaders, connectionTokens, ResponseHeader, responseHeaderKindAt } from './head-rules';
import { statusLine } from './replies';

/**
 * A block up to this size is built in the builder's own memory, as a view
 * made once per size (heads from one node repeat their size): no Buffer is
 * allocated per response. A larger block, or one built while the last is
 * still lent out, gets memory of its own.
 */
const SCRATCH_BYTES = 1024;

/** Runs shorter than this are copied by a loop: Buffer#copy makes a typed array per call. */
const LOOP_COPY_MAX = 256;

function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  const n = to - from;
  if (n < LOOP_COPY_MAX) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i] as number;
  } else {
    src.copy(dst, at, from, to);
  }
  return n;
}

/**
 * Builds client heads for one thread; after each build it also holds what the
 * exchange needs from the head (the body's length, the session id set).
 */
export class ClientHeadBuilder {
  /** Per header line of the head being built: 1 if the client sees it. */
  #keep = new Uint8Array(64);
  #contentLength = -1;
  #sessionId = '';
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  /** Views of #scratch by length, made when first needed. */
  readonly #views: (Buffer | undefined)[] = new Array<Buffer | undefined>(SCRATCH_BYTES + 1).fill(undefined);
  /** The view of #scratch handed out and not given back yet: no block is built there meanwhile. */
  #lent: Buffer | null = null;

  /** Content-Length of the last head built (-1: none, or not a plain decimal). */
  get contentLength(): number {
    return this.#contentLength;
  }

  /** The session id the last head's Set-Cookie carried ('' if none, or no cookie name was asked for). */
  get sessionId(): string {
    return this.#sessionId;
  }

  /**
   * The block for an h1 head (the head's bytes are only valid during this
   * call: the block is a copy). Give it back (giveBack) once uWS has it.
   */
  fromRaw(head: RawResponseHead, sessionCookie: string): Buffer {
    const buf = head.buf;
    const f = head.fields;
    const count = head.headerCount;
    let keep = this.#keep;
    if (keep.length < count) keep = this.#keep = new Uint8Array(count * 2);
    this.#contentLength = head.contentLength;
    this.#sessionId = '';
    let named: Set<string> | null = null;
    for (let i = 0, at = 0; i < count; i++, at += FIELD_STRIDE) {
      const nameStart = f[at + Field.LineStart] as number;
      let kept = 0;
      switch (responseHeaderKindAt(buf, nameStart, (f[at + Field.Colon] as number) - nameStart)) {
        case ResponseHeader.Forward:
          kept = 1;
          break;
        case ResponseHeader.SetCookie:
          kept = 1;
          if (sessionCookie !== '' && this.#sessionId === '') {
            this.#sessionId = sessionIdFromSetCookie(buf.toString('latin1', f[at + Field.ValueStart], f[at + Field.ValueEnd]), sessionCookie);
          }
          break;
        case ResponseHeader.Connection: {
          const vs = f[at + Field.ValueStart] as number;
          const ve = f[at + Field.ValueEnd] as number;
          if (connectionNamesHeaders(buf, vs, ve)) {
            for (const token of connectionTokens(buf.toString('latin1', vs, ve))) (named ??= new Set()).add(token);
          }
          break;
        }
        // Content-Length: the parser read it (and knows when Transfer-Encoding overrides it); uWS frames the body.
        case ResponseHeader.ContentLength:
        case ResponseHeader.Drop:
          break;
      }
      keep[i] = kept;
    }
    if (named !== null) {
      for (let i = 0, at = 0; i < count; i++, at += FIELD_STRIDE) {
        if (keep[i] === 1 && named.has(buf.toString('latin1', f[at + Field.LineStart], f[at + Field.Colon]).toLowerCase())) keep[i] = 0;
      }
    }

    // The node's own reason phrase goes as it came; none: the standard one (a status line needs one, RFC 9112 §4).
    const statusFrom = head.statusLineStart + 9;
    const ownReason = head.statusLineEnd > head.statusLineStart + 13;
    const standard = ownReason ? '' : statusLine(head.status);
    // Each kept line adds "\r\n" + its text: as many bytes as it has with its own CRLF.
    let size = ownReason ? head.statusLineEnd - statusFrom : standard.length;
    for (let i = 0, at = 0; i < count; i++, at += FIELD_STRIDE) {
      if (keep[i] === 1) size += (i + 1 < count ? (f[at + FIELD_STRIDE + Field.LineStart] as number) : head.headerEnd) - (f[at + Field.LineStart] as number);
    }
    const block = this.#blockOf(size);
    let off = 0;
    // Source bytes are copied in runs, each with its CRLF; the last run's CRLF is left for uWS to write.
    let runStart = -1;
    let runEnd = -1;
    if (ownReason) {
      runStart = statusFrom;
      runEnd = head.statusLineEnd + 2;
    } else {
      off = block.write(standard, 0, 'latin1');
      if (size > off) {
        block[off++] = 13;
        block[off++] = 10;
      }
    }
    for (let i = 0, at = 0; i < count; i++, at += FIELD_STRIDE) {
      if (keep[i] !== 1) continue;
      const lineStart = f[at + Field.LineStart] as number;
      const next = i + 1 < count ? (f[at + FIELD_STRIDE + Field.LineStart] as number) : head.headerEnd;
      if (lineStart !== runEnd) {
        if (runEnd >= 0) off += copyBytes(buf, runStart, runEnd, block, off);
        runStart = lineStart;
      }
      runEnd = next;
    }
    if (runEnd >= 0) copyBytes(buf, runStart, runEnd - 2, block, off);
    return block;
  }

  /** The block's memory is free again (uWS copied it): the next block may be built there. */
  giveBack(block: Buffer): void {
    if (block === this.#lent) this.#lent = null;
  }

  #blockOf(size: number): Buffer {
    if (size > SCRATCH_BYTES || this.#lent !== null) return Buffer.allocUnsafe(size);
    const block = (this.#views[size] ??= this.#scratch.subarray(0, size));
    this.#lent = block;
    return block;
  }

  /** The block for a head handed over as [name, value, ...] Buffers (AJP, undici). */
  fromPairs(status: number, statusText: string, headers: Buffer[], sessionCookie: string): Buffer {
    this.#contentLength = -1;
    this.#sessionId = '';
    const count = headers.length >> 1;
    let keep = this.#keep;
    if (keep.length < count) keep = this.#keep = new Uint8Array(count * 2);
    let named: Set<string> | null = null;
    for (let i = 0; i < count; i++) {
      const name = headers[2 * i] as Buffer;
      const value = headers[2 * i + 1] as Buffer;
      let kept = 0;
      switch (responseHeaderKindAt(name, 0, name.length)) {
        case ResponseHeader.Forward:
          kept = 1;
          break;
        case ResponseHeader.SetCookie:
          kept = 1;
          if (sessionCookie !== '' && this.#sessionId === '') this.#sessionId = sessionIdFromSetCookie(value.toString('latin1'), sessionCookie);
          break;
        case ResponseHeader.ContentLength:
          // The upstream client validated the framing; anything odd here is relayed chunked rather than trusted.
          this.#contentLength = decimalValue(value);
          break;
        case ResponseHeader.Connection:
          for (const token of connectionTokens(value.toString('latin1'))) (named ??= new Set()).add(token);
          break;
        case ResponseHeader.Drop:
          break;
      }
      keep[i] = kept;
    }
    if (named !== null) {
      for (let i = 0; i < count; i++) {
        if (keep[i] === 1 && named.has((headers[2 * i] as Buffer).toString('latin1').toLowerCase())) keep[i] = 0;
      }
    }
    // A string status line went to uWS as UTF-8 before this block existed: kept so.
    const line = statusLine(status, statusText);
    let size = Buffer.byteLength(line);
    for (let i = 0; i < count; i++) {
      if (keep[i] === 1) size += 4 + (headers[2 * i] as Buffer).length + (headers[2 * i + 1] as Buffer).length;
    }
    const block = Buffer.allocUnsafe(size);
    let off = block.write(line, 0);
    for (let i = 0; i < count; i++) {
      if (keep[i] !== 1) continue;
      const name = headers[2 * i] as Buffer;
      const value = headers[2 * i + 1] as Buffer;
      block[off++] = 13;
      block[off++] = 10;
      off += copyBytes(name, 0, name.length, block, off);
      block[off++] = 58;
      block[off++] = 32;
      off += copyBytes(value, 0, value.length, block, off);
    }
    return block;
  }
}

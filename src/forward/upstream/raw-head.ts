// A node's response head as the bytes it came in, with the offsets of each
// header line, for a handler that relays the head as bytes (the proxy's
// exchange copies the kept lines into one block for uWS). Handlers without
// onRawHeaders get undici's onHeaders with a Buffer per name and value.
import type { Dispatcher } from 'undici';

/** Numbers per header line in RawResponseHead.fields. */
export const FIELD_STRIDE = 4;
/** Offsets of one header line within `fields` (add i * FIELD_STRIDE). */
export const enum Field {
  /** Where the line (its name) starts. */
  LineStart = 0,
  /** The colon: the name is [LineStart, Colon). */
  Colon = 1,
  /** The value without surrounding whitespace: [ValueStart, ValueEnd). */
  ValueStart = 2,
  ValueEnd = 3,
}

/**
 * A validated response head (response-head.ts): every line ended by CRLF,
 * tchar names, no control bytes in values or the reason phrase, no folding.
 * `buf` is only valid during the call that hands it over.
 */
export interface RawResponseHead {
  readonly buf: Buffer;
  readonly status: number;
  /** Where "HTTP/1.x" starts. */
  readonly statusLineStart: number;
  /** The CR ending the status line. */
  readonly statusLineEnd: number;
  readonly headerCount: number;
  /** FIELD_STRIDE numbers per header line, in order. */
  readonly fields: Int32Array;
  /** The CR of the blank line: each header line runs to the start of the next one, the last to here. */
  readonly headerEnd: number;
  /** The framing length the body has (-1: none, or Transfer-Encoding overrides it). */
  readonly contentLength: number;
}

export interface RawHeadReceiving {
  /** onHeaders with the head as bytes; the handler copies what it keeps before it returns. */
  onRawHeaders(head: RawResponseHead, resume: () => void): boolean;
}

/** Whether `handler` takes the head as bytes. */
export function takesRawHeads(handler: Dispatcher.DispatchHandlers): handler is Dispatcher.DispatchHandlers & RawHeadReceiving {
  return typeof (handler as Partial<RawHeadReceiving>).onRawHeaders === 'function';
}

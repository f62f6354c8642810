// What one read from a node brings (a response head, several body chunks of a
// chunked response or of AJP SEND_BODY_CHUNK packets, the end of the
// response) reaches the handler as several synchronous calls. Each of them
// writes to the client in its own uWS cork, so without a batch every call is
// its own write: over TLS its own record, SSL_write and sendto. A handler
// that can hold its client's writes together offers batchRead; the h1 and AJP
// connections parse each read inside it, so the read leaves in one write.
//
// A batch holds only what surely fits uWS's cork buffer (16 KiB in uWS
// 20.30). A write that overflows it while corked flushes the buffer first,
// and when that flush finds the client's socket full uWS drops the
// overflowing bytes (AsyncSocket::uncork returns {0, failed} without writing
// them): two body chunks of one read, a small one corked and a large one
// after it, reach the client with the second missing (seen in a 256 MiB
// chunked download). Without a batch every chunk has a cork of its own and a
// full socket makes its write report backpressure before the next one. So a
// read bigger than READ_BATCH_MAX_BYTES (with what the connection carried over
// from the previous read) is parsed without a batch, as before: the batch is
// for many small pieces, where the writes it saves matter.
import type { Dispatcher } from 'undici';

/**
 * Largest read (with bytes carried over) parsed in one batch: half uWS's cork
 * buffer, leaving room for the head uWS writes and for chunk framing.
 */
export const READ_BATCH_MAX_BYTES = 8 * 1024;

export interface ReadBatching {
  /**
   * Runs `parse` at once, with the client's writes held until it returns.
   * `parse` does not throw (a throw inside uWS's cork would cross native
   * code): it returns false when the read failed, and the connection then
   * fails the request, so nothing the batch still holds may be written.
   */
  batchRead(parse: () => boolean): void;
}

/** Whether `handler` holds its writes together across one read (the proxy's exchange does; a WebSocket upgrade does not). */
export function batchesReads(handler: Dispatcher.DispatchHandlers): handler is Dispatcher.DispatchHandlers & ReadBatching {
  return typeof (handler as Partial<ReadBatching>).batchRead === 'function';
}

/**
 * Parses one read of a node connection, inside the handler's batch when the
 * read is small enough and the handler offers one. One per connection: the
 * read is held in fields around the call rather than in a closure per read,
 * and a throw from the parser is carried out of the native cork and rethrown
 * to the caller, which tears its connection down as for an unbatched read.
 */
export class ReadBatcher {
  readonly #parse: (buf: Buffer, start: number, end: number) => void;
  #buf: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  #failure: Error | null = null;

  constructor(parse: (buf: Buffer, start: number, end: number) => void) {
    this.#parse = parse;
  }

  /** `carried`: bytes the connection holds from earlier reads, parsed with this one. */
  parse(handler: Dispatcher.DispatchHandlers, buf: Buffer, start: number, end: number, carried: number): void {
    if (end - start + carried > READ_BATCH_MAX_BYTES || !batchesReads(handler)) {
      this.#parse(buf, start, end);
      return;
    }
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
    handler.batchRead(this.#parseHeld);
    this.#buf = EMPTY;
    const failure = this.#failure;
    if (failure !== null) {
      this.#failure = null;
      throw failure;
    }
  }

  readonly #parseHeld = (): boolean => {
    try {
      this.#parse(this.#buf, this.#start, this.#end);
      return true;
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err));
      return false;
    }
  };
}

const EMPTY = Buffer.alloc(0);

// Streams a response body to a uWS client with backpressure: the producer (a
// node's response, a file) is told to stop when uWS holds unsent bytes and to
// go on from uWS's onWritable. Never a whole body in memory.
import type { HttpResponse } from 'uWebSockets.js';

/** Who produces the body: paused when write() returned false, resumed by drained(). */
export interface BodyProducer {
  drained(): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * One response body. With a known length uWS frames it with Content-Length
 * (tryEnd); otherwise with chunked encoding (write/end). Every method must run
 * inside res.cork() (or a uWS callback), and only while the response is alive.
 */
export class ResponseBodyWriter {
  readonly #res: HttpResponse;
  /** Content-Length to announce; -1: unknown, chunked. */
  readonly #total: number;
  readonly #producer: BodyProducer;
  /** Part of a chunk tryEnd could not take, and the body offset it starts at. */
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  #watching = false;
  #done = false;

  constructor(res: HttpResponse, total: number, producer: BodyProducer) {
    this.#res = res;
    this.#total = total;
    this.#producer = producer;
  }

  /** True once uWS considers the response complete (the response object is then dead). */
  get done(): boolean {
    return this.#done;
  }

  /** Sends the head now (known length only): tryEnd with no bytes writes Content-Length and the blank line. */
  startKnownLength(): void {
    if (this.#total < 0 || this.#done) return;
    this.write(EMPTY);
  }

  /** Writes a chunk; false means "stop producing until drained()". */
  write(chunk: Buffer): boolean {
    const res = this.#res;
    if (this.#total < 0) {
      // uWS keeps whatever the socket did not take, so only the signal matters.
      if (res.write(chunk)) return true;
      this.#watchWritable();
      return false;
    }
    const offset = res.getWriteOffset();
    const [ok, done] = res.tryEnd(chunk, this.#total);
    if (done) {
      this.#done = true;
      return true;
    }
    if (ok) return true;
    // Kept past this call: the chunk may be a view into a read buffer its client reuses (h1/).
    this.#pending = Buffer.from(chunk);
    this.#pendingOffset = offset;
    this.#watchWritable();
    return false;
  }

  /**
   * The producer has no more bytes. A known-length body is complete by then
   * (undici checks Content-Length); if it is not, the client must not take a
   * short body for a whole one, so the connection is closed.
   */
  end(): void {
    if (this.#done) return;
    if (this.#total < 0) {
      this.#done = true;
      this.#res.end();
      return;
    }
    if (this.#pending !== null) return; // completes from onWritable
    const [, done] = this.#res.tryEnd(EMPTY, this.#total);
    this.#done = true;
    if (!done) this.#res.close();
  }

  #watchWritable(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.#res.onWritable((offset) => this.#onWritable(offset));
  }

  #onWritable(offset: number): boolean {
    const pending = this.#pending;
    if (pending === null) {
      this.#producer.drained();
      return true;
    }
    const [ok, done] = this.#res.tryEnd(pending.subarray(offset - this.#pendingOffset), this.#total);
    if (done) {
      this.#done = true;
      this.#pending = null;
      this.#producer.drained();
      return true;
    }
    if (ok) {
      this.#pending = null;
      this.#producer.drained();
    }
    return ok;
  }
}

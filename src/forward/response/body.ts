// Streams a response body to a uWS client with backpressure: the producer (a
// node's response, a file) is told to stop when uWS holds unsent bytes and to
// go on from uWS's onWritable. Never a whole body in memory.
//
// A client that stops reading (issue 13): uWebSockets.js 20.30 arms a 10 s
// socket timeout (HTTP_IDLE_TIMEOUT_S, checked on a 4 s tick, so 8–12 s)
// whenever a write finds the socket full, and closes the connection when it
// fires; a writable event disarms it. So while a body is stalled, the writer
// re-arms uWS's timer every few seconds and drops the client itself only after
// --send-timeout without progress (nginx's send_timeout). With Content-Length
// it offers its held-back bytes to uWS again: the write fails without taking
// anything (tryEnd writes optionally) and re-arms the timer. A chunked body
// has no held-back bytes (uWS buffers a whole chunk), so there res.pause() +
// res.resume() re-arm it: pause() sets "never", resume() 10 s, and the pair
// restores the poll events it found (uWS AsyncSocket.h throttle_helper).
import { Buffer } from 'node:buffer';
import type { HttpResponse } from 'uWebSockets.js';
import { TRAFFIC_LIMIT_DEFAULTS } from '../limits';

/** Below uWS's earliest timeout (8 s): every stall poke re-arms it in time. */
const STALL_POKE_MS = 3000;

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
  /**
   * Body bytes uWS has taken (its write offset), kept here rather than asked
   * of uWS before every chunk: a native call per chunk, and the offset only
   * moves through this writer's own tryEnd calls.
   */
  #written = 0;
  /** Part of a chunk tryEnd could not take, and the body offset it starts at. */
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  #watching = false;
  #done = false;
  readonly #sendTimeoutMs: number;
  /** Runs while a Content-Length body is held back by a client that does not read. */
  #stallTimer: NodeJS.Timeout | null = null;
  #stallOffset = 0;
  #progressAt = 0;
  /** A chunked write found the socket full and no writable event came since. */
  #chunkBlocked = false;
  /** uWS writable events so far: the only sign of progress a chunked body gives. */
  #writables = 0;
  #stallWritables = 0;
  #disposed = false;

  constructor(res: HttpResponse, total: number, producer: BodyProducer, sendTimeoutMs: number = TRAFFIC_LIMIT_DEFAULTS.sendTimeoutMs) {
    this.#res = res;
    this.#total = total;
    this.#producer = producer;
    this.#sendTimeoutMs = sendTimeoutMs;
  }

  /** The response is over or its client gone: the response object must not be touched again. */
  dispose(): void {
    this.#disposed = true;
    this.#stopStallTimer();
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
      this.#chunkBlocked = true;
      this.#watchWritable();
      this.#startStallTimer();
      return false;
    }
    // Indexed, not destructured: no iterator protocol on the per-chunk path.
    const result = res.tryEnd(chunk, this.#total);
    if (result[1]) {
      this.#done = true;
      return true;
    }
    const offset = this.#written;
    if (result[0]) {
      this.#written = offset + chunk.length;
      return true;
    }
    // Kept past this call: the chunk may be a view into a read buffer its client reuses (h1/).
    this.#pending = Buffer.from(chunk);
    this.#pendingOffset = offset;
    this.#watchWritable();
    this.#startStallTimer();
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
    this.#res.onWritable((offset) => {
      this.#writables++;
      return this.#onWritable(offset);
    });
  }

  #startStallTimer(): void {
    if (this.#stallTimer !== null || this.#disposed) return;
    this.#stallOffset = this.#res.getWriteOffset();
    this.#stallWritables = this.#writables;
    this.#progressAt = Date.now();
    this.#stallTimer = setInterval(() => this.#onStallTick(), STALL_POKE_MS);
  }

  #stopStallTimer(): void {
    if (this.#stallTimer === null) return;
    clearInterval(this.#stallTimer);
    this.#stallTimer = null;
  }

  #onStallTick(): void {
    if (this.#disposed || this.#done || (this.#total < 0 ? !this.#chunkBlocked : this.#pending === null)) {
      this.#stopStallTimer();
      return;
    }
    try {
      this.#keepStalledClient();
    } catch {
      // The response died without dispose() (uWS throws on a discarded response): stop looking at it.
      this.dispose();
    }
  }

  #keepStalledClient(): void {
    const res = this.#res;
    const offset = res.getWriteOffset();
    const now = Date.now();
    if (offset !== this.#stallOffset || this.#writables !== this.#stallWritables) {
      this.#stallOffset = offset;
      this.#stallWritables = this.#writables;
      this.#progressAt = now;
    } else if (now - this.#progressAt >= this.#sendTimeoutMs) {
      // --send-timeout without a byte taken: the client is gone in all but name.
      this.#stopStallTimer();
      // Not corked: uWS does not carry out a close made inside cork() outside its own callbacks.
      res.close();
      return;
    }
    if (this.#total < 0) {
      res.pause();
      res.resume();
      return;
    }
    // Offer the held-back bytes again, uncorked so that uWS writes them optionally: taken only if the
    // client read meanwhile (that is progress), otherwise nothing moves and uWS's timer is re-armed.
    this.#onWritable(offset);
  }

  #onWritable(offset: number): boolean {
    const pending = this.#pending;
    if (pending === null) {
      if (this.#chunkBlocked) {
        this.#chunkBlocked = false;
        this.#stopStallTimer();
      }
      this.#producer.drained();
      return true;
    }
    const [ok, done] = this.#res.tryEnd(pending.subarray(offset - this.#pendingOffset), this.#total);
    if (done) {
      this.#done = true;
      this.#pending = null;
      this.#stopStallTimer();
      this.#producer.drained();
      return true;
    }
    if (ok) {
      this.#written = this.#pendingOffset + pending.length;
      this.#pending = null;
      this.#stopStallTimer();
      this.#producer.drained();
    }
    return ok;
  }
}

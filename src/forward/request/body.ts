// A client's request body on its way to a node, with backpressure both ways:
// uWS delivers chunks (onData), undici pulls them through a Readable, and the
// client socket is paused while more than a little is waiting. The queue lives
// here rather than in the Readable so that a failed attempt that took no byte
// can be retried on another node with a fresh Readable (MCMP.md §5.9.1).
import { Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';

/** Bytes held here before the client is paused. */
const QUEUE_LIMIT = 256 * 1024;
/** The Readable's own buffer: undici writes to the socket from it. */
const READER_HIGH_WATER = 64 * 1024;

export class StreamedRequestBody {
  readonly #res: HttpResponse;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  /** The client socket is paused (res.pause()). */
  #clientPaused = false;
  /** The response is finished or aborted: the client socket must not be touched any more. */
  #detached = false;
  #reader: Readable | null = null;
  /** The reader asked for data (_read) and push() has not said "full" since. */
  #readerWants = false;
  /** Some byte went to a reader: the body cannot be replayed. */
  #touched = false;

  constructor(res: HttpResponse) {
    this.#res = res;
  }

  /** uWS onData: the chunk must be copied, uWS reuses its memory once this returns. */
  push(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.#detached) return;
    if (chunk.byteLength > 0) {
      const buf = Buffer.from(chunk.slice(0));
      if (this.#reader !== null && this.#readerWants && this.#queue.length === 0) {
        this.#touched = true;
        this.#readerWants = this.#reader.push(buf);
      } else {
        this.#queue.push(buf);
        this.#queued += buf.length;
      }
    }
    if (isLast) {
      this.#ended = true;
      if (this.#reader !== null && this.#queue.length === 0) this.#reader.push(null);
      return;
    }
    if (!this.#clientPaused && this.#queued > QUEUE_LIMIT) {
      this.#clientPaused = true;
      this.#res.pause();
    }
  }

  /** The proxy paused the client because the node is not taking the body: the client is not the one stalling. */
  get clientHeld(): boolean {
    return this.#clientPaused;
  }

  /** Nothing was taken by a reader yet, so another attempt can send the whole body. */
  get replayable(): boolean {
    return !this.#touched;
  }

  /** A fresh stream of the body for one attempt; the previous one is dropped. */
  openReader(): Readable {
    this.#dropReader();
    const reader = new Readable({
      highWaterMark: READER_HIGH_WATER,
      read: () => this.#pull(reader),
      destroy: (err, callback) => {
        if (this.#reader === reader) {
          this.#reader = null;
          this.#readerWants = false;
        }
        callback(err);
      },
    });
    this.#reader = reader;
    this.#readerWants = false;
    return reader;
  }

  /**
   * The exchange is over (response sent, or client gone): stop touching the
   * client socket. A paused client is resumed first so that a keep-alive
   * connection is not left stuck.
   */
  detach(): void {
    if (this.#detached) return;
    if (this.#clientPaused) {
      this.#clientPaused = false;
      this.#res.resume();
    }
    this.#detached = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#dropReader();
  }

  /** Like detach(), for a response uWS already closed (no resume: the response object is dead). */
  detachDead(): void {
    this.#clientPaused = false;
    this.detach();
  }

  #dropReader(): void {
    const reader = this.#reader;
    if (reader === null) return;
    this.#reader = null;
    this.#readerWants = false;
    if (!reader.destroyed) reader.destroy();
  }

  #pull(reader: Readable): void {
    if (reader !== this.#reader) return;
    this.#readerWants = true;
    const queue = this.#queue;
    while (this.#readerWants && queue.length > 0) {
      const buf = queue.shift() as Buffer;
      this.#queued -= buf.length;
      this.#touched = true;
      this.#readerWants = reader.push(buf);
    }
    if (queue.length > 0) return;
    if (this.#ended) {
      reader.push(null);
      return;
    }
    if (this.#clientPaused && !this.#detached) {
      this.#clientPaused = false;
      this.#res.resume();
    }
  }
}

// A client's request body that stops coming (issue 13, --receive-timeout).
//
// uWebSockets.js 20.30 arms its 10 s socket timeout (HTTP_IDLE_TIMEOUT_S,
// checked on a 4 s tick: 8–12 s) when a request with a body handler arrives,
// and re-arms it only after every 160 KB received (HTTP_RECEIVE_THROUGHPUT_BYTES
// × 10 s): a client that pauses, or sends below 16 KB/s, is closed without an
// answer. What else sets that timer from JavaScript: res.pause() sets it to
// "never" and res.resume() to 10 s again (HttpResponse.h, since uWS 20.9),
// while the pair restores exactly the poll events it found (AsyncSocket.h
// throttle_helper). So the watch calls pause()+resume() every few seconds
// while the body is incomplete, which keeps uWS's timer from firing, and
// applies the proxy's own limit instead: no byte for --receive-timeout → the
// exchange answers 408 (or closes, if the response had started) and abandons
// the node's request. While the proxy itself holds the client paused (the
// node is not taking the body) the client is not the one stalling: the clock
// does not run and uWS's timer is off anyway.
import type { HttpResponse } from 'uWebSockets.js';

/** Below uWS's earliest timeout (8 s): every re-arm lands in time. */
const TICK_MS = 3000;

export class UploadWatch {
  readonly #res: HttpResponse;
  readonly #timeoutMs: number;
  readonly #onTimeout: () => void;
  /** The proxy paused the client itself (body backpressure). */
  readonly #held: () => boolean;
  #timer: NodeJS.Timeout | null = null;
  /** Chunks seen so far, and at the last tick. */
  #chunks = 0;
  #chunksAtTick = 0;
  #progressAt = Date.now();

  constructor(res: HttpResponse, timeoutMs: number, onTimeout: () => void, held: () => boolean = () => false) {
    this.#res = res;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
    this.#held = held;
    this.#timer = setTimeout(this.#tick, TICK_MS);
  }

  /** A chunk of the body arrived (uWS onData). */
  data(isLast: boolean): void {
    this.#chunks++;
    if (isLast) this.stop();
  }

  /** The body is complete, the client gone or the response over: the response object may be dead. */
  stop(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #tick = (): void => {
    this.#timer = null;
    const now = Date.now();
    if (this.#chunks !== this.#chunksAtTick || this.#held()) {
      this.#chunksAtTick = this.#chunks;
      this.#progressAt = now;
    } else if (now - this.#progressAt >= this.#timeoutMs) {
      this.#onTimeout();
      return;
    }
    if (!this.#held()) {
      try {
        this.#res.pause();
        this.#res.resume();
      } catch {
        // The response is over (uWS throws on a discarded response): nothing left to watch.
        return;
      }
    }
    this.#timer = setTimeout(this.#tick, Math.min(TICK_MS, Math.max(10, this.#timeoutMs - (now - this.#progressAt))));
  };
}

// Log lines that can repeat thousands of times a second under attack or
// exhaustion: one line when an episode starts, one when it ends with the count;
// refusals at most once per peer per window, with how many were not logged.
import type { Logger } from './log';

/**
 * An episode: `hit()` logs the first occurrence at warn; further hits are
 * counted; once none came for `quietMs`, one line says it ended and how many.
 */
export class EpisodeLog {
  readonly #logger: Logger;
  readonly #message: string;
  readonly #quietMs: number;
  #count = 0;
  #since = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(logger: Logger, message: string, quietMs = 5000) {
    this.#logger = logger;
    this.#message = message;
    this.#quietMs = quietMs;
  }

  /** An episode is running. */
  get active(): boolean {
    return this.#count > 0;
  }

  hit(fields: Record<string, unknown> = {}): void {
    if (this.#count === 0) {
      this.#since = Date.now();
      this.#logger.warn(fields, this.#message);
    }
    this.#count++;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.end(), this.#quietMs);
    this.#timer.unref();
  }

  /** Ends the episode now (also called once it has been quiet for quietMs). */
  end(fields: Record<string, unknown> = {}): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#count === 0) return;
    this.#logger.info({ ...fields, occurrences: this.#count, durationMs: Date.now() - this.#since }, `${this.#message}: episode over`);
    this.#count = 0;
  }
}

interface PeerWindow {
  start: number;
  suppressed: number;
}

/** Above this many tracked keys, windows that are over are forgotten. */
const PRUNE_AT = 10_000;

/**
 * Refusals (403, 408, 400...) logged at most once per peer address and kind
 * per window (default a minute); the next line carries how many were not logged.
 */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, PeerWindow>();

  constructor(logger: Logger, windowMs = 60_000, now: () => number = Date.now) {
    this.#logger = logger;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** `address`: the peer's address without port (one client, many connections). */
  refused(address: string, kind: string | number, fields: Record<string, unknown>, message: string): void {
    const key = `${address} ${kind}`;
    const now = this.#now();
    const w = this.#windows.get(key);
    if (w !== undefined && now - w.start < this.#windowMs) {
      w.suppressed++;
      return;
    }
    const notLogged = w?.suppressed ?? 0;
    this.#logger.warn(notLogged > 0 ? { ...fields, notLoggedBefore: notLogged } : fields, message);
    if (this.#windows.size >= PRUNE_AT) this.#prune(now);
    this.#windows.set(key, { start: now, suppressed: 0 });
  }

  #prune(now: number): void {
    for (const [key, w] of this.#windows) {
      if (now - w.start >= this.#windowMs) this.#windows.delete(key);
    }
  }
}

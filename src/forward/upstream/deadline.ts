// The one deadline an upstream connection has at a time (connect, CPONG,
// response head, body, keep-alive idle), for the HTTP/1.1 and AJP clients.
//
// A keep-alive connection alternates between two durations (the node's
// timeout while a request runs, the keep-alive time while idle). A timer per
// duration is kept and re-armed with refresh(): switching deadlines costs no
// new Timeout and no clearTimeout, which were two of each per request when one
// timer was replaced on every switch. A timer that fires while it is not the
// current one does nothing.

/** `kind` 0 means "no deadline"; each client numbers its own kinds from 1. */
export class Deadline<K extends number> {
  readonly #expired: (kind: K) => void;
  #kind = 0;
  #a: NodeJS.Timeout | null = null;
  #aMs = 0;
  #b: NodeJS.Timeout | null = null;
  #bMs = 0;
  #current: NodeJS.Timeout | null = null;

  /** `expired` gets the kind that ran out (the deadline is then cleared). */
  constructor(expired: (kind: K) => void) {
    this.#expired = expired;
  }

  /** The deadline running now, 0 when none. */
  get kind(): K | 0 {
    return this.#kind as K | 0;
  }

  /** `kind` runs out `ms` from now; ms ≤ 0: no deadline. */
  arm(kind: K, ms: number): void {
    if (ms <= 0) {
      this.#kind = 0;
      return;
    }
    this.#kind = kind;
    let timer: NodeJS.Timeout;
    if (this.#aMs === ms && this.#a !== null) {
      timer = this.#a.refresh();
    } else if (this.#bMs === ms && this.#b !== null) {
      timer = this.#b.refresh();
    } else if (this.#current === this.#a && this.#a !== null) {
      // The other slot gets the new duration.
      if (this.#b !== null) clearTimeout(this.#b);
      timer = this.#b = setTimeout(this.#onB, ms).unref();
      this.#bMs = ms;
    } else {
      if (this.#a !== null) clearTimeout(this.#a);
      timer = this.#a = setTimeout(this.#onA, ms).unref();
      this.#aMs = ms;
    }
    this.#current = timer;
  }

  /** The running deadline starts over (the body timeout counts from the last read). */
  refresh(): void {
    if (this.#kind !== 0) this.#current?.refresh();
  }

  /** No deadline; the timers stay scheduled and do nothing when they fire. */
  disarm(): void {
    this.#kind = 0;
  }

  /** The connection is closed: timers cancelled. */
  clear(): void {
    this.#kind = 0;
    this.#current = null;
    if (this.#a !== null) clearTimeout(this.#a);
    if (this.#b !== null) clearTimeout(this.#b);
    this.#a = this.#b = null;
    this.#aMs = this.#bMs = 0;
  }

  readonly #onA = (): void => {
    if (this.#current === this.#a) this.#fire();
  };

  readonly #onB = (): void => {
    if (this.#current === this.#b) this.#fire();
  };

  #fire(): void {
    const kind = this.#kind;
    this.#kind = 0;
    if (kind !== 0) this.#expired(kind as K);
  }
}

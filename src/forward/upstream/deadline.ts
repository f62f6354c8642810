// The one deadline an upstream connection has at a time (connect, CPONG,
// response head, body, keep-alive idle), for the HTTP/1.1 and AJP clients.
//
// A kept-alive connection moves its deadline about three times per request
// (head on write, body on head, idle when released), and every read of a body
// restarts it. Moving a Node timer costs a re-insertion into the timer lists
// each time. So the deadline is kept as a number and one timer runs behind it:
// a deadline that moves later costs only a clock read; the timer is moved only
// when a deadline comes earlier than it. A timer that fires before the
// deadline (it was moved later meanwhile) sleeps again for what is left, so a
// busy connection touches its timer about once per its shortest duration, not
// three times per request.
import { performance } from 'node:perf_hooks';

/** setTimeout's longest delay; a longer deadline is reached in several sleeps. */
const MAX_SLEEP_MS = 2 ** 31 - 1;
/**
 * A timer is let fire up to this much before the deadline: Node runs timers on
 * the loop's cached clock, which can be behind performance.now() by about a
 * millisecond; sleeping again for less would only add a wake-up.
 */
const EARLY_MS = 1;

/** `kind` 0 means "no deadline"; each client numbers its own kinds from 1. */
export class Deadline<K extends number> {
  readonly #expired: (kind: K) => void;
  #kind = 0;
  /** Duration of the running deadline (refresh starts it over). */
  #ms = 0;
  /** performance.now() at which the running deadline runs out. */
  #due = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The delay the timer was set with (refresh() re-uses it), and when it fires; Infinity: no timer. */
  #timerMs = 0;
  #timerDue = Infinity;

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
    this.#ms = ms;
    const due = performance.now() + ms;
    this.#due = due;
    if (due < this.#timerDue) this.#sleep(ms, due);
  }

  /** The running deadline starts over (the body timeout counts from the last read): only ever later, the timer stays. */
  refresh(): void {
    if (this.#kind !== 0) this.#due = performance.now() + this.#ms;
  }

  /** No deadline; the timer stays and, when it fires, stops. */
  disarm(): void {
    this.#kind = 0;
  }

  /** The connection is closed: timer cancelled. */
  clear(): void {
    this.#kind = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDue = Infinity;
  }

  /** The timer fires at `due` (ms from now). */
  #sleep(ms: number, due: number): void {
    const delay = ms < MAX_SLEEP_MS ? ms : MAX_SLEEP_MS;
    const timer = this.#timer;
    if (timer !== null && this.#timerMs === delay) {
      timer.refresh();
    } else {
      if (timer !== null) clearTimeout(timer);
      this.#timer = setTimeout(this.#onTimer, delay).unref();
      this.#timerMs = delay;
    }
    this.#timerDue = ms < MAX_SLEEP_MS ? due : due - ms + delay;
  }

  readonly #onTimer = (): void => {
    this.#timerDue = Infinity;
    if (this.#kind === 0) return;
    const left = this.#due - performance.now();
    if (left > EARLY_MS) {
      this.#sleep(Math.ceil(left), this.#due);
      return;
    }
    const kind = this.#kind;
    this.#kind = 0;
    this.#expired(kind as K);
  };
}

// Watches what the traffic port costs the process (issue 13) and tells the
// forwarding threads to stop accepting before it runs out: when open
// descriptors near the soft RLIMIT_NOFILE, or when the established client
// connections reach --max-connections. uWS.js has no connection hook for HTTP
// and no accept back-off of its own, so both are measured from outside the
// event loop: /proc/self/fd for descriptors and /proc/net/tcp{,6} for the
// connections of the listening port (read only when descriptors say the cap
// may be near). uWS accepts a whole burst before any look can stop it, so a
// reserve of descriptors (src/fd-reserve.ts) is held from the start and given
// back once every thread has closed its listen sockets: the clients already
// connected can still reach their nodes. One warn line when accepting stops,
// one info line when it resumes; existing connections are served all along.
import fs from 'node:fs';
import type { Logger } from '../log';
import { openFdCount } from '../fd-limit';
import { FdReserve } from '../fd-reserve';

export interface AcceptGovernorOptions {
  /** Soft RLIMIT_NOFILE (Infinity: unlimited). */
  readonly fdLimit: number;
  /** Client connections of the whole process; 0: no cap. */
  readonly maxConnections: number;
  /** The traffic port, to count its connections. */
  readonly port: () => number;
  /** Resolves once every thread has closed (false) or opened (true) its listen sockets. */
  readonly setAccepting: (on: boolean) => Promise<void> | void;
  readonly logger: Logger;
  readonly pollMs?: number;
  /** Injectable for tests: open descriptors now. */
  readonly openFds?: () => number;
  /** Injectable for tests: established connections on `port`. */
  readonly connections?: (port: number) => number;
}

const DEFAULT_POLL_MS = 100;

/**
 * Descriptors held back for node connections, files, probes and the threads'
 * own handles; as many again are the margin at which accepting pauses.
 */
export function fdReserve(fdLimit: number): number {
  // Capped: every held descriptor is one more entry in each /proc/self/fd listing (at 20 000
  // descriptors an uncapped 5% made the listing cost the primary 37 ms of CPU per second).
  return Math.min(MAX_RESERVE, Math.max(32, Math.ceil(fdLimit * 0.05)));
}

const MAX_RESERVE = 256;
/** Looks come this many times less often while descriptors and connections are far from their limits. */
const FAR_SLOWDOWN = 10;

/**
 * The connection cap --max-connections auto stands for: what the descriptors
 * allow with one node connection per client connection, the reserve and the
 * margin kept.
 */
export function autoMaxConnections(fdLimit: number, managerMaxConnections: number): number {
  if (!Number.isFinite(fdLimit)) return 0;
  return Math.max(16, Math.floor((fdLimit - 2 * fdReserve(fdLimit) - managerMaxConnections) / 2));
}

/** Established TCP connections whose local port is `port`, from /proc/net/tcp and tcp6. */
export function establishedOnPort(port: number): number {
  // "sl local_address rem_address st ...": the local side is ours, st 01 is ESTABLISHED. One regex
  // over the whole file: it may list every connection of the machine, and this runs every 100 ms.
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const established = new RegExp(`^\\s*\\d+: [0-9A-F]+:${hex} [0-9A-F]+:[0-9A-F]{4} 01 `, 'gm');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    n += text.match(established)?.length ?? 0;
  }
  return n;
}

export class AcceptGovernor {
  readonly #o: AcceptGovernorOptions;
  readonly #openFds: () => number;
  readonly #connections: (port: number) => number;
  readonly #reserve: FdReserve;
  readonly #high: number;
  readonly #low: number;
  #timer: NodeJS.Timeout | null = null;
  #pausedAt = 0;
  /** The threads have not answered the last pause or resume yet. */
  #switching = false;

  constructor(options: AcceptGovernorOptions) {
    this.#o = options;
    this.#openFds = options.openFds ?? openFdCount;
    this.#connections = options.connections ?? establishedOnPort;
    const finite = Number.isFinite(options.fdLimit);
    const reserve = finite ? fdReserve(options.fdLimit) : 0;
    this.#reserve = new FdReserve(reserve);
    // Open descriptors include the held reserve: pausing at the margin leaves it and as many again.
    this.#high = finite ? options.fdLimit - reserve : Infinity;
    // Counted while the reserve is given back: once it is taken again, the margin is there twice.
    this.#low = this.#high - 2 * reserve;
  }

  /** Accepting is paused now. */
  get paused(): boolean {
    return this.#pausedAt !== 0;
  }

  /** Descriptors held back now (given back while paused). */
  get reserved(): number {
    return this.#reserve.held;
  }

  start(): void {
    if (this.#timer !== null || (this.#high === Infinity && this.#o.maxConnections <= 0)) return;
    this.#reserve.hold();
    this.#schedule(this.#o.pollMs ?? DEFAULT_POLL_MS);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#reserve.release();
  }

  // Each look lists /proc/self/fd, whose cost grows with the descriptors open: far from the limits
  // (below a quarter of them) a slower pace is enough, because the held reserve already covers what a
  // burst takes before the next look; near them, or paused, the threads are told within pollMs.
  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      const pollMs = this.#o.pollMs ?? DEFAULT_POLL_MS;
      const fds = this.check();
      const cap = this.#o.maxConnections;
      const far = !this.paused && fds >= 0 && fds < this.#high / 4 && (cap <= 0 || fds - this.#reserve.held < cap / 4);
      if (this.#timer !== null) this.#schedule(far ? pollMs * FAR_SLOWDOWN : pollMs);
    }, delay);
    this.#timer.unref();
  }

  /** One look (also called by the timer); returns the open descriptors it counted (-1: none counted). */
  check(): number {
    if (this.#switching) return -1;
    const fds = this.#openFds();
    if (fds < 0) return fds;
    const cap = this.#o.maxConnections;
    // Every client connection holds a descriptor: below the cap in descriptors, below it in connections.
    const connections = cap > 0 && fds - this.#reserve.held >= cap * 0.9 && Number.isFinite(fds) ? this.#connections(this.#o.port()) : -1;
    if (!this.paused) {
      const reason = fds >= this.#high ? 'file descriptors' : cap > 0 && connections >= cap ? 'max-connections' : '';
      if (reason === '') return fds;
      this.#pausedAt = Date.now();
      this.#o.logger.warn(
        { reason, openFds: Number.isFinite(fds) ? fds : 'all', fdLimit: this.#o.fdLimit, connections: connections < 0 ? undefined : connections, maxConnections: cap || undefined },
        `accepting client connections paused (${reason}); open connections are still served`,
      );
      // Given back only when no thread accepts any more: an accepting thread would take it at once.
      this.#switch(false, () => this.#reserve.release());
      return fds;
    }
    const fdsOk = fds <= this.#low;
    const connectionsOk = cap <= 0 || connections < 0 || connections < cap * 0.9;
    if (!fdsOk || !connectionsOk) return fds;
    const pausedMs = Date.now() - this.#pausedAt;
    this.#pausedAt = 0;
    this.#reserve.hold();
    this.#switch(true, () => undefined);
    this.#o.logger.info({ openFds: fds, connections: connections < 0 ? undefined : connections, pausedMs }, 'accepting client connections resumed');
    return fds;
  }

  #switch(on: boolean, then: () => void): void {
    this.#switching = true;
    const done = (): void => {
      this.#switching = false;
      then();
    };
    let answer: Promise<void> | void;
    try {
      answer = this.#o.setAccepting(on);
    } catch (err) {
      this.#o.logger.warn({ err }, 'the forwarding threads could not be told to pause or resume accepting');
      done();
      return;
    }
    if (answer === undefined) done();
    else answer.then(done, done);
  }
}

// Watches what the traffic port costs the process (issue 13) and tells the
// forwarding threads to stop accepting before it runs out: when open
// descriptors near the soft RLIMIT_NOFILE, or when the established client
// connections reach --max-connections. uWS.js has no connection hook for HTTP
// and no accept back-off of its own, so both are measured from outside the
// event loop: /proc/self/fd for descriptors and /proc/net/tcp{,6} for the
// connections of the listening port (read only when descriptors say the cap
// may be near). One warn line when accepting stops, one info line when it
// resumes; existing connections are served all along.
import fs from 'node:fs';
import type { Logger } from '../log';
import { openFdCount } from '../fd-limit';

export interface AcceptGovernorOptions {
  /** Soft RLIMIT_NOFILE (Infinity: unlimited). */
  readonly fdLimit: number;
  /** Client connections of the whole process; 0: no cap. */
  readonly maxConnections: number;
  /** The traffic port, to count its connections. */
  readonly port: () => number;
  readonly setAccepting: (on: boolean) => void;
  readonly logger: Logger;
  readonly pollMs?: number;
  /** Injectable for tests: open descriptors now. */
  readonly openFds?: () => number;
  /** Injectable for tests: established connections on `port`. */
  readonly connections?: (port: number) => number;
}

const DEFAULT_POLL_MS = 100;

/** Descriptors kept free for node connections, files, probes and the threads' own handles. */
export function fdReserve(fdLimit: number): number {
  return Math.max(32, Math.ceil(fdLimit * 0.05));
}

/**
 * The connection cap --max-connections auto stands for: what the descriptors
 * allow with one node connection per client connection and the reserve kept.
 */
export function autoMaxConnections(fdLimit: number, managerMaxConnections: number): number {
  if (!Number.isFinite(fdLimit)) return 0;
  return Math.max(16, Math.floor((fdLimit - fdReserve(fdLimit) - managerMaxConnections) / 2));
}

/** Established TCP connections whose local port is `port`, from /proc/net/tcp and tcp6. */
export function establishedOnPort(port: number): number {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      // "sl local_address rem_address st ...": the local side is ours, st 01 is ESTABLISHED.
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '01' && fields[1]?.endsWith(suffix) === true) n++;
    }
  }
  return n;
}

export class AcceptGovernor {
  readonly #o: AcceptGovernorOptions;
  readonly #openFds: () => number;
  readonly #connections: (port: number) => number;
  readonly #high: number;
  readonly #low: number;
  #timer: NodeJS.Timeout | null = null;
  #pausedAt = 0;

  constructor(options: AcceptGovernorOptions) {
    this.#o = options;
    this.#openFds = options.openFds ?? openFdCount;
    this.#connections = options.connections ?? establishedOnPort;
    const reserve = Number.isFinite(options.fdLimit) ? fdReserve(options.fdLimit) : 0;
    this.#high = Number.isFinite(options.fdLimit) ? options.fdLimit - reserve : Infinity;
    this.#low = this.#high - reserve;
  }

  /** Accepting is paused now. */
  get paused(): boolean {
    return this.#pausedAt !== 0;
  }

  start(): void {
    if (this.#timer !== null || (this.#high === Infinity && this.#o.maxConnections <= 0)) return;
    this.#timer = setInterval(() => this.check(), this.#o.pollMs ?? DEFAULT_POLL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One look (also called by the timer). */
  check(): void {
    const fds = this.#openFds();
    if (fds < 0) return;
    const cap = this.#o.maxConnections;
    // Every client connection holds a descriptor: below the cap in descriptors, below it in connections.
    const connections = cap > 0 && fds >= cap * 0.9 && Number.isFinite(fds) ? this.#connections(this.#o.port()) : -1;
    if (!this.paused) {
      const reason = fds >= this.#high ? 'file descriptors' : cap > 0 && connections >= cap ? 'max-connections' : '';
      if (reason === '') return;
      this.#pausedAt = Date.now();
      this.#o.setAccepting(false);
      this.#o.logger.warn(
        { reason, openFds: Number.isFinite(fds) ? fds : 'all', fdLimit: this.#o.fdLimit, connections: connections < 0 ? undefined : connections, maxConnections: cap || undefined },
        `accepting client connections paused (${reason}); open connections are still served`,
      );
      return;
    }
    const fdsOk = fds <= this.#low;
    const connectionsOk = cap <= 0 || connections < 0 || connections < cap * 0.9;
    if (!fdsOk || !connectionsOk) return;
    const pausedMs = Date.now() - this.#pausedAt;
    this.#pausedAt = 0;
    this.#o.setAccepting(true);
    this.#o.logger.info({ openFds: fds, connections: connections < 0 ? undefined : connections, pausedMs }, 'accepting client connections resumed');
  }
}

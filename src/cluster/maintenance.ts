// The primary's periodic task (MCMP.md §3.10), once a second:
//   - removal life cycle (§3.11, decision D16): a node marked removed becomes
//     the `REMOVED` placeholder after WaitBeforeRemove, and its slot is freed
//     WaitBeforeRemove later once no request is using it;
//   - lbstatus recalculation every LBstatusRecalTime (§5.7), with an idle probe
//     of every node that read nothing in the window (§5.9.3); more than 60
//     failed idle probes in a row mark the node removed;
//   - NodeTimeout (MCMP.md §11.0, off by default): a node without STATUS for
//     that many seconds is put in error;
//   - session ids not seen for 300 s are purged (§3.7).
import type { Directives } from '../config/directives';
import type { Logger } from '../log';
import { NodeFlag, type ClusterCounters } from '../slots/counters';
import type { NodeProber } from './probe';
import type { ClusterState } from './state';
import type { NodeRow } from '../slots/rows';

/** Consecutive idle-probe failures after which a node is removed (§5.9.3). */
export const MAX_IDLE_FAILURES = 60;

export const DEFAULT_TICK_MS = 1000;

export interface MaintenanceOptions {
  state: ClusterState;
  counters: ClusterCounters;
  prober: NodeProber;
  directives: Directives;
  logger: Logger;
  /** Milliseconds since the epoch; defaults to the state's clock. */
  now?: () => number;
}

export class Maintenance {
  readonly #state: ClusterState;
  readonly #counters: ClusterCounters;
  readonly #prober: NodeProber;
  readonly #directives: Directives;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Node slots with an idle probe in flight: a slow probe never overlaps the next one. */
  readonly #probing = new Set<number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: MaintenanceOptions) {
    this.#state = opts.state;
    this.#counters = opts.counters;
    this.#prober = opts.prober;
    this.#directives = opts.directives;
    this.#logger = opts.logger;
    this.#now = opts.now ?? opts.state.now;
  }

  /**
   * One pass. The table work is synchronous; the returned promise settles when
   * the idle probes this pass started have been applied.
   */
  async tick(): Promise<void> {
    const now = this.#now();
    const probes: Array<Promise<void>> = [];
    for (const node of this.#state.nodes()) {
      if (node.removed) this.#removalStep(node, now);
      else this.#liveStep(node, now, probes);
    }
    const purged = this.#state.purgeSessions();
    if (purged > 0) this.#logger.debug({ purged }, 'session ids expired');
    await Promise.all(probes);
  }

  start(periodMs: number = DEFAULT_TICK_MS): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.#logger.error({ err }, 'maintenance tick failed'));
    }, periodMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #removalStep(node: NodeRow, now: number): void {
    const id = node.id;
    const book = this.#state.bookkeeping(id);
    const waitMs = this.#directives.WaitBeforeRemove * 1000;
    // §3.10 step 2: a removed node's worker is no longer used.
    if ((this.#counters.flags(id) & NodeFlag.InError) === 0) this.#counters.markError(id, Math.floor(now / 1000));
    if (book.placeholderSince === undefined) {
      if (now - book.updatedAt >= waitMs) {
        this.#state.toPlaceholder(id);
        this.#logger.info({ node: id, route: node.route }, 'removed node is now a placeholder');
      }
    } else if (now - book.placeholderSince >= waitMs) {
      // Requests still running on the worker keep the slot (C's lastcleantry): try again next tick.
      if (this.#counters.busy(id) === 0) {
        this.#state.deleteNode(id);
        this.#logger.info({ node: id }, 'removed node slot freed');
      }
    }
  }

  #liveStep(node: NodeRow, now: number, probes: Array<Promise<void>>): void {
    const id = node.id;
    const d = this.#directives;
    const book = this.#state.bookkeeping(id);
    if (d.NodeTimeout > 0 && !book.silenceReported && now - book.lastStatusAt >= d.NodeTimeout * 1000) {
      book.silenceReported = true;
      this.#counters.markError(id, Math.floor(now / 1000));
      this.#logger.warn({ node: id, route: node.route, seconds: d.NodeTimeout }, 'no STATUS within NodeTimeout: node put in error');
    }
    if (now - book.lbUpdatedAt < d.LBstatusRecalTime * 1000) return;
    this.#counters.recalculate(id);
    const read = this.#counters.read(id);
    const idle = read === book.oldRead;
    book.oldRead = read;
    book.lbUpdatedAt = now;
    if (!idle) {
      book.idleFailures = 0;
    } else if (!this.#probing.has(id)) {
      probes.push(this.#idleProbe(node, book.generation));
    }
  }

  async #idleProbe(node: NodeRow, generation: number): Promise<void> {
    const id = node.id;
    this.#probing.add(id);
    let ok: boolean;
    try {
      ok = await this.#prober.probe(node);
    } finally {
      this.#probing.delete(id);
    }
    // The slot may have been freed, re-used or removed while the probe ran.
    const current = this.#state.node(id);
    if (current === undefined || current.removed || this.#state.bookkeeping(id).generation !== generation) return;
    const book = this.#state.bookkeeping(id);
    if (ok) {
      book.idleFailures = 0; // success does not clear the error flag (§5.9.3)
      return;
    }
    this.#counters.markError(id, Math.floor(this.#now() / 1000));
    book.idleFailures++;
    if (book.idleFailures > MAX_IDLE_FAILURES) {
      this.#state.markRemoved(id);
      this.#logger.warn({ node: id, route: current.route, failures: book.idleFailures }, 'node failed every idle probe: marked removed');
    } else {
      this.#logger.debug({ node: id, route: current.route, failures: book.idleFailures }, 'idle probe failed');
    }
  }
}

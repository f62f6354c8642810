// Runtime statistics shared by every thread (ARCHITECTURE.md: "counters
// written by the data plane"). Many writers, no locks: every access is an
// Atomics operation on a SharedArrayBuffer. The primary writes the load
// (lbfactor, standby) and the recalculation window; the forwarding threads
// write busy/elected/bytes and put a node in error when a connection fails.
// The traffic counters of the metrics live in the same buffer, after these.
import { TrafficCounters } from './traffic';
import { TurnBatch } from './turn-batch';

/** Status flags of a node's worker (MCMP.md §3.8). */
export const NodeFlag = {
  InError: 1 << 0,
  HotStandby: 1 << 1,
} as const;

// Int32 fields per node slot.
const BUSY = 0;
const ELECTED = 1;
const OLD_ELECTED = 2;
const LBFACTOR = 3;
const LBSTATUS = 4;
const FLAGS = 5;
/** Epoch seconds at which the node went in error. */
const ERROR_TIME = 6;
/** Epoch seconds of the last STATUS that reached the node. */
const LAST_STATUS = 7;
const NODE_I32 = 8;
// BigInt64 fields per node slot: bytes are 64-bit so that no counter shown wraps.
const READ = 0;
const TRANSFERRED = 1;
const NODE_I64 = 2;

export interface NodeStats {
  busy: number;
  elected: number;
  oldElected: number;
  lbfactor: number;
  lbstatus: number;
  flags: number;
  errorTime: number;
  read: bigint;
  transferred: bigint;
}

export class ClusterCounters {
  readonly buffer: SharedArrayBuffer;
  readonly maxNode: number;
  readonly maxContext: number;
  readonly #i32: Int32Array;
  readonly #i64: BigInt64Array;
  readonly #ctx: Int32Array;
  /** Requests by status, latency histograms, upstream failures, thread load (for /metrics). */
  readonly traffic: TrafficCounters;
  /** A forwarding thread's additions to the bytes and traffic counters, published once per event-loop turn. */
  #batch: TurnBatch | null = null;
  /** Where the bytes counters start in the batch's index space. */
  #bytesBase = 0;

  static byteLength(maxNode: number, maxContext: number): number {
    return ClusterCounters.#ownBytes(maxNode, maxContext) + TrafficCounters.byteLength(maxNode, maxContext);
  }

  static #ownBytes(maxNode: number, maxContext: number): number {
    return maxNode * NODE_I64 * 8 + maxNode * NODE_I32 * 4 + maxContext * 4;
  }

  /** Creates the region (primary) or attaches to one passed from the primary (threads). */
  constructor(maxNode: number, maxContext: number, buffer?: SharedArrayBuffer) {
    this.maxNode = maxNode;
    this.maxContext = maxContext;
    this.buffer = buffer ?? new SharedArrayBuffer(ClusterCounters.byteLength(maxNode, maxContext));
    if (this.buffer.byteLength !== ClusterCounters.byteLength(maxNode, maxContext)) {
      throw new RangeError('counters buffer does not match Maxnode/Maxcontext');
    }
    // BigInt64 first so that it is 8-byte aligned.
    this.#i64 = new BigInt64Array(this.buffer, 0, maxNode * NODE_I64);
    this.#i32 = new Int32Array(this.buffer, maxNode * NODE_I64 * 8, maxNode * NODE_I32);
    this.#ctx = new Int32Array(this.buffer, maxNode * NODE_I64 * 8 + maxNode * NODE_I32 * 4, maxContext);
    this.traffic = new TrafficCounters(this.buffer, ClusterCounters.#ownBytes(maxNode, maxContext), maxNode, maxContext);
  }

  // ---- data plane (hot path) ----

  /**
   * For a forwarding thread: the counters read only when someone looks (bytes
   * read/transferred, the traffic counters) are summed per event-loop turn and
   * published at its end (turn-batch.ts). Busy, elected and a context's
   * running requests stay live: the balancer and STOP-APP read them meanwhile.
   */
  publishPerTurn(): void {
    if (this.#batch !== null) return;
    // Index space: the traffic region's words, then READ/TRANSFERRED of each node.
    const trafficWords = this.traffic.words;
    const batch = new TurnBatch(trafficWords + this.maxNode * NODE_I64, (index, x) => {
      if (index < trafficWords) this.traffic.addShared(index, x);
      else Atomics.add(this.#i64, index - trafficWords, BigInt(x));
    });
    this.#batch = batch;
    this.#bytesBase = trafficWords;
    this.traffic.batchWith(batch, 0);
  }

  /** Publishes what the turn has summed so far (the thread is ending). */
  flushPending(): void {
    this.#batch?.flush();
  }

  /** A request was dispatched to node n for context row c (MCMP.md §5.6 step 4). */
  beginRequest(n: number, c: number): void {
    Atomics.add(this.#i32, n * NODE_I32 + BUSY, 1);
    if (c >= 0) Atomics.add(this.#ctx, c, 1);
  }

  endRequest(n: number, c: number): void {
    Atomics.sub(this.#i32, n * NODE_I32 + BUSY, 1);
    if (c >= 0) Atomics.sub(this.#ctx, c, 1);
  }

  addElected(n: number): void {
    Atomics.add(this.#i32, n * NODE_I32 + ELECTED, 1);
  }

  /** Undoes the election of a failed attempt (MCMP.md §5.9.1). */
  undoElected(n: number): void {
    Atomics.sub(this.#i32, n * NODE_I32 + ELECTED, 1);
  }

  addRead(n: number, bytes: number): void {
    if (bytes <= 0) return;
    const batch = this.#batch;
    if (batch !== null) batch.add(this.#bytesBase + n * NODE_I64 + READ, bytes);
    else Atomics.add(this.#i64, n * NODE_I64 + READ, BigInt(bytes));
  }

  addTransferred(n: number, bytes: number): void {
    if (bytes <= 0) return;
    const batch = this.#batch;
    if (batch !== null) batch.add(this.#bytesBase + n * NODE_I64 + TRANSFERRED, bytes);
    else Atomics.add(this.#i64, n * NODE_I64 + TRANSFERRED, BigInt(bytes));
  }

  /** Puts node n in error (connection failure, failed probe, Load -1). */
  markError(n: number, nowSeconds: number): void {
    Atomics.store(this.#i32, n * NODE_I32 + ERROR_TIME, nowSeconds);
    Atomics.or(this.#i32, n * NODE_I32 + FLAGS, NodeFlag.InError);
  }

  flags(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + FLAGS);
  }

  errorTime(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + ERROR_TIME);
  }

  lbfactor(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + LBFACTOR);
  }

  lbstatus(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + LBSTATUS);
  }

  elected(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + ELECTED);
  }

  oldElected(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + OLD_ELECTED);
  }

  busy(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + BUSY);
  }

  // ---- balancer reads (router hot path) ----
  // Plain element reads: Int32Array reads of shared memory are tear-free (the
  // ECMAScript memory model), and a load-balancing choice needs no ordering.
  // Atomics.load costs ~15 ns in V8 and the balancer reads these fields for
  // every worker on every request; plain reads halve its cost at 20 nodes.

  lbfactorRelaxed(n: number): number {
    return this.#i32[n * NODE_I32 + LBFACTOR] as number;
  }

  flagsRelaxed(n: number): number {
    return this.#i32[n * NODE_I32 + FLAGS] as number;
  }

  /** Elections since the last recalculation (wrap-safe). */
  windowRelaxed(n: number): number {
    const base = n * NODE_I32;
    return ((this.#i32[base + ELECTED] as number) - (this.#i32[base + OLD_ELECTED] as number)) | 0;
  }

  lbstatusRelaxed(n: number): number {
    return this.#i32[n * NODE_I32 + LBSTATUS] as number;
  }

  contextRequests(c: number): number {
    return Atomics.load(this.#ctx, c);
  }

  read(n: number): bigint {
    return Atomics.load(this.#i64, n * NODE_I64 + READ);
  }

  transferred(n: number): bigint {
    return Atomics.load(this.#i64, n * NODE_I64 + TRANSFERRED);
  }

  // ---- primary ----

  /**
   * Applies a STATUS Load (MCMP.md §5.8): 1..100 clears error/standby, 0 makes
   * the node a hot standby, -1 puts it in error.
   */
  applyLoad(n: number, load: number, nowSeconds: number): void {
    const base = n * NODE_I32;
    Atomics.store(this.#i32, base + LBFACTOR, load);
    Atomics.store(this.#i32, base + LAST_STATUS, nowSeconds);
    if (load > 0) {
      Atomics.and(this.#i32, base + FLAGS, ~(NodeFlag.InError | NodeFlag.HotStandby));
    } else if (load === 0) {
      Atomics.and(this.#i32, base + FLAGS, ~NodeFlag.InError);
      Atomics.or(this.#i32, base + FLAGS, NodeFlag.HotStandby);
    } else {
      this.markError(n, nowSeconds);
    }
  }

  /** Seconds-since-epoch of the last STATUS applied to node n (0: none). */
  lastStatus(n: number): number {
    return Atomics.load(this.#i32, n * NODE_I32 + LAST_STATUS);
  }

  /** Clears the error flag (a worker whose retry interval passed and was re-tried). */
  clearError(n: number): void {
    Atomics.and(this.#i32, n * NODE_I32 + FLAGS, ~NodeFlag.InError);
  }

  /**
   * The lbstatus recalculation of MCMP.md §5.7: lbstatus = window elections ×
   * 1000 / lbfactor, then the window restarts. Returns the window's elections.
   */
  recalculate(n: number): number {
    const base = n * NODE_I32;
    const elected = Atomics.load(this.#i32, base + ELECTED);
    const window = (elected - Atomics.load(this.#i32, base + OLD_ELECTED)) | 0;
    const lbfactor = Atomics.load(this.#i32, base + LBFACTOR);
    if (lbfactor > 0) Atomics.store(this.#i32, base + LBSTATUS, Math.floor((window * 1000) / lbfactor));
    Atomics.store(this.#i32, base + OLD_ELECTED, elected);
    return window;
  }

  /**
   * Zeroes node n's statistics for a brand-new node (MCMP.md §2.1 step 8), or
   * sets lbfactor -1 for a slot whose worker is re-used (decision D11).
   */
  resetNode(n: number, lbfactor: 0 | -1): void {
    const base = n * NODE_I32;
    for (let i = 0; i < NODE_I32; i++) {
      if (i !== BUSY) Atomics.store(this.#i32, base + i, 0);
    }
    Atomics.store(this.#i32, base + LBFACTOR, lbfactor);
    if (lbfactor < 0) Atomics.or(this.#i32, base + FLAGS, NodeFlag.InError);
    Atomics.store(this.#i64, n * NODE_I64 + READ, 0n);
    Atomics.store(this.#i64, n * NODE_I64 + TRANSFERRED, 0n);
    this.traffic.resetNode(n);
  }

  /** A new context row starts with no request counted (MCMP.md §2.3 step 2). */
  resetContext(c: number): void {
    Atomics.store(this.#ctx, c, 0);
    this.traffic.resetContext(c);
  }

  stats(n: number): NodeStats {
    return {
      busy: this.busy(n),
      elected: this.elected(n) >>> 0,
      oldElected: this.oldElected(n),
      lbfactor: this.lbfactor(n),
      lbstatus: this.lbstatus(n),
      flags: this.flags(n),
      errorTime: this.errorTime(n),
      read: this.read(n),
      transferred: this.transferred(n),
    };
  }
}

// Traffic counters for the metrics, shared by every thread: many writers, no
// locks. The forwarding threads add to them on the request path (a handful of
// Atomics.add on numbers, no allocation; summed per event-loop turn when the
// thread batches them, turn-batch.ts); the primary reads them when /metrics
// is scraped. Offsets come from layout.ts.
import { performance } from 'node:perf_hooks';
import { HISTOGRAM_SUM, LATENCY_BUCKETS_US, NodeTraffic, STATUS_CLASSES, trafficLayout, type TrafficLayout } from './layout';
import type { TurnBatch } from './turn-batch';

export type UpstreamFailure = 'connect' | 'read' | 'timeout';

const TWO_32 = 2 ** 32;

export class TrafficCounters {
  readonly maxNode: number;
  readonly maxContext: number;
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;
  readonly #layout: TrafficLayout;
  /** Set in a forwarding thread: additions wait for the end of the event-loop turn (only scrapes read these). */
  #batch: TurnBatch | null = null;
  /** Where this region's words start in the batch's index space. */
  #batchBase = 0;

  static byteLength(maxNode: number, maxContext: number): number {
    return trafficLayout(maxNode, maxContext).words * 4;
  }

  constructor(buffer: SharedArrayBuffer, byteOffset: number, maxNode: number, maxContext: number) {
    this.maxNode = maxNode;
    this.maxContext = maxContext;
    this.#layout = trafficLayout(maxNode, maxContext);
    this.#u32 = new Uint32Array(buffer, byteOffset, this.#layout.words);
    this.#i32 = new Int32Array(buffer, byteOffset, this.#layout.words);
  }

  /** 32-bit words of the region (what a batch needs room for). */
  get words(): number {
    return this.#layout.words;
  }

  /** Additions go to `batch` at index `base` + word, to be published by addShared at the turn's end. */
  batchWith(batch: TurnBatch, base: number): void {
    this.#batch = batch;
    this.#batchBase = base;
  }

  /** Adds x (a whole number below 2^53) to the 64-bit counter at `word`, in the shared buffer now. */
  addShared(word: number, x: number): void {
    const low = x % TWO_32;
    const high = (x - low) / TWO_32;
    const before = Atomics.add(this.#u32, word, low);
    const carry = before + low >= TWO_32 ? 1 : 0;
    if (high + carry > 0) Atomics.add(this.#u32, word + 1, high + carry);
  }

  // ---- forwarding threads ----

  /**
   * One exchange is over. `node` and `context` are -1 when no node served it;
   * `status` is 0 when no status line was sent; `startedAt` is performance.now() at its start.
   */
  requestDone(node: number, context: number, status: number, startedAt: number): void {
    const statusClass = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    const row = this.#nodeRow(node);
    this.#add(row + NodeTraffic.Requests * 2 + statusClass * 2, 1);
    if (context >= 0 && context < this.maxContext) this.#add(this.#layout.contextBase + (context * STATUS_CLASSES + statusClass) * 2, 1);
    if (node >= 0) this.#observe(row + NodeTraffic.Total * 2, startedAt);
  }

  /**
   * The response head of node `node` arrived; returns the microseconds since
   * `startedAt` it counted (an integer, so a caller keeps it without boxing a
   * double), -1 when there is no node.
   */
  firstByte(node: number, startedAt: number): number {
    return node >= 0 ? this.#observe(this.#nodeRow(node) + NodeTraffic.Ttfb * 2, startedAt) : -1;
  }

  upstreamFailed(node: number, kind: UpstreamFailure): void {
    if (node < 0) return;
    const index = kind === 'connect' ? NodeTraffic.ConnectErrors : kind === 'timeout' ? NodeTraffic.Timeouts : NodeTraffic.ReadErrors;
    this.#add(this.#nodeRow(node) + index * 2, 1);
  }

  failover(node: number): void {
    if (node >= 0) this.#add(this.#nodeRow(node) + NodeTraffic.Failovers * 2, 1);
  }

  /** A request was sent again to node `node` on a new connection (the kept-alive one was stale). */
  retry(node: number): void {
    if (node >= 0) this.#add(this.#nodeRow(node) + NodeTraffic.Retries * 2, 1);
  }

  /** A thread's event-loop utilisation over its last second, in parts per million. */
  setLoopUtilisation(thread: number, ppm: number): void {
    Atomics.store(this.#i32, this.#layout.threadBase + thread, ppm);
  }

  // ---- primary (scrapes) ----

  /** Requests by status class (index 0..5) of node n; n = -1: requests no node served. */
  nodeRequests(n: number): number[] {
    const row = this.#nodeRow(n);
    const out: number[] = [];
    for (let c = 0; c < STATUS_CLASSES; c++) out.push(this.#read(row + (NodeTraffic.Requests + c) * 2));
    return out;
  }

  contextRequests(c: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < STATUS_CLASSES; s++) out.push(this.#read(this.#layout.contextBase + (c * STATUS_CLASSES + s) * 2));
    return out;
  }

  nodeFailures(n: number): { connect: number; read: number; timeout: number; failovers: number; retries: number } {
    const row = this.#nodeRow(n);
    return {
      connect: this.#read(row + NodeTraffic.ConnectErrors * 2),
      read: this.#read(row + NodeTraffic.ReadErrors * 2),
      timeout: this.#read(row + NodeTraffic.Timeouts * 2),
      failovers: this.#read(row + NodeTraffic.Failovers * 2),
      retries: this.#read(row + NodeTraffic.Retries * 2),
    };
  }

  /** Per-bucket (not cumulative) counts including +Inf, and the sum in seconds. */
  histogram(n: number, which: 'ttfb' | 'total'): { buckets: number[]; sumSeconds: number } {
    const base = this.#nodeRow(n) + (which === 'ttfb' ? NodeTraffic.Ttfb : NodeTraffic.Total) * 2;
    const buckets: number[] = [];
    for (let b = 0; b <= LATENCY_BUCKETS_US.length; b++) buckets.push(this.#read(base + b * 2));
    return { buckets, sumSeconds: this.#read(base + HISTOGRAM_SUM * 2) / 1e6 };
  }

  loopUtilisation(thread: number): number {
    return Atomics.load(this.#i32, this.#layout.threadBase + thread) / 1e6;
  }

  /** A new node in slot n starts from zero (its series restart, as Prometheus expects of a new process). */
  resetNode(n: number): void {
    const row = this.#nodeRow(n);
    for (let i = 0; i < NodeTraffic.Counters * 2; i++) Atomics.store(this.#u32, row + i, 0);
  }

  resetContext(c: number): void {
    const base = this.#layout.contextBase + c * STATUS_CLASSES * 2;
    for (let i = 0; i < STATUS_CLASSES * 2; i++) Atomics.store(this.#u32, base + i, 0);
  }

  // ---- 64-bit counters as (low, high) word pairs ----

  #nodeRow(n: number): number {
    return this.#layout.nodeBase + (n >= 0 && n < this.maxNode ? n : this.maxNode) * NodeTraffic.Counters * 2;
  }

  /** Adds x (0 ≤ x < 2^32); the high word takes the carry. */
  #add(word: number, x: number): void {
    const batch = this.#batch;
    if (batch !== null) {
      batch.add(this.#batchBase + word, x);
      return;
    }
    const before = Atomics.add(this.#u32, word, x);
    if (before + x >= TWO_32) Atomics.add(this.#u32, word + 1, 1);
  }

  /**
   * A reader can see the low word wrapped before the writer added the carry
   * (a window of a few instructions, once per 2^32): reading the high word on
   * both sides catches a carry that lands meanwhile, not one still to come.
   */
  #read(word: number): number {
    for (;;) {
      const high = Atomics.load(this.#u32, word + 1);
      const low = Atomics.load(this.#u32, word);
      if (Atomics.load(this.#u32, word + 1) === high) return high * TWO_32 + low;
    }
  }

  /** Returns the microseconds it counted. */
  #observe(histogram: number, startedAt: number): number {
    const us = Math.max(0, Math.round((performance.now() - startedAt) * 1000));
    let b = 0;
    while (b < LATENCY_BUCKETS_US.length && us > (LATENCY_BUCKETS_US[b] as number)) b++;
    this.#add(histogram + b * 2, 1);
    this.#add(histogram + HISTOGRAM_SUM * 2, us < TWO_32 ? us : TWO_32 - 1);
    return us;
  }
}

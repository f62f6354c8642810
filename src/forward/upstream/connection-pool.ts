// The keep-alive pool semantics shared by the HTTP/1.1 and the AJP13 clients,
// with undici Pool's dispatch interface so that the exchange works with any of
// them: idle connections are reused last-in first-out (the warmest socket, the
// least likely to have been dropped by the node), at most `max` of them when
// set, requests beyond wait in order. One request at a time per connection: no
// pipelining. What a request is and how a connection is opened belong to the
// wire (h1/pool.ts, ajp/pool.ts): subclasses supply them as two methods, so
// dispatch allocates nothing beyond the request itself.
import type { Dispatcher } from 'undici';
import { PoolClosedError, PoolDestroyedError } from './h1/errors';
import { DESCRIPTOR_RETRY_MS, DESCRIPTOR_WAIT_MS } from './descriptors';

/** What the pool needs of a request: whether it is over, how to fail it, how the caller aborts it. */
export interface PooledRequest {
  readonly done: boolean;
  readonly abort: (err?: Error) => void;
  fail(err: Error): void;
}

/** What the pool needs of a connection. */
export interface PooledConnection<R extends PooledRequest> {
  start(req: R): void;
  /** Now in the idle list (arms the keep-alive timer). */
  idle(): void;
  destroy(err: Error): void;
}

export abstract class ConnectionPool<O, R extends PooledRequest, C extends PooledConnection<R>> {
  /** Most connections at once; 0 or less: no limit. */
  readonly #max: number;
  readonly #all = new Set<C>();
  /** Idle connections, the most recently used last. */
  readonly #idle: C[] = [];
  readonly #queue: R[] = [];
  #queueHead = 0;
  #closing = false;
  #destroyed = false;
  #closeWaiters: Array<() => void> = [];
  /** Runs while requests wait for a descriptor: opens one connection per tick. */
  #descriptorTimer: NodeJS.Timeout | null = null;
  /** When each request waiting for a descriptor first failed to get one. */
  #descriptorWaits: WeakMap<R, number> | null = null;
  /** Told about each request sent again after a stale connection (the node's retries metric). */
  readonly #onRetry: (() => void) | undefined;

  constructor(max: number, onRetry?: () => void) {
    this.#max = max;
    this.#onRetry = onRetry;
  }

  /** Builds (and validates) one request; throws what the handler should hear. */
  protected abstract newRequest(options: O, handler: Dispatcher.DispatchHandlers): R;
  /** Opens one connection owned by this pool. */
  protected abstract newConnection(): C;

  /** Connections open (idle or busy), for tests and the curious. */
  get connectionCount(): number {
    return this.#all.size;
  }

  /** Idle connections in the pool. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** Sends one request; the handler hears back as with undici (onConnect first, then onHeaders/onData/onComplete or onError). */
  dispatch(options: O, handler: Dispatcher.DispatchHandlers): boolean {
    if (this.#destroyed || this.#closing) {
      handler.onError?.(this.#destroyed ? new PoolDestroyedError() : new PoolClosedError());
      return false;
    }
    let req: R;
    try {
      req = this.newRequest(options, handler);
    } catch (err) {
      handler.onError?.(err as Error);
      return false;
    }
    handler.onConnect?.(req.abort);
    if (req.done) return true;
    const idle = this.#idle.pop();
    if (idle !== undefined) idle.start(req);
    else if (this.#hasRoom()) this.#open().start(req);
    else this.#queue.push(req);
    return true;
  }

  /** No new requests; resolves once those running and waiting are done and every connection is closed. */
  close(): Promise<void> {
    if (this.#destroyed) return Promise.resolve();
    this.#closing = true;
    for (const conn of this.#idle.splice(0)) conn.destroy(new PoolClosedError());
    return new Promise((resolve) => {
      this.#closeWaiters.push(resolve);
      this.#checkClosed();
    });
  }

  /** Closes every connection now; running and waiting requests fail with UND_ERR_DESTROYED. */
  destroy(): Promise<void> {
    if (!this.#destroyed) {
      this.#destroyed = true;
      this.#closing = true;
      const err = new PoolDestroyedError();
      const queued = this.#queue.splice(0);
      this.#queueHead = 0;
      if (this.#descriptorTimer !== null) clearTimeout(this.#descriptorTimer);
      this.#descriptorTimer = null;
      this.#idle.length = 0;
      for (const conn of [...this.#all]) conn.destroy(err);
      for (const req of queued) if (req !== undefined) req.fail(err);
    }
    this.#checkClosed();
    return Promise.resolve();
  }

  // ---- what a connection tells its owner ----

  /** The connection finished its request and may carry another. */
  released(conn: C): void {
    const next = this.#nextQueued();
    if (next !== null) {
      conn.start(next);
      return;
    }
    if (this.#closing) {
      conn.destroy(new PoolClosedError());
      return;
    }
    this.#idle.push(conn);
    conn.idle();
  }

  /** A request failed on a stale reused connection before anything was sent back: try once more. */
  retry(req: R): void {
    if (this.#destroyed) {
      req.fail(new PoolDestroyedError());
      return;
    }
    this.#onRetry?.();
    // Never onto another idle connection: it may be just as stale.
    if (this.#hasRoom()) this.#open().start(req);
    else this.#queue.push(req);
  }

  /**
   * The request's connection could not be opened for want of a descriptor
   * (EMFILE/ENFILE): it waits in order, for a connection of this pool to come
   * free or for the retry tick to open one, up to DESCRIPTOR_WAIT_MS.
   */
  outOfDescriptors(req: R, err: Error): void {
    if (this.#destroyed) {
      req.fail(new PoolDestroyedError());
      return;
    }
    const waits = (this.#descriptorWaits ??= new WeakMap());
    const now = Date.now();
    const since = waits.get(req) ?? now;
    if (now - since >= DESCRIPTOR_WAIT_MS) {
      req.fail(err);
      return;
    }
    waits.set(req, since);
    this.#queue.push(req);
    if (this.#descriptorTimer === null) this.#descriptorTimer = setTimeout(this.#onDescriptorTick, DESCRIPTOR_RETRY_MS);
  }

  readonly #onDescriptorTick = (): void => {
    this.#descriptorTimer = null;
    if (this.#destroyed || !this.#hasRoom()) return;
    const next = this.#nextQueued();
    if (next === null) return;
    // If this one fails for want of a descriptor too, it comes back and arms the tick again.
    this.#open().start(next);
    if (this.#queueHead < this.#queue.length && this.#descriptorTimer === null) this.#descriptorTimer = setTimeout(this.#onDescriptorTick, DESCRIPTOR_RETRY_MS);
  };

  /** The connection is closed; its slot may go to a waiting request. */
  gone(conn: C): void {
    this.#all.delete(conn);
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    // While descriptors are short, new connections are opened by the retry tick only, never in a burst.
    if (!this.#destroyed && this.#descriptorTimer === null && this.#hasRoom()) {
      const next = this.#nextQueued();
      if (next !== null) this.#open().start(next);
    }
    this.#checkClosed();
  }

  #hasRoom(): boolean {
    return this.#max <= 0 || this.#all.size < this.#max;
  }

  #open(): C {
    const conn = this.newConnection();
    this.#all.add(conn);
    return conn;
  }

  /** The oldest waiting request not aborted meanwhile. */
  #nextQueued(): R | null {
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const req = queue[this.#queueHead] as R;
      queue[this.#queueHead] = undefined as unknown as R;
      this.#queueHead++;
      if (this.#queueHead === queue.length) {
        queue.length = 0;
        this.#queueHead = 0;
      }
      if (!req.done) return req;
    }
    return null;
  }

  #checkClosed(): void {
    if (!this.#closing || this.#all.size > 0 || this.#closeWaiters.length === 0) return;
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

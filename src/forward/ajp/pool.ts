// The AJP13 connections to one node, with the same dispatch interface and the
// same pool semantics as the HTTP/1.1 pool (h1/pool.ts): idle connections
// reused last-in first-out, at most `connections` of them (the node's smax),
// requests beyond wait in order, ttl closes idle ones. A connection comes back
// only after END_RESPONSE said reuse (AJP.md §4.4).
import type { Dispatcher } from 'undici';
import { PoolClosedError, PoolDestroyedError } from '../h1/errors';
import { AjpConnection, type AjpConnectionOwner, type AjpConnectionSettings } from './connection';
import { AjpRequest, type AjpRequestSettings, type ForwardOptions } from './request';

export interface AjpPoolOptions extends AjpConnectionSettings, AjpRequestSettings {
  /** Most connections at once; 0: no limit. */
  readonly connections: number;
}

export class AjpPool implements AjpConnectionOwner {
  readonly #options: AjpPoolOptions;
  readonly #all = new Set<AjpConnection>();
  /** Idle connections, the most recently used last. */
  readonly #idle: AjpConnection[] = [];
  readonly #queue: AjpRequest[] = [];
  #queueHead = 0;
  #closing = false;
  #destroyed = false;
  #closeWaiters: Array<() => void> = [];

  constructor(options: AjpPoolOptions) {
    this.#options = options;
  }

  /** Connections open (idle or busy), for tests and the curious. */
  get connectionCount(): number {
    return this.#all.size;
  }

  /** Idle connections in the pool. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** Sends one request; the handler hears back as with undici (onConnect first, then onHeaders/onData/onComplete or onError). */
  dispatch(options: ForwardOptions, handler: Dispatcher.DispatchHandlers): boolean {
    if (this.#destroyed || this.#closing) {
      handler.onError?.(this.#destroyed ? new PoolDestroyedError() : new PoolClosedError());
      return false;
    }
    let req: AjpRequest;
    try {
      req = new AjpRequest(options, handler, this.#options);
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
      this.#idle.length = 0;
      for (const conn of [...this.#all]) conn.destroy(err);
      for (const req of queued) if (req !== undefined) req.fail(err);
    }
    this.#checkClosed();
    return Promise.resolve();
  }

  // ---- AjpConnectionOwner ----

  released(conn: AjpConnection): void {
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

  retry(req: AjpRequest): void {
    if (this.#destroyed) {
      req.fail(new PoolDestroyedError());
      return;
    }
    // Never onto another idle connection: it may be just as stale.
    if (this.#hasRoom()) this.#open().start(req);
    else this.#queue.push(req);
  }

  gone(conn: AjpConnection): void {
    this.#all.delete(conn);
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    if (!this.#destroyed && this.#hasRoom()) {
      const next = this.#nextQueued();
      if (next !== null) this.#open().start(next);
    }
    this.#checkClosed();
  }

  #hasRoom(): boolean {
    const max = this.#options.connections;
    return max <= 0 || this.#all.size < max;
  }

  #open(): AjpConnection {
    const conn = new AjpConnection(this, this.#options);
    this.#all.add(conn);
    return conn;
  }

  /** The oldest waiting request not aborted meanwhile. */
  #nextQueued(): AjpRequest | null {
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const req = queue[this.#queueHead] as AjpRequest;
      queue[this.#queueHead] = undefined as unknown as AjpRequest;
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

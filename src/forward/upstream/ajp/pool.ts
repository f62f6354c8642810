// The AJP13 connections to one node, with the pool semantics of
// ../upstream-pool.ts shared with the HTTP/1.1 client: idle connections
// reused last-in first-out, at most `connections` of them (the node's smax),
// requests beyond wait in order, ttl closes idle ones. A connection comes back
// only after END_RESPONSE said reuse (AJP.md §4.4).
import type { Dispatcher } from 'undici';
import { AjpConnection, type AjpConnectionOwner, type AjpConnectionSettings } from './connection';
import { AjpRequest, type AjpRequestSettings, type ForwardOptions } from './request';
import { ConnectionPool } from '../connection-pool';

export interface AjpPoolOptions extends AjpConnectionSettings, AjpRequestSettings {
  /** Most connections at once; 0: no limit. */
  readonly connections: number;
  /** Told when a request is sent again after a stale connection or a failed CPING (the retries metric). */
  readonly onRetry?: () => void;
}

export class AjpPool extends ConnectionPool<ForwardOptions, AjpRequest, AjpConnection> implements AjpConnectionOwner {
  readonly #options: AjpPoolOptions;

  constructor(options: AjpPoolOptions) {
    super(options.connections, options.onRetry);
    this.#options = options;
  }

  protected newRequest(options: ForwardOptions, handler: Dispatcher.DispatchHandlers): AjpRequest {
    return new AjpRequest(options, handler, this.#options);
  }

  protected newConnection(): AjpConnection {
    return new AjpConnection(this, this.#options);
  }
}

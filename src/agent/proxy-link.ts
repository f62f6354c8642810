// The agent's relation with one proxy (MCMP.md §8.1, §8.4): a proxy starts in
// ERROR; INFO and the reset burst (then STATUS) make it OK; any error reply
// other than SYNTAX, or no reply, puts it back in ERROR and the next attempt
// is a full reset again; SYNTAX puts it DOWN (nothing more is sent until
// `revive()`). Unlike Java, which waits for its next 10 s period, a proxy in
// ERROR is retried with a backoff (1 s doubling up to the STATUS period), and
// a STATUS reply whose `id=` (the proxy's start time) changed triggers a
// reset, so a restarted proxy learns the node again at once.
import { EventEmitter } from 'node:events';
import { parseInfoReply } from '../mcmp/info-reply';
import { McmpReplyError } from './errors';
import { McmpClient, type McmpReply } from './mcmp-client';
import { formatProxyAddress } from './proxy-address';
import { resetRequests, type ContextState } from './reset';
import { INFO_REQUEST, statusRequest, type McmpRequest, type NodeDescription } from './requests';

export type ProxyState = 'error' | 'ok' | 'down';

/** What a link needs from its agent at the moment it (re)registers. */
export interface NodeSource {
  /** The node as CONFIG describes it; `localAddress` is this side of the MCMP connection. */
  describe(localAddress: string | undefined): NodeDescription;
  contexts(): ReadonlyMap<string, ContextState>;
  /** The load factor of the last period. */
  currentLoad(): number;
}

export interface ProxyLinkEvents {
  state: [state: ProxyState, error: Error | undefined];
  restarted: [];
}

export class ProxyLink extends EventEmitter<ProxyLinkEvents> {
  readonly client: McmpClient;
  readonly #source: NodeSource;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  #state: ProxyState = 'error';
  #lastError: Error | undefined;
  #proxyId: string | undefined;
  #retryMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #ops: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(client: McmpClient, source: NodeSource, retryMinMs: number, retryMaxMs: number) {
    super();
    this.client = client;
    this.#source = source;
    this.#retryMinMs = retryMinMs;
    this.#retryMaxMs = Math.max(retryMinMs, retryMaxMs);
    this.#retryMs = retryMinMs;
  }

  get name(): string {
    return formatProxyAddress(this.client.address);
  }

  get state(): ProxyState {
    return this.#state;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Runs `fn` after every earlier operation on this proxy, so bursts never interleave. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#ops.then(fn);
    this.#ops = run.catch(() => undefined);
    return run;
  }

  /** INFO, the reset burst and STATUS; resolves true when the proxy is OK afterwards. */
  register(): Promise<boolean> {
    return this.#serial(async () => {
      if (this.#closed || this.#state === 'down') return false;
      this.#clearRetry();
      try {
        const info = await this.client.send(INFO_REQUEST);
        const node = this.#source.describe(info.localAddress);
        for (const req of resetRequests(node, this.#source.contexts(), parseInfoReply(info.body))) await this.client.send(req);
        // A new id here is the proxy this burst just registered with, not a restart to recover from.
        this.#proxyId = proxyIdOf(await this.client.send(statusRequest(node.route, this.#source.currentLoad()))) ?? this.#proxyId;
        this.#setState('ok', undefined);
        this.#retryMs = this.#retryMinMs;
        return true;
      } catch (err) {
        this.#failed(err as Error);
        return false;
      }
    });
  }

  /** One period: STATUS when OK; a proxy in ERROR is left to its retry timer. */
  status(route: string, load: number): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed || this.#state !== 'ok') return;
      try {
        this.#noteStatus(await this.client.send(statusRequest(route, load)));
      } catch (err) {
        this.#failed(err as Error);
      }
    });
  }

  /**
   * Sends one request if the proxy is OK. Resolves with the reply, or
   * undefined when the proxy is not OK or the request failed (the link then
   * recovers on its own).
   */
  send(req: McmpRequest): Promise<McmpReply | undefined> {
    return this.#serial(async () => {
      if (this.#closed || this.#state !== 'ok') return undefined;
      try {
        return await this.client.send(req);
      } catch (err) {
        this.#failed(err as Error);
        return undefined;
      }
    });
  }

  /** A DOWN proxy (it answered SYNTAX) is tried again (Java: JMX reset()). */
  revive(): void {
    if (this.#state !== 'down' || this.#closed) return;
    this.#setState('error', this.#lastError);
    this.#scheduleRetry(0);
  }

  /** Waits for pending operations, then closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearRetry();
    await this.#ops;
    this.client.close();
  }

  #noteStatus(reply: McmpReply): void {
    const id = proxyIdOf(reply);
    if (id === undefined) return;
    const restarted = this.#proxyId !== undefined && this.#proxyId !== id;
    this.#proxyId = id;
    if (restarted) {
      this.emit('restarted');
      this.#setState('error', new Error('the proxy restarted'));
      this.#scheduleRetry(0);
    }
  }

  #failed(err: Error): void {
    const down = err instanceof McmpReplyError && err.unrecoverable;
    this.#setState(down ? 'down' : 'error', err);
    if (!down) this.#scheduleRetry(this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, this.#retryMaxMs);
  }

  #setState(state: ProxyState, err: Error | undefined): void {
    this.#lastError = err;
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state, err);
  }

  #scheduleRetry(ms: number): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.register();
    }, ms);
    this.#retryTimer.unref();
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}

/** The proxy's start time from a STATUS-RSP (`id=`), when it has one. */
function proxyIdOf(reply: McmpReply): string | undefined {
  return /(?:^|&)id=([^&\s]*)/.exec(reply.body)?.[1];
}

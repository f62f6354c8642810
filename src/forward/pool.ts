// The data plane seen from the primary: N forwarding threads run by piscina,
// each a long-lived task serving the same port. A thread that dies is
// replaced (piscina starts a new worker, the pool re-submits its task); the
// tables live in SharedArrayBuffers owned by the primary, so nothing is lost.
import net from 'node:net';
import path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from '../log';
import type { AccessLogSettings } from '../access-log/index';
import type { RoutingOptions } from '../router/index';
import type { TableSizes } from '../slots/types';
import { ForwardingStateError, ListenError } from './errors';
import type { SessionReport, ThreadCommand, ThreadEvent, ThreadResult, ThreadTask } from './messages';
import { decodeSessionBatch } from './sessions';
import { FORWARDING_RESOURCE_LIMITS } from './heap-limits';
import { TRAFFIC_LIMIT_DEFAULTS, type TrafficLimits } from './limits';
import { DEFAULT_PACKET_SIZE } from './upstream/ajp/protocol';
import type { EdgeTlsSettings } from '../tls/settings';
import { VERIFY_BY_DEFAULT, type UpstreamTlsSettings } from '../tls/upstream';

export interface ForwardingOptions {
  listenHost: string;
  /** 0 = ephemeral: the first thread binds, the others reuse the port it got. */
  listenPort: number;
  threads: number;
  tablesBuffer: SharedArrayBuffer;
  countersBuffer: SharedArrayBuffer;
  sizes: TableSizes;
  routing: RoutingOptions;
  docroot?: string;
  /** UseNocanon: forward the raw request path (default false: re-canonicalised, MCMP.md §5.12). */
  useNocanon?: boolean;
  /** ProxyIOBufferSize: the AJP packet size (default 8192, AJP.md §1.4). */
  ajpPacketSize?: number;
  /** AllowEncodedSlashes: 0 Off (default), 1 On, 2 NoDecode (request-path.ts EncodedSlashes). */
  encodedSlashes?: number;
  /** ProxyAddHeaders (default true): X-Forwarded-* added for the node. */
  addHeaders?: boolean;
  drainTimeoutMs: number;
  /** Stalls and caps of the traffic side (default TRAFFIC_LIMIT_DEFAULTS). */
  limits?: Partial<TrafficLimits>;
  logLevel: string;
  /** > 0: report session ids to the primary. */
  maxSessionId: number;
  /** HTTPS listeners (--listen-tls); a port 0 is resolved to a free port at start. */
  tls?: EdgeTlsSettings | null;
  tlsPassphrase?: string;
  /** TLS towards https/wss nodes; default: verify against Node's CA store. */
  upstreamTls?: UpstreamTlsSettings;
  /** --access-log: every thread writes its own lines to it; null/undefined: none. */
  accessLog?: AccessLogSettings | null;
}

export type SessionListener = (batch: Array<{ sessionId: string; route: string; oldSessionId?: string }>) => void;

/** Tries to find a free ephemeral port before the first thread takes it (a race with other processes is retried). */
const EPHEMERAL_PORT_TRIES = 5;
/** A thread that keeps dying is restarted at most this often. */
const RESTART_BACKOFF_MAX_MS = 1000;
/** Deaths closer together than this count as a crash loop. */
const CRASH_LOOP_WINDOW_MS = 10_000;
/** Time allowed on top of drainTimeoutMs for threads to close and return. */
const STOP_GRACE_MS = 5000;
/** How long an exiting process waits for its threads to close their sockets. */
const EXIT_CLOSE_WAIT_MS = 1000;
/** How long a TLS reload waits for each thread's answer. */
const TLS_RELOAD_WAIT_MS = 10_000;
/** How long setAccepting waits for a thread to say its listen sockets are closed (or open). */
const ACCEPT_ACK_WAIT_MS = 2000;

interface ThreadSlot {
  readonly index: number;
  /** The primary's end of the thread's control channel; null between threads. */
  control: MessagePort | null;
  task: Promise<void> | null;
  listening: boolean;
  deaths: number[];
  /** Times this slot's thread died and was replaced, since start (for /metrics). */
  restarts: number;
  restartTimer: NodeJS.Timeout | null;
}

type PoolState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class ForwardingPool {
  readonly threads: number;
  readonly #opts: ForwardingOptions;
  readonly #logger: Logger;
  readonly #slots: ThreadSlot[] = [];
  #accepting = true;
  readonly #sessionListeners: SessionListener[] = [];
  #piscina: Piscina<ThreadTask, ThreadResult> | null = null;
  #state: PoolState = 'new';
  #port = 0;
  #starting: Promise<{ port: number }> | null = null;
  #stopping: Promise<void> | null = null;
  /** Threads add 1 here once they closed their sockets on 'close-now'. */
  readonly #closedAck = new Int32Array(new SharedArrayBuffer(4));
  readonly #onProcessExit = (): void => this.#closeThreadsOnExit();
  /** The HTTPS listeners with their ports resolved (null: none). */
  #tls: EdgeTlsSettings | null = null;
  /** Changes on reload: a thread started later must use the current one. */
  #tlsPassphrase: string | undefined;
  /** Threads whose answer to a TLS reload is awaited, by slot index. */
  readonly #tlsReloads = new Map<number, (ok: boolean) => void>();
  readonly #acceptAcks = new Map<number, () => void>();

  constructor(opts: ForwardingOptions, logger: Logger) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`threads must be an integer >= 1, got ${opts.threads}`);
    this.threads = opts.threads;
    this.#opts = opts;
    this.#logger = logger;
    for (let index = 0; index < opts.threads; index++) {
      this.#slots.push({ index, control: null, task: null, listening: false, deaths: [], restarts: 0, restartTimer: null });
    }
  }

  /** The port every thread listens on (0 before start()). */
  get port(): number {
    return this.#port;
  }

  /** The ports of the HTTPS listeners, in --listen-tls order (empty before start()). */
  get tlsPorts(): number[] {
    return this.#tls?.listen.map((l) => l.port) ?? [];
  }

  /**
   * Every running thread rebuilds its HTTPS listeners from the certificate
   * files (already checked by the caller). Resolves with the threads that did
   * and those that kept their previous certificates (or did not answer).
   */
  async reloadTls(passphrase: string | undefined): Promise<{ reloaded: number; failed: number }> {
    this.#tlsPassphrase = passphrase;
    if (this.#tls === null) return { reloaded: 0, failed: 0 };
    const answers: Array<Promise<boolean>> = [];
    for (const slot of this.#slots) {
      const control = slot.control;
      if (control === null || !slot.listening) continue;
      answers.push(
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => done(false), TLS_RELOAD_WAIT_MS);
          const done = (ok: boolean): void => {
            clearTimeout(timer);
            this.#tlsReloads.delete(slot.index);
            resolve(ok);
          };
          this.#tlsReloads.set(slot.index, done);
          const command: ThreadCommand = { type: 'tls-reload', passphrase };
          control.postMessage(command);
        }),
      );
    }
    const results = await Promise.all(answers);
    const reloaded = results.filter((ok) => ok).length;
    return { reloaded, failed: results.length - reloaded };
  }

  /** Threads currently accepting connections. */
  listeningThreads(): number {
    let n = 0;
    for (const slot of this.#slots) if (slot.listening) n++;
    return n;
  }

  /** Worker threads alive (0 once stop() resolved). */
  runningThreads(): number {
    return this.#piscina?.threads.length ?? 0;
  }

  /** SIGHUP reload: every thread (and every later replacement) takes the new routing options and log level. */
  reconfigure(change: { routing?: RoutingOptions; logLevel?: string }): void {
    if (change.routing !== undefined) this.#opts.routing = change.routing;
    if (change.logLevel !== undefined) this.#opts.logLevel = change.logLevel;
    const command: ThreadCommand = { type: 'reconfigure', ...change };
    for (const slot of this.#slots) slot.control?.postMessage(command);
  }

  /** The routing options threads run with now. */
  get routing(): RoutingOptions {
    return this.#opts.routing;
  }

  /** SIGUSR1 (logrotate): every thread opens its access log file again by name. */
  reopenAccessLogs(): void {
    const command: ThreadCommand = { type: 'access-log-reopen' };
    for (const slot of this.#slots) slot.control?.postMessage(command);
  }

  /** Per thread slot: how many times its thread died and was replaced. */
  restarts(): number[] {
    return this.#slots.map((slot) => slot.restarts);
  }

  onSessions(cb: SessionListener): void {
    this.#sessionListeners.push(cb);
  }

  start(): Promise<{ port: number }> {
    if (this.#state !== 'new') throw new ForwardingStateError(`start() called on a pool that is ${this.#state}`);
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<{ port: number }> {
    const n = this.threads;
    this.#piscina = new Piscina<ThreadTask, ThreadResult>({
      filename: path.join(__dirname, 'thread.js'),
      minThreads: n,
      maxThreads: n,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // Never block a forwarding thread's event loop waiting for piscina tasks.
      atomics: 'disabled',
      recordTiming: false,
      resourceLimits: FORWARDING_RESOURCE_LIMITS,
    });
    this.#piscina.on('error', (err: unknown) => this.#logger.error({ err }, 'forwarding thread error'));
    process.on('exit', this.#onProcessExit);
    try {
      this.#tlsPassphrase = this.#opts.tlsPassphrase;
      this.#tls = await resolveTlsPorts(this.#opts.tls ?? null);
      // The first thread settles the port; the others join it (SO_REUSEPORT).
      if (this.#opts.listenPort !== 0) {
        this.#port = this.#opts.listenPort;
        await this.#launch(0);
      } else {
        await this.#launchOnEphemeralPort();
      }
      await Promise.all(this.#slots.slice(1).map((slot) => this.#launch(slot.index)));
    } catch (err) {
      this.#state = 'stopping';
      await this.#shutdown();
      this.#state = 'stopped';
      throw err;
    }
    this.#state = 'running';
    this.#logger.info({ port: this.#port, threads: n }, 'forwarding threads listening');
    return { port: this.#port };
  }

  /**
   * uWS sets SO_REUSEPORT only on a socket bound to a given port, so a port
   * chosen by the kernel could not be shared: the pool finds a free one first.
   */
  async #launchOnEphemeralPort(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.#port = await freePort(this.#opts.listenHost);
      try {
        await this.#launch(0);
        return;
      } catch (err) {
        if (!(err instanceof Error && (err as { code?: unknown }).code === 'ERR_MCMP_EDGE_LISTEN') || attempt >= EPHEMERAL_PORT_TRIES) throw err;
      }
    }
  }

  /**
   * Every thread stops (false) or goes on (true) accepting client
   * connections; connections already open are served either way.
   */
  setAccepting(on: boolean): Promise<void> {
    if (this.#accepting === on) return Promise.resolve();
    this.#accepting = on;
    const command: ThreadCommand = { type: 'accept', on };
    const acks: Array<Promise<void>> = [];
    for (const slot of this.#slots) {
      const control = slot.control;
      if (control === null) continue;
      acks.push(
        new Promise<void>((resolve) => {
          // A thread that does not answer (ending, replaced) has no listen socket that matters.
          const timer = setTimeout(done, ACCEPT_ACK_WAIT_MS);
          const index = slot.index;
          const acks = this.#acceptAcks;
          function done(): void {
            clearTimeout(timer);
            if (acks.get(index) === done) acks.delete(index);
            resolve();
          }
          this.#acceptAcks.get(index)?.();
          this.#acceptAcks.set(index, done);
          control.postMessage(command);
        }),
      );
    }
    return Promise.all(acks).then(() => undefined);
  }

  /** Fault injection for tests and drills: makes thread `index` die by an uncaught exception or process.exit(). */
  killThread(index: number, how: 'throw' | 'exit' = 'throw'): void {
    const control = this.#slots[index]?.control;
    if (control === null || control === undefined) throw new ForwardingStateError(`thread ${index} is not running`);
    const command: ThreadCommand = { type: 'crash', how };
    control.postMessage(command);
  }

  /**
   * Graceful stop: every thread stops accepting, lets its running requests
   * finish for up to drainTimeoutMs, closes its sockets and returns; then the
   * threads are ended.
   */
  stop(): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    await this.#shutdown();
    this.#state = 'stopped';
    this.#logger.info('forwarding threads stopped');
  }

  async #shutdown(): Promise<void> {
    const stop: ThreadCommand = { type: 'stop' };
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      slot.control?.postMessage(stop);
    }
    const tasks = this.#slots.map((slot) => slot.task).filter((t): t is Promise<void> => t !== null);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#opts.drainTimeoutMs + STOP_GRACE_MS);
    });
    await Promise.race([Promise.allSettled(tasks), timeout]);
    clearTimeout(timer);
    // The tasks have returned, so each thread has closed its uWS sockets and may end.
    await this.#piscina?.destroy();
    this.#piscina = null;
    process.off('exit', this.#onProcessExit);
  }

  /**
   * The process exits while threads run (an uncaught error, process.exit()):
   * Node would end each thread with its uWS sockets open, which aborts the
   * process (uv_loop_close with open handles). Each thread is told to close
   * them, and the exit waits (synchronously, briefly) until they did.
   */
  #closeThreadsOnExit(): void {
    const command: ThreadCommand = { type: 'close-now' };
    Atomics.store(this.#closedAck, 0, 0);
    let expected = 0;
    for (const slot of this.#slots) {
      if (slot.control === null) continue;
      slot.control.postMessage(command);
      expected++;
    }
    const deadline = Date.now() + EXIT_CLOSE_WAIT_MS;
    for (;;) {
      const acked = Atomics.load(this.#closedAck, 0);
      const left = deadline - Date.now();
      if (acked >= expected || left <= 0) return;
      Atomics.wait(this.#closedAck, 0, acked, left);
    }
  }

  /** Submits slot `index`'s task; resolves once that thread listens, rejects if it ends first. */
  #launch(index: number): Promise<void> {
    const piscina = this.#piscina;
    const slot = this.#slots[index] as ThreadSlot;
    if (piscina === null) return Promise.reject(new ForwardingStateError('the pool is not running'));
    const { port1, port2 } = new MessageChannel();
    slot.control = port1;
    slot.listening = false;
    const o = this.#opts;
    const task: ThreadTask = {
      index,
      listenHost: o.listenHost,
      listenPort: this.#port,
      tablesBuffer: o.tablesBuffer,
      countersBuffer: o.countersBuffer,
      sizes: o.sizes,
      routing: o.routing,
      docroot: o.docroot,
      useNocanon: o.useNocanon ?? false,
      ajpPacketSize: o.ajpPacketSize ?? DEFAULT_PACKET_SIZE,
      encodedSlashes: o.encodedSlashes ?? 0,
      addHeaders: o.addHeaders ?? true,
      drainTimeoutMs: o.drainTimeoutMs,
      limits: { ...TRAFFIC_LIMIT_DEFAULTS, ...o.limits },
      logLevel: o.logLevel,
      maxSessionId: o.maxSessionId,
      tls: this.#tls,
      tlsPassphrase: this.#tlsPassphrase,
      upstreamTls: o.upstreamTls ?? VERIFY_BY_DEFAULT,
      accessLog: o.accessLog ?? null,
      control: port2,
      closedAck: this.#closedAck,
    };
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      port1.on('message', (event: ThreadEvent) => {
        if (event.type === 'listening') {
          listening = true;
          slot.listening = true;
          // A thread replaced while accepting is paused starts paused too.
          if (!this.#accepting) port1.postMessage({ type: 'accept', on: false } satisfies ThreadCommand);
          resolve();
        } else if (event.type === 'sessions') {
          this.#deliverSessions(event.batch);
        } else if (event.type === 'tls-reloaded') {
          this.#tlsReloads.get(event.index)?.(event.ok);
        } else if (event.type === 'accepting') {
          this.#acceptAcks.get(event.index)?.();
        }
      });
      const ended = (err: unknown): void => {
        if (slot.control === port1) {
          slot.control = null;
          slot.listening = false;
        }
        port1.close();
        if (!listening) reject(err ?? new ListenError(o.listenHost, this.#port));
        else this.#threadEnded(slot, err);
      };
      slot.task = piscina.run(task, { transferList: [port2] }).then(
        () => ended(null),
        (err: unknown) => ended(err),
      );
    });
  }

  /** A running thread's task ended: expected while stopping, a death otherwise. */
  #threadEnded(slot: ThreadSlot, err: unknown): void {
    if (!this.#serving()) return;
    const now = Date.now();
    slot.deaths = slot.deaths.filter((t) => now - t < CRASH_LOOP_WINDOW_MS);
    slot.deaths.push(now);
    slot.restarts++;
    const delay = slot.deaths.length <= 2 ? 0 : Math.min(RESTART_BACKOFF_MAX_MS, 100 * 2 ** (slot.deaths.length - 2));
    this.#logger.error({ err, thread: slot.index, restartInMs: delay }, 'forwarding thread died; replacing it');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (!this.#serving()) return;
      this.#launch(slot.index).catch((launchErr: unknown) => this.#threadEnded(slot, launchErr));
    }, delay);
  }

  /** Threads that die now are replaced (not while stopping). */
  #serving(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  #deliverSessions(batch: Uint8Array): void {
    if (this.#sessionListeners.length === 0) return;
    const reports: SessionReport[] = decodeSessionBatch(batch);
    for (const listener of this.#sessionListeners) {
      try {
        listener(reports);
      } catch (err) {
        this.#logger.error({ err }, 'session listener failed');
      }
    }
  }
}

/** The HTTPS listeners with every port 0 replaced by a free port (uWS shares only a port it was given). */
async function resolveTlsPorts(tls: EdgeTlsSettings | null): Promise<EdgeTlsSettings | null> {
  if (tls === null) return null;
  const listen = [];
  for (const l of tls.listen) listen.push(l.port !== 0 ? l : { host: l.host, port: await freePort(l.host) });
  return { ...tls, listen };
}

/** A port that is free on `host` right now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

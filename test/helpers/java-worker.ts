// A scripted mod_cluster worker that behaves as the Java listener does on the
// wire (../shared/reference/tomcat-mcmp-trace.txt, MCMP.md §4.4 and §8):
// proxies come from a static proxyList or from advertisements; each proxy is
// OK, ERROR or DOWN; one keep-alive connection per proxy, one request at a
// time; a periodic event that sends INFO + the reset burst (CONFIG,
// ENABLE-APP...) to ERROR proxies and STATUS to OK ones; any non-200 reply
// puts the proxy in ERROR (SYNTAX: DOWN for good); a missing reply is sent
// once more on a fresh connection. It is the far side we do not own, so it
// speaks the real bytes; nothing in it decides what the proxy should do.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  AdvertisementError,
  JAVA_LISTENER_BUFFER_SIZE,
  parseAdvertisement,
  parseManagerAddress,
  verifyAdvertisementDigest,
} from '../../src/advertise/datagram';
import { parseResponses, type RawResponse } from './raw-http';

export type ProxyState = 'OK' | 'ERROR' | 'DOWN';

export interface WorkerContext {
  readonly path: string;
  /** The Tomcat host name first, then its aliases. */
  readonly aliases: readonly string[];
}

export interface JavaWorkerOptions {
  readonly jvmRoute: string;
  readonly balancer?: string;
  /** The connector the proxy forwards to. */
  readonly host: string;
  readonly port: number;
  readonly type?: 'http' | 'ajp';
  readonly contexts: readonly WorkerContext[];
  /** Load sent with each STATUS (1..100, -1). */
  readonly load?: () => number;
  /** Static proxyList (host:port). */
  readonly proxyList?: readonly string[];
  /** Listen for advertisements (when there is no proxyList, as Java does). */
  readonly advertise?: { readonly group: string; readonly port: number; readonly securityKey?: string; readonly interfaceAddress?: string };
  /** Engine background period; undefined: periods only through tick(). */
  readonly periodMs?: number;
  /** Java's socketTimeout (20 s). */
  readonly socketTimeoutMs?: number;
}

/** One MCMP exchange as the worker saw it. */
export interface ExchangeRecord {
  readonly proxy: string;
  readonly method: string;
  readonly target: string;
  readonly body: string;
  /** 0: no reply (connection refused, closed or timed out). */
  readonly status: number;
  readonly type: string | undefined;
  readonly mess: string | undefined;
  readonly replyBody: string;
  readonly at: number;
}

/** Java's URLEncoder: unreserved are A-Z a-z 0-9 . - * _, space is '+'. */
export function javaUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** JVMRoute first, then the other parameters sorted by name, Java's case-sensitive order. */
export function javaBody(route: string | undefined, params: ReadonlyArray<readonly [string, string]>): string {
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const all = route === undefined ? sorted : [['JVMRoute', route] as const, ...sorted];
  return all.map(([k, v]) => `${javaUrlEncode(k)}=${javaUrlEncode(v)}`).join('&');
}

/** The Java INFO parser (MCMP.md §8.5): per node name, its aliases and context states. Throws where Java would. */
export function javaParseInfo(body: string): Map<string, { aliases: Set<string>; contexts: Map<string, string> }> {
  const nodes = new Map<string, string>();
  const vhostAliases = new Map<string, Set<string>>();
  const out = new Map<string, { aliases: Set<string>; contexts: Map<string, string> }>();
  for (const line of body.split(/[\r\n]+/)) {
    const m = /^(Node|Vhost|Context): \[([^\]]*)\],(.*)$/.exec(line);
    if (m === null) continue;
    const entries = new Map<string, string>();
    for (const e of m[3]!.split(',')) {
      const c = e.indexOf(':');
      if (c < 0) throw new Error(`INFO entry without ':' in ${line}`);
      entries.set(e.slice(0, c).trim(), e.slice(c + 1).trim());
    }
    const ids = m[2]!.split(':');
    if (m[1] === 'Node') {
      const name = entries.get('Name') ?? '';
      nodes.set(ids[0]!, name);
      out.set(name, { aliases: new Set(), contexts: new Map() });
      continue;
    }
    if (ids.length !== 3 || !nodes.has(ids[0]!)) throw new Error(`INFO line with unknown ids: ${line}`);
    const node = out.get(nodes.get(ids[0]!)!)!;
    if (m[1] === 'Vhost') {
      const key = `${ids[0]}:${ids[1]}`;
      const set = vhostAliases.get(key) ?? new Set<string>();
      set.add(entries.get('Alias') ?? '');
      vhostAliases.set(key, set);
      node.aliases.add(entries.get('Alias') ?? '');
    } else {
      if (!vhostAliases.has(`${ids[0]}:${ids[1]}`)) throw new Error(`INFO context of an unknown vhost: ${line}`);
      const status = entries.get('Status') ?? '';
      if (!['ENABLED', 'DISABLED', 'STOPPED'].includes(status)) throw new Error(`INFO context status ${status}`);
      node.contexts.set(entries.get('Context') ?? '', status);
    }
  }
  return out;
}

class NoReply extends Error {}

/** The persistent connection to one proxy. */
class ProxyConnection {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #socket: net.Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;

  constructor(host: string, port: number, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): net.Socket {
    const socket = net.connect(this.#port, this.#host);
    this.#buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      this.#deliver(false);
    });
    const gone = (): void => {
      if (this.#socket !== socket && this.#socket !== undefined) return; // an old connection's late close
      this.#socket = undefined;
      this.#deliver(true);
      this.#pending?.reject(new NoReply('connection closed without a reply'));
      this.#pending = undefined;
    };
    socket.on('error', gone);
    socket.on('close', gone);
    this.#socket = socket;
    return socket;
  }

  #deliver(eof: boolean): void {
    if (this.#pending === undefined) return;
    const { responses, rest } = parseResponses(this.#buffer, eof);
    if (responses.length === 0) return;
    this.#buffer = rest;
    const p = this.#pending;
    this.#pending = undefined;
    p.resolve(responses[0]!);
  }

  send(request: string): Promise<RawResponse> {
    const socket = this.#socket ?? this.#open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        this.close();
        reject(new NoReply('no reply within socketTimeout'));
      }, this.#timeoutMs);
      this.#pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.write(request);
    });
  }
}

interface ProxyEntry {
  readonly address: string;
  readonly host: string;
  readonly port: number;
  state: ProxyState;
  connection: ProxyConnection;
}

export class JavaWorker extends EventEmitter {
  readonly options: JavaWorkerOptions;
  readonly exchanges: ExchangeRecord[] = [];
  readonly #proxies = new Map<string, ProxyEntry>();
  /** Advertised servers seen (Server UUID → last status). */
  readonly advertisedServers = new Map<string, number>();
  #socket: dgram.Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: JavaWorkerOptions) {
    super();
    this.options = options;
    for (const p of options.proxyList ?? []) this.#addProxy(p);
  }

  async start(): Promise<void> {
    const a = this.options.advertise;
    if (a !== undefined) {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      socket.on('message', (msg) => this.#onAdvertisement(msg));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(a.port, () => resolve());
      });
      socket.addMembership(a.group, a.interfaceAddress);
      this.#socket = socket;
    }
    if (this.options.periodMs !== undefined) {
      this.#timer = setInterval(() => void this.tick(), this.options.periodMs);
    }
  }

  proxyStates(): Map<string, ProxyState> {
    return new Map([...this.#proxies].map(([k, v]) => [k, v.state]));
  }

  /** The Engine's periodic event; periods never overlap (Java runs them on one thread). */
  tick(): Promise<void> {
    this.#ticking = this.#ticking.then(() => this.#period());
    return this.#ticking;
  }

  /** Java's shutdown: per context DISABLE-APP, STOP-APP, REMOVE-APP, then REMOVE-APP /*, then close. */
  async shutdown(): Promise<void> {
    this.#stopTimers();
    await this.#ticking;
    for (const p of this.#proxies.values()) {
      if (p.state !== 'OK') continue;
      for (const c of this.options.contexts) {
        for (const cmd of ['DISABLE-APP', 'STOP-APP', 'REMOVE-APP']) await this.#send(p, cmd, '/', this.#contextParams(c));
      }
      await this.#send(p, 'REMOVE-APP', '/*', []);
    }
    this.close();
  }

  /** Stops at once (a killed JVM). */
  close(): void {
    this.#closed = true;
    this.#stopTimers();
    for (const p of this.#proxies.values()) p.connection.close();
  }

  #stopTimers(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#socket?.close();
    this.#socket = undefined;
  }

  #addProxy(address: string): void {
    if (this.#proxies.has(address)) return;
    const { host, port } = parseManagerAddress(address);
    this.#proxies.set(address, { address, host, port, state: 'ERROR', connection: new ProxyConnection(host, port, this.options.socketTimeoutMs ?? 20_000) });
    this.emit('proxy', address);
  }

  // AdvertiseListenerImpl: 512-byte buffer, Java's parse, digest check, the first valid packet of a new Server adds its proxy.
  #onAdvertisement(msg: Buffer): void {
    let ad;
    try {
      ad = parseAdvertisement(msg.subarray(0, JAVA_LISTENER_BUFFER_SIZE));
    } catch (err) {
      if (err instanceof AdvertisementError) return;
      throw err;
    }
    if (!verifyAdvertisementDigest(ad, this.options.advertise?.securityKey)) {
      this.emit('digest-mismatch', ad.server);
      return;
    }
    const known = this.advertisedServers.has(ad.server);
    this.advertisedServers.set(ad.server, ad.status);
    this.emit('advertisement', ad);
    if (!known && ad.managerAddress !== undefined) this.#addProxy(ad.managerAddress);
  }

  #contextParams(c: WorkerContext): Array<[string, string]> {
    return [
      ['Alias', c.aliases.join(',')],
      ['Context', c.path],
    ];
  }

  #configParams(): Array<[string, string]> {
    const o = this.options;
    return [
      ['Balancer', o.balancer ?? 'mycluster'],
      ['Host', o.host],
      ['Port', String(o.port)],
      ['StickySessionForce', 'No'],
      ['Type', o.type ?? 'http'],
    ];
  }

  async #period(): Promise<void> {
    if (this.#closed) return;
    for (const p of this.#proxies.values()) {
      if (p.state !== 'ERROR') continue;
      p.connection.close();
      const info = await this.#send(p, 'INFO', '/', undefined);
      if (info === undefined) continue;
      await this.#resetBurst(p, info);
    }
    for (const p of this.#proxies.values()) {
      if (p.state === 'OK') await this.#send(p, 'STATUS', '/', [['Load', String(this.options.load?.() ?? 100)]]);
    }
    this.emit('period');
  }

  // The reset derived from INFO: aliases differ → REMOVE-APP /* first; CONFIG always; ENABLE-APP for what is not ENABLED.
  async #resetBurst(p: ProxyEntry, info: RawResponse): Promise<void> {
    const known = javaParseInfo(info.body.toString('latin1')).get(this.options.jvmRoute);
    const ours = new Set(this.options.contexts.flatMap((c) => c.aliases));
    const steps: Array<[string, string, Array<[string, string]>]> = [];
    if (known !== undefined && known.aliases.size > 0 && [...ours].some((a) => !known.aliases.has(a))) steps.push(['REMOVE-APP', '/*', []]);
    steps.push(['CONFIG', '/', this.#configParams()]);
    for (const c of this.options.contexts) {
      if (steps[0]![0] === 'REMOVE-APP' || known?.contexts.get(c.path) !== 'ENABLED') steps.push(['ENABLE-APP', '/', this.#contextParams(c)]);
    }
    for (const [method, target, params] of steps) {
      if ((await this.#send(p, method, target, params)) === undefined) return;
    }
  }

  /** One request with Java's reply rules; undefined when the proxy is now ERROR or DOWN. */
  async #send(p: ProxyEntry, method: string, target: string, params: Array<[string, string]> | undefined): Promise<RawResponse | undefined> {
    if (p.state === 'DOWN') return undefined;
    const body = params === undefined ? '' : javaBody(this.options.jvmRoute, params);
    const head = [`${method} ${target} HTTP/1.1`, `Host: ${p.address}`];
    if (params !== undefined) head.push(`Content-Length: ${Buffer.byteLength(body)}`);
    head.push('User-Agent: ClusterListener/1.0', 'Connection: Keep-Alive');
    const request = `${head.join('\r\n')}\r\n\r\n${body}`;
    let reply: RawResponse | undefined;
    for (let attempt = 0; attempt < 2 && reply === undefined; attempt++) {
      try {
        reply = await p.connection.send(request);
      } catch (err) {
        if (!(err instanceof NoReply)) throw err;
        p.connection.close();
      }
    }
    // Java takes the code between the first and the second space.
    const status = reply === undefined ? 0 : Number(reply.statusLine.split(' ')[1]);
    const type = reply?.headers.type;
    this.exchanges.push({
      proxy: p.address,
      method,
      target,
      body,
      status,
      type,
      mess: reply?.headers.mess,
      replyBody: reply?.body.toString('latin1') ?? '',
      at: Date.now(),
    });
    this.emit('exchange', this.exchanges[this.exchanges.length - 1]);
    if (status === 200) {
      p.state = 'OK';
      if (reply?.headers.connection?.toLowerCase() === 'close') p.connection.close();
      return reply;
    }
    p.state = status !== 0 && type === 'SYNTAX' ? 'DOWN' : 'ERROR';
    p.connection.close();
    return undefined;
  }
}

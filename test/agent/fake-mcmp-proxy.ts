// The far side of the wire tests: an MCMP endpoint that speaks the bytes of
// mod_proxy_cluster 2.x as the reference trace shows them (Content-Length or
// httpd's chunked framing with a short keep-alive), keeps a minimal node
// table so INFO tells the truth, records every request byte for byte, and
// injects the faults of the trace's phase B (MEM, GENERAL, SYNTAX, plain 404,
// close without a reply, an empty table as after a restart).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { parseMcmpBody } from '../../src/mcmp/body';

export interface RecordedRequest {
  conn: number;
  method: string;
  target: string;
  /** The request head exactly as received, CRLFs included. */
  head: string;
  /** The raw (encoded) body. */
  body: string;
  /** The body decoded by the proxy's own grammar, re-joined as `k=v&k=v` (as the trace shows it). */
  decoded: string;
  answer: string;
}

export type Fault = 'MEM' | 'GENERAL' | 'SYNTAX' | '404' | 'close';

interface Node {
  host: string;
  port: string;
  type: string;
  balancer: string;
  aliases: string[];
  contexts: Map<string, string>;
}

export interface FakeOptions {
  /** httpd framing: chunked bodies and the connection closed after this many ms idle. */
  readonly idleCloseMs?: number;
  /** MCMP over TLS (with requestCert + ca: a client certificate is required). */
  readonly tls?: tls.TlsOptions;
}

export class FakeMcmpProxy {
  readonly requests: RecordedRequest[] = [];
  readonly connections: number[] = [];
  readonly nodes = new Map<string, Node>();
  /** Faults to inject, by method, used once each in order. */
  readonly faults = new Map<string, Fault[]>();
  /** Successive Requests= values of STOP-APP replies (then 0). */
  stopAppRequests: number[] = [];
  /** The `id=` of STATUS replies: the proxy's start time (a new value = a restarted proxy). */
  statusId = '1795304147';
  /** Client certificate subjects (CN) of the TLS connections, in order. */
  readonly peerNames: string[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #opts: FakeOptions;
  #connCount = 0;
  #port = 0;

  constructor(opts: FakeOptions = {}) {
    this.#opts = opts;
    this.#server =
      opts.tls === undefined
        ? net.createServer((s) => this.#accept(s))
        : tls.createServer(opts.tls, (s) => {
            this.peerNames.push(String(s.getPeerCertificate().subject?.CN ?? ''));
            this.#accept(s);
          });
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.#server.listen(port, '127.0.0.1', r));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  fault(method: string, ...faults: Fault[]): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...faults]);
  }

  /** As httpd after a restart: no table, connections gone. */
  forgetEverything(): void {
    this.nodes.clear();
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server.close(r));
  }

  /** Waits until `pred` holds for the request log. */
  async until(pred: (reqs: RecordedRequest[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.requests)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; saw ${this.requests.map((r) => `${r.method} ${r.target}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #accept(socket: net.Socket): void {
    const conn = ++this.#connCount;
    this.connections.push(conn);
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let idle: NodeJS.Timeout | undefined;
    // httpd reads nothing more from a connection it closed as idle: a request
    // that crossed the close is never seen (the client sends it again on a new
    // connection). Recording it would count one request twice when the timer
    // and the request meet, which a loaded machine makes likely.
    let idleClosed = false;
    // Bytes that were already waiting when the timer fired arrived in time:
    // a stalled event loop (agent and fake share this process) runs the
    // timer before reading them, so the close waits for one poll phase.
    let reads = 0;
    const armIdle = (): void => {
      if (this.#opts.idleCloseMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        const readsAtTimeout = reads;
        setImmediate(() => {
          if (socket.destroyed) return;
          if (reads !== readsAtTimeout) return armIdle();
          idleClosed = true;
          socket.end();
        });
      }, this.#opts.idleCloseMs);
    };
    armIdle();
    socket.on('data', (d: Buffer) => {
      if (idleClosed) return;
      reads++;
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end + 4).toString('latin1');
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len).toString('latin1');
        buf = buf.subarray(end + 4 + len);
        const [method = '', target = ''] = head.split(' ');
        const decoded = body === '' ? '' : parseMcmpBody(body).map(([k, v]) => `${k}=${v ?? ''}`).join('&');
        const rec: RecordedRequest = { conn, method, target, head, body, decoded, answer: '' };
        this.requests.push(rec);
        const fault = this.faults.get(method)?.shift();
        if (fault === 'close') {
          rec.answer = 'close';
          socket.destroy();
          return;
        }
        const reply = fault === undefined ? this.#answer(method, target, body) : this.#faultReply(method, fault);
        rec.answer = reply.status === 200 ? `200 ${JSON.stringify(reply.body)}` : `${reply.status} ${reply.type ?? ''}`;
        this.#write(socket, reply);
        if (reply.status !== 200 && this.#opts.idleCloseMs !== undefined) socket.end();
        armIdle();
      }
    });
  }

  #write(socket: net.Socket, r: { status: number; body: string; type?: string; mess?: string }): void {
    const reason = r.status === 200 ? 'OK' : r.status === 404 ? 'Not Found' : 'Internal Server Error';
    let head = `HTTP/1.1 ${r.status} ${reason}\r\n`;
    if (r.type !== undefined) head += `Version: 0.2.1\r\nType: ${r.type}\r\nMess: ${r.mess ?? ''}\r\n`;
    if (this.#opts.idleCloseMs !== undefined) {
      head += 'Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n';
      const len = Buffer.byteLength(r.body, 'latin1');
      socket.write(head + (len > 0 ? `${len.toString(16)}\r\n${r.body}\r\n` : '') + '0\r\n\r\n', 'latin1');
    } else {
      socket.write(`${head}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(r.body, 'latin1')}\r\n\r\n${r.body}`, 'latin1');
    }
  }

  #faultReply(method: string, fault: Exclude<Fault, 'close'>): { status: number; body: string; type?: string; mess?: string } {
    if (fault === '404') return { status: 404, body: 'not found' };
    return { status: 500, body: 'error', type: fault, mess: `fake ${fault} error injected for ${method}` };
  }

  #answer(method: string, target: string, raw: string): { status: number; body: string; type?: string; mess?: string } {
    const p = new Map<string, string>();
    const lists = { Alias: [] as string[], Context: [] as string[] };
    if (raw !== '') {
      for (const [k, v] of parseMcmpBody(raw)) {
        if (k === 'Alias' || k === 'Context') lists[k].push(...(v ?? '').split(','));
        else p.set(k, v ?? '');
      }
    }
    const route = p.get('JVMRoute') ?? '';
    const node = this.nodes.get(route);
    const wildcard = target.endsWith('*');
    const lost = { status: 500, body: 'error', type: 'MEM', mess: `MEM: Can't read node with "${route}" JVMRoute` };
    switch (method) {
      case 'INFO':
        return { status: 200, body: this.#info() };
      case 'CONFIG':
        this.nodes.set(route, { host: p.get('Host') ?? '', port: p.get('Port') ?? '', type: p.get('Type') ?? 'ajp', balancer: p.get('Balancer') ?? 'mycluster', aliases: node?.aliases ?? [], contexts: node?.contexts ?? new Map() });
        return { status: 200, body: '' };
      case 'STATUS':
        return node === undefined ? lost : { status: 200, body: `Type=STATUS-RSP&JVMRoute=${route}&State=OK&id=${this.statusId}\n` };
      case 'ENABLE-APP':
      case 'DISABLE-APP':
      case 'STOP-APP':
      case 'REMOVE-APP': {
        if (node === undefined) return lost;
        const state = method === 'ENABLE-APP' ? 'ENABLED' : method === 'DISABLE-APP' ? 'DISABLED' : 'STOPPED';
        if (wildcard) {
          if (method === 'REMOVE-APP') this.nodes.delete(route);
          else for (const c of node.contexts.keys()) node.contexts.set(c, state);
          return { status: 200, body: '' };
        }
        for (const a of lists.Alias) if (!node.aliases.includes(a)) node.aliases.push(a);
        for (const c of lists.Context) {
          if (method === 'REMOVE-APP') node.contexts.delete(c);
          else node.contexts.set(c, state);
        }
        if (method === 'STOP-APP') {
          const n = this.stopAppRequests.shift() ?? 0;
          return { status: 200, body: `Type=STOP-APP-RSP&JvmRoute=${route}&Alias=${lists.Alias.join(',')}&Context=${lists.Context.join(',')}&Requests=${n}\n` };
        }
        return { status: 200, body: `Type=${method}-RSP\nJvmRoute=${route}\nAlias=${lists.Alias.join(',')} Contexts=${lists.Context.join(',')}\n\n` };
      }
      default:
        return { status: 200, body: '' };
    }
  }

  #info(): string {
    let out = '';
    let id = 1;
    const ids = new Map<string, number>();
    for (const [route, n] of this.nodes) {
      ids.set(route, id);
      out += `Node: [${id}],Name: ${route},Balancer: ${n.balancer},LBGroup: ,Host: ${n.host},Port: ${n.port},Type: ${n.type},Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 50\n`;
      id++;
    }
    let slot = 1;
    for (const [route, n] of this.nodes) n.aliases.forEach((a, i) => (out += `Vhost: [${ids.get(route)}:${i + 1}:${slot++}], Alias: ${a}\n`));
    slot = 1;
    for (const [route, n] of this.nodes) for (const [c, s] of n.contexts) if (n.aliases.length > 0) out += `Context: [${ids.get(route)}:1:${slot++}], Context: ${c}, Status: ${s}\n`;
    return out;
  }
}

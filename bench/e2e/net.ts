// Loopback helpers: free ports for generated configurations, readiness
// checks, and a small keep-alive HTTP/1.1 connection that sends one request at
// a time (what MCMP workers do, and what the route-latency probe needs).
import net from 'node:net';
import { parseResponses, type RawResponse } from '../../test/helpers/raw-http';

export const LOOPBACK = '127.0.0.1';

/** An ephemeral port the kernel just handed out (for configs that need a number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to the port succeeds; retries every 50 ms until `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, LOOPBACK);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class ConnectionError extends Error {
  readonly code = 'ERR_BENCH_CONNECTION';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/**
 * One persistent connection, one request in flight at a time. Requests are
 * given as complete raw bytes; the answer is parsed with the project's raw
 * test parser (one source of truth for response framing).
 */
export class KeepAliveConnection {
  #socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: RawResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  #closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.#socket = net.connect(port, LOOPBACK);
    this.#socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', (e) => reject(e));
    });
    this.#socket.on('data', (d: Buffer) => this.#onData(d));
    this.#socket.on('error', (e) => this.#fail(new ConnectionError(e.message)));
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#fail(new ConnectionError('connection closed by the server'));
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  request(raw: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
    if (this.#waiting !== undefined) return Promise.reject(new ConnectionError('a request is already in flight'));
    if (this.#closed) return Promise.reject(new ConnectionError('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(new ConnectionError(`no response within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting = { resolve, reject, timer };
      this.#socket.write(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    if (this.#waiting === undefined) return;
    const { responses, rest } = parseResponses(this.#buf, false);
    if (responses.length === 0) return;
    this.#buf = rest;
    const w = this.#waiting;
    this.#waiting = undefined;
    clearTimeout(w.timer);
    w.resolve(responses[0] as RawResponse);
  }

  #fail(err: Error): void {
    const w = this.#waiting;
    if (w === undefined) return;
    this.#waiting = undefined;
    clearTimeout(w.timer);
    w.reject(err);
  }
}

/** A GET as a browser-less client sends it. */
export function getRequest(path: string, hostHeader: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: mcmp-edge-bench\r\n\r\n`;
}

/** Polls GET `path` on a fresh connection each time until it returns 200 with `bodyBytes` bytes, or time runs out. */
export async function waitForHttp200(port: number, path: string, bodyBytes: number, timeoutMs: number, alive: () => boolean = () => true): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && alive()) {
    const conn = new KeepAliveConnection(port);
    try {
      await conn.ready;
      const r = await conn.request(getRequest(path, `${LOOPBACK}:${port}`), 2000);
      if (r.status === 200 && r.body.length === bodyBytes) return undefined;
      last = `${r.statusLine} with ${r.body.length} body bytes`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    } finally {
      conn.close();
    }
    await sleep(100);
  }
  return last;
}

// One proxy's MCMP endpoint, spoken to as the Java worker does (MCMP.md §1.4,
// §1.6, §8.1, §8.4): one persistent connection, one request at a time, the
// same request head (`Host`, `Content-Length` only with a body,
// `User-Agent: ClusterListener/1.0`, `Connection: Keep-Alive`, no
// Content-Type), a request whose reply never started is sent once more on a
// fresh connection, and the connection is closed after any non-200 answer.
// node:http's client sends the custom MCMP methods as they are.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { AGENT_DEFAULTS } from './defaults';
import { McmpReplyError, McmpTransportError } from './errors';
import { formatProxyAddress, type ProxyAddress } from './proxy-address';
import { requestBody, requestTarget, type McmpRequest } from './requests';

/** MCMP over TLS (the proxy may ask for a client certificate). */
export interface McmpTlsOptions {
  readonly ca?: string | Buffer | Array<string | Buffer>;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly servername?: string;
  /** Default true. */
  readonly rejectUnauthorized?: boolean;
}

export interface McmpClientOptions {
  readonly tls?: McmpTlsOptions | undefined;
  /** Java's proxyURL: a path prefix for every MCMP target. */
  readonly proxyPath?: string | undefined;
  readonly socketTimeoutMs?: number | undefined;
}

export interface McmpReply {
  readonly status: number;
  readonly body: string;
  /** This side's address on the MCMP connection (Java uses it for an "any" connector address). */
  readonly localAddress: string | undefined;
}

/** Failed before any status line arrived: Java sends once more on a new connection. */
class NoReply extends Error {}

export class McmpClient {
  readonly address: ProxyAddress;
  readonly #agent: http.Agent;
  readonly #tls: boolean;
  readonly #proxyPath: string | undefined;
  readonly #timeoutMs: number;
  readonly #hostHeader: string;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(address: ProxyAddress, opts: McmpClientOptions = {}) {
    this.address = address;
    this.#tls = opts.tls !== undefined;
    this.#proxyPath = opts.proxyPath;
    this.#timeoutMs = opts.socketTimeoutMs ?? AGENT_DEFAULTS.socketTimeoutMs;
    this.#hostHeader = formatProxyAddress(address);
    const common = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: this.#timeoutMs };
    this.#agent = opts.tls === undefined ? new http.Agent(common) : new https.Agent({ ...common, ...opts.tls });
  }

  /** Resolves with a 200 reply; rejects with McmpReplyError or McmpTransportError. */
  send(req: McmpRequest): Promise<McmpReply> {
    const run = this.#chain.then(() => this.#sendWithRetry(req));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Drops the connection; later sends fail. */
  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }

  async #sendWithRetry(req: McmpRequest): Promise<McmpReply> {
    if (this.#closed) throw new McmpTransportError(req.method, new Error('client closed'));
    try {
      return await this.#exchange(req);
    } catch (err) {
      if (!(err instanceof NoReply) || this.#closed) throw this.#wrap(req, err);
    }
    try {
      return await this.#exchange(req);
    } catch (err) {
      throw this.#wrap(req, err);
    }
  }

  #wrap(req: McmpRequest, err: unknown): Error {
    if (err instanceof McmpReplyError) return err;
    const cause = err instanceof NoReply && err.cause instanceof Error ? err.cause : (err as Error);
    return new McmpTransportError(req.method, cause);
  }

  #exchange(req: McmpRequest): Promise<McmpReply> {
    const body = requestBody(req);
    const headers: Record<string, string> = { Host: this.#hostHeader };
    if (body.length > 0) headers['Content-Length'] = String(Buffer.byteLength(body));
    headers['User-Agent'] = AGENT_DEFAULTS.userAgent;
    headers.Connection = 'Keep-Alive';
    const request = this.#tls ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const r = request({
        host: this.address.host,
        port: this.address.port,
        method: req.method,
        path: requestTarget(req, this.#proxyPath),
        headers,
        agent: this.#agent,
        timeout: this.#timeoutMs,
      });
      // A bodiless MCMP request has no Content-Length and must not be chunked.
      r.useChunkedEncodingByDefault = false;
      let answered = false;
      r.on('timeout', () => r.destroy(new Error(`no reply within ${this.#timeoutMs} ms`)));
      r.on('error', (err) => reject(answered ? err : new NoReply(err.message, { cause: err })));
      r.on('response', (res) => {
        answered = true;
        // Taken now: a kept-alive socket is detached from the response once it ends.
        const socket: Socket = res.socket;
        const localAddress = socket.localAddress;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // Java reads the status between the first and second space: no reason phrase is a failure.
          if (status === 200 && res.statusMessage !== '') {
            resolve({ status, body: Buffer.concat(chunks).toString('latin1'), localAddress });
            return;
          }
          socket.destroy();
          const type = res.headers.type;
          const mess = res.headers.mess;
          reject(new McmpReplyError(req.method, status, typeof type === 'string' ? type : undefined, typeof mess === 'string' ? mess : undefined));
        });
      });
      r.end(body.length > 0 ? body : undefined);
    });
  }
}

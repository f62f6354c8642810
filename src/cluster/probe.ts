// Node health probes (MCMP.md §5.9.2), used by STATUS, PING and the idle
// checks of the maintenance tick. Each probe opens a fresh connection:
//   ajp            CPING 12 34 00 01 0A, success = exactly CPONG 41 42 00 01 09
//   http/ws        `OPTIONS * HTTP/1.1` (1.1, not httpd's 1.0: uWS back ends
//   https/wss      reject 1.0, see PERFORMANCE.md), success = any response byte
// before the node's ping timeout. EnableOptions Off makes HTTP-type probes
// succeed without a connection.
import net from 'node:net';
import tls from 'node:tls';
import { CPING_PACKET as CPING, CPONG_PACKET as CPONG } from '../forward/upstream/ajp/protocol';
import { unbracket } from '../net/host';
import type { Logger } from '../log';
import { asHandshakeError, serverNameFor, upstreamTlsOptions, VERIFY_BY_DEFAULT, type UpstreamTlsOptions } from '../tls/upstream';
import type { NodeRow } from '../slots/rows';

/** What STATUS, PING and the maintenance tick need from a prober. */
export interface NodeProber {
  /** Resolves true when the node answered in time; never rejects. */
  probe(node: NodeRow): Promise<boolean>;
}

/** Timeout when a node's ping is 0 or less (MCMP.md §5.9.2). */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

// The AJP13 bytes live with the rest of the wire format (forward/upstream/ajp/protocol.ts, a leaf module).
export { CPING_PACKET as CPING, CPONG_PACKET as CPONG } from '../forward/upstream/ajp/protocol';

export interface NetProberOptions {
  /** EnableOptions: probe http-type nodes with OPTIONS (false: they always pass). */
  enableOptions: boolean;
  /** ModProxyClusterThreadCount: probes in flight at once (0 means one at a time). */
  maxConcurrent: number;
  /** https/wss nodes: the forwarder's settings (SSLProxyVerify, --upstream-ca); default: verify. */
  tls?: UpstreamTlsOptions;
  /** Told why a node's TLS handshake failed (once per node and reason, again after a success). */
  logger?: Logger;
}

/** Probes over real sockets, at most `maxConcurrent` at a time. */
export class NetProber implements NodeProber {
  readonly #enableOptions: boolean;
  readonly #maxConcurrent: number;
  readonly #waiting: Array<() => void> = [];
  readonly #tls: UpstreamTlsOptions;
  readonly #logger: Logger | undefined;
  /** node route → the TLS failure last logged for it. */
  readonly #tlsLogged = new Map<string, string>();
  #active = 0;

  constructor(opts: NetProberOptions) {
    this.#enableOptions = opts.enableOptions;
    this.#maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent));
    this.#tls = opts.tls ?? upstreamTlsOptions(VERIFY_BY_DEFAULT);
    this.#logger = opts.logger;
  }

  /** Probes currently running (for tests and metrics). */
  get active(): number {
    return this.#active;
  }

  async probe(node: NodeRow): Promise<boolean> {
    if (node.type !== 'ajp' && !this.#enableOptions) return true;
    await this.#acquire();
    try {
      let tlsError: Error | undefined;
      const ok = await probeOnce(node, this.#tls, (err) => {
        tlsError = err;
      });
      this.#noteTls(node, tlsError);
      return ok;
    } finally {
      this.#release();
    }
  }

  #noteTls(node: NodeRow, err: Error | undefined): void {
    if (err === undefined) {
      this.#tlsLogged.delete(node.route);
      return;
    }
    const reason = (err as { reason?: string }).reason ?? err.message;
    if (this.#tlsLogged.get(node.route) === reason) return;
    this.#tlsLogged.set(node.route, reason);
    this.#logger?.warn({ node: node.route, host: node.host, port: node.port, reason, err: err.message }, 'node probe: TLS handshake failed (certificate not verified?); node in error');
  }

  #acquire(): Promise<void> {
    if (this.#active < this.#maxConcurrent) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(); // the slot passes straight to the next probe
    else this.#active--;
  }
}

function timeoutOf(node: NodeRow): number {
  const ms = Math.floor(node.pingUs / 1000);
  return ms > 0 ? ms : DEFAULT_PROBE_TIMEOUT_MS;
}

/**
 * One probe of one node; resolves, never rejects. https/wss nodes are
 * verified as the forwarder verifies them; `onTlsError` hears why a TLS
 * handshake failed.
 */
export function probeOnce(node: NodeRow, tlsOptions: UpstreamTlsOptions = upstreamTlsOptions(VERIFY_BY_DEFAULT), onTlsError?: (err: Error) => void): Promise<boolean> {
  const host = unbracket(node.host);
  const timeoutMs = timeoutOf(node);
  const ajp = node.type === 'ajp';
  const secure = node.type === 'https' || node.type === 'wss';
  const request = ajp
    ? CPING
    : Buffer.from(`OPTIONS * HTTP/1.1\r\nHost: ${node.host}:${node.port}\r\nUser-Agent: mcmp-edge (internal mod_cluster connection)\r\nConnection: close\r\n\r\n`, 'latin1');

  return new Promise<boolean>((resolve) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket: net.Socket = secure
      ? tls.connect({
          host,
          port: node.port,
          rejectUnauthorized: tlsOptions.rejectUnauthorized,
          secureContext: tlsOptions.secureContext,
          servername: serverNameFor(host),
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host, port: node.port });
    let secured = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      secured = true;
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      if (!ajp) return finish(true);
      received = Buffer.concat([received, chunk]);
      if (received.length >= CPONG.length) finish(received.subarray(0, CPONG.length).equals(CPONG));
    });
    socket.once('end', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('error', (err: Error) => {
      if (secure && !secured && !settled) {
        const tlsErr = asHandshakeError(err);
        if (tlsErr !== err) onTlsError?.(tlsErr);
      }
      finish(false);
    });
  });
}

// What crosses the boundary between the ForwardingPool (primary) and its
// forwarding threads. The task object is structured-cloned by piscina: the two
// SharedArrayBuffers are shared, not copied, and the MessagePort is transferred.
import type { MessagePort } from 'node:worker_threads';
import type { RoutingOptions } from '../router/index';
import type { AccessLogSettings } from '../access-log/index';
import type { TableSizes } from '../slots/types';
import type { TrafficLimits } from './limits';
import type { EdgeTlsSettings } from '../tls/settings';
import type { UpstreamTlsSettings } from '../tls/upstream';

/** The long-lived task one forwarding thread runs. */
export interface ThreadTask {
  /** Slot of the thread in the pool, 0..threads-1 (stable across replacements). */
  readonly index: number;
  readonly listenHost: string;
  /** Never 0: the pool resolves an ephemeral port first (uWS only shares a port it was given). */
  readonly listenPort: number;
  readonly tablesBuffer: SharedArrayBuffer;
  readonly countersBuffer: SharedArrayBuffer;
  readonly sizes: TableSizes;
  readonly routing: RoutingOptions;
  readonly docroot: string | undefined;
  readonly useNocanon: boolean;
  /** ProxyIOBufferSize: the AJP packet size. */
  readonly ajpPacketSize: number;
  /** AllowEncodedSlashes (request-path.ts EncodedSlashes). */
  readonly encodedSlashes: number;
  /** ProxyAddHeaders. */
  readonly addHeaders: boolean;
  readonly drainTimeoutMs: number;
  readonly limits: TrafficLimits;
  readonly logLevel: string;
  readonly maxSessionId: number;
  /** HTTPS listeners (ports resolved, never 0), null: none. */
  readonly tls: EdgeTlsSettings | null;
  readonly tlsPassphrase: string | undefined;
  readonly upstreamTls: UpstreamTlsSettings;
  /** --access-log; null: none. */
  readonly accessLog: AccessLogSettings | null;
  readonly control: MessagePort;
  /** Shared with the pool: incremented when the thread closed its sockets on 'close-now'. */
  readonly closedAck: Int32Array;
}

/** Primary → thread. */
export type ThreadCommand =
  | { readonly type: 'stop' }
  /** The process is exiting: close every socket now, synchronously, and acknowledge in closedAck. */
  | { readonly type: 'close-now' }
  /** Stop or go on accepting client connections (descriptors or --max-connections exhausted). */
  | { readonly type: 'accept'; readonly on: boolean }
  /** Fault injection: die by an uncaught exception or by process.exit(). */
  | { readonly type: 'crash'; readonly how: 'throw' | 'exit' }
  /** SIGHUP reload: new routing options and/or log level. */
  | { readonly type: 'reconfigure'; readonly routing?: RoutingOptions; readonly logLevel?: string }
  /** SIGHUP: rebuild the HTTPS listeners from the certificate files (checked by the primary). */
  | { readonly type: 'tls-reload'; readonly passphrase: string | undefined }
  /** SIGUSR1: open the access log file again by its name (logrotate moved it). */
  | { readonly type: 'access-log-reopen' };

/** Thread → primary. */
export type ThreadEvent =
  | { readonly type: 'listening'; readonly index: number; readonly port: number }
  /** A msgpackr-packed SessionReport[]. */
  | { readonly type: 'sessions'; readonly batch: Uint8Array }
  /** Answer to 'tls-reload': false when this thread kept its previous certificates. */
  | { readonly type: 'tls-reloaded'; readonly index: number; readonly ok: boolean }
  /** Answer to 'accept': the thread's listen sockets are closed (on: false) or open again. */
  | { readonly type: 'accepting'; readonly index: number; readonly on: boolean };

/** One session id seen in a response (MCMP.md §5.11), for the session-id table. */
export interface SessionReport {
  sessionId: string;
  route: string;
  /** The id the request carried when the response set a different one (D9: delete it). */
  oldSessionId?: string;
}

/** What the task resolves with once the thread stopped cleanly. */
export interface ThreadResult {
  readonly index: number;
  /** Requests that were still running when the drain timeout expired and were cut. */
  readonly cut: number;
}

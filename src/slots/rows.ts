// The rows of the cluster tables (MCMP.md §3). The primary's cluster/ owns
// them; the forwarding threads see the same rows through the SharedArrayBuffer
// slots. They live here, beside the layout that encodes them, so slots/ needs
// nothing above it.
import { FIELD_MAX } from '../config/directives';

/** Node types after the ws/wss conversion of MCMP.md §2.1 step 3. */
export type NodeType = 'ajp' | 'http' | 'https' | 'ws' | 'wss';

export const enum FlushPackets {
  Off = 0,
  On = 1,
  Auto = 2,
}

export const enum ContextStatus {
  Enabled = 1,
  Disabled = 2,
  Stopped = 3,
}

/** A node row: the configuration CONFIG sets, plus the removal flag. */
export interface NodeRow {
  /** Slot id. */
  readonly id: number;
  /** JVMRoute; `REMOVED` in the placeholder phase of MCMP.md §3.11. */
  readonly route: string;
  /** Balancer name, lower case. */
  readonly balancer: string;
  /** Domain (LBGroup). */
  readonly domain: string;
  readonly host: string;
  /** Port, 1..65535 (decision D2). */
  readonly port: number;
  readonly type: NodeType;
  /** WebSocket upgrade token (`websocket`, `*`) or ''. */
  readonly upgrade: string;
  readonly ajpSecret: string;
  readonly reversed: boolean;
  readonly flushPackets: FlushPackets;
  /** Durations in microseconds, as C stores them. */
  readonly flushWaitUs: number;
  readonly pingUs: number;
  readonly ttlUs: number;
  /** 0: no per-node response timeout. */
  readonly timeoutUs: number;
  /** -1: server decides. */
  readonly smax: number;
  /** 0: server default. */
  readonly responseFieldSize: number;
  /** Marked for removal (REMOVE-APP /* or the idle-failure limit). */
  readonly removed: boolean;
}

export interface BalancerRow {
  readonly id: number;
  readonly name: string;
  readonly stickySession: boolean;
  readonly stickySessionCookie: string;
  readonly stickySessionPath: string;
  readonly stickySessionRemove: boolean;
  readonly stickySessionForce: boolean;
  /** WaitWorker in microseconds. */
  readonly waitWorkerUs: number;
  readonly maxAttempts: number;
}

/** One alias of one virtual host of one node. */
export interface HostRow {
  readonly id: number;
  /** Lower case. */
  readonly alias: string;
  /** Vhost id, ≥ 1, unique per node. */
  readonly vhost: number;
  /** Node slot id. */
  readonly node: number;
}

export interface ContextRow {
  readonly id: number;
  /** Verbatim, case-sensitive; `/` means everything. */
  readonly path: string;
  readonly vhost: number;
  readonly node: number;
  readonly status: ContextStatus;
}

/** Optional session-id tracking (Maxsessionid > 0), display only. */
export interface SessionRow {
  readonly id: number;
  readonly sessionId: string;
  readonly route: string;
}

// What a stored row may hold: CONFIG and the PersistSlots loader check the same rules.

/** Length as C measures it: bytes of the UTF-8 text. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Decision D2: a node's Port is an integer 1..65535. */
export function isNodePort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The Type values CONFIG accepts (decision D2). */
export const CONFIG_NODE_TYPES: ReadonlySet<string> = new Set(['ajp', 'http', 'https']);
/** The types a stored node may have: CONFIG's, plus ws/wss from EnableWsTunnel (§2.1 step 3). */
export const STORED_NODE_TYPES: ReadonlySet<string> = new Set([...CONFIG_NODE_TYPES, 'ws', 'wss']);

/** The longest value (bytes) of each text field of a node row, as CONFIG bounds it. */
export const NODE_TEXT_MAX = {
  route: FIELD_MAX.jvmRoute,
  balancer: FIELD_MAX.balancer,
  domain: FIELD_MAX.domain,
  host: FIELD_MAX.host,
  upgrade: FIELD_MAX.upgrade,
  ajpSecret: FIELD_MAX.ajpSecret,
} as const;

/** The same for a balancer row. */
export const BALANCER_TEXT_MAX = {
  name: FIELD_MAX.balancer,
  stickySessionCookie: FIELD_MAX.stickyName,
  stickySessionPath: FIELD_MAX.stickyName,
} as const;

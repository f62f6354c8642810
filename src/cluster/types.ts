// The rows of the cluster tables (MCMP.md §3). The primary owns them; the
// forwarding threads see the same rows through the SharedArrayBuffer slots.

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

// The limits of the traffic side (issue 13): how long a client or a node may
// stall, and how many client connections a process holds. The defaults are
// written down here once; the command line and the tests take them from here.

export interface TrafficLimits {
  /** Client connections the process holds at once (all threads); 0: no cap. */
  readonly maxConnections: number;
  /** A client that takes no byte of its response for this long is dropped (nginx send_timeout). */
  readonly sendTimeoutMs: number;
  /** A client that sends no byte of a request body it announced for this long is dropped (nginx client_body_timeout). */
  readonly receiveTimeoutMs: number;
  /**
   * How long a node may take to answer (and between two reads of its body)
   * when its CONFIG sent no Timeout. httpd's `Timeout` default, which
   * ProxyTimeout and so mod_proxy_cluster fall back to: a hung node costs a
   * client at most this, then counts against the node (MCMP.md §5.9.5).
   */
  readonly nodeTimeoutMs: number;
}

export const TRAFFIC_LIMIT_DEFAULTS: TrafficLimits = Object.freeze({
  maxConnections: 0,
  sendTimeoutMs: 60_000,
  receiveTimeoutMs: 60_000,
  nodeTimeoutMs: 60_000,
});

/** The share of a process-wide connection cap one of `threads` threads holds (0: no cap). */
export function connectionsPerThread(maxConnections: number, threads: number): number {
  return maxConnections <= 0 ? 0 : Math.max(1, Math.ceil(maxConnections / Math.max(1, threads)));
}

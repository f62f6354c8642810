// The limits of the traffic side (issue 13): how long a client or a node may
// stall, and how many client connections a process holds. The defaults are
// written down here once; the command line and the tests take them from here.

export interface TrafficLimits {
  /**
   * A client that takes no byte of its response for this long is dropped
   * (nginx send_timeout), Content-Length or chunked: see response/body.ts.
   */
  readonly sendTimeoutMs: number;
  /**
   * A client that sends no byte of its request body for this long gets 408
   * and the request to its node is abandoned (nginx client_body_timeout, httpd
   * Timeout): see request/upload-watch.ts.
   */
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
  sendTimeoutMs: 60_000,
  receiveTimeoutMs: 60_000,
  nodeTimeoutMs: 60_000,
});

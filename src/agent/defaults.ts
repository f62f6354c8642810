// Every default of the agent in one place. Where the Java listener has the
// same setting its default is kept (mod_cluster's ModClusterConfig), except
// the STATUS period: Tomcat reports every 10 s through its background thread;
// the agent uses the same 10 s.

export const AGENT_DEFAULTS = {
  /** Period of STATUS (Java: Engine backgroundProcessorDelay, 10 s). */
  statusIntervalMs: 10_000,
  /** Overall bound of agent.stop()'s drain (Java: stopContextTimeout, 10 s). */
  stopTimeoutMs: 10_000,
  /** Pause between two STOP-APP while the proxy still counts requests. */
  drainPollMs: 250,
  /** Connect and read timeout of one MCMP exchange (Java: socketTimeout, 20 s). */
  socketTimeoutMs: 20_000,
  /** First retry after an error; doubles up to the STATUS period. */
  retryMinMs: 1_000,
  /** Context list when none is given: the whole server. */
  contexts: ['/'] as readonly string[],
  /** Alias list when none is given (Tomcat's default Host name). */
  aliases: ['localhost'] as readonly string[],
  /** The session cookie and path parameter names Java assumes (not sent when unchanged). */
  stickySessionCookie: 'JSESSIONID',
  stickySessionPath: 'jsessionid',
  /** What the Java listener sends as User-Agent. */
  userAgent: 'ClusterListener/1.0',
  load: {
    /** DynamicLoadBalanceFactorProvider.DEFAULT_HISTORY */
    history: 9,
    /** DynamicLoadBalanceFactorProvider.DEFAULT_DECAY_FACTOR */
    decayFactor: 2,
    /** DEFAULT_INITIAL_LOAD: history pre-filled with full load, so a new node ramps up. */
    initialLoad: 0,
    /** Requests in flight that count as a fully busy Node process. */
    requestCapacity: 100,
  },
} as const;

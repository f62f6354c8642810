// Errors of the agent, each with a code. MCMP error replies keep the proxy's
// Type and Mess (MCMP.md §1.6) because they decide what the agent does next
// (§8.4: SYNTAX puts the proxy DOWN, anything else is recovered by a reset).

export class AgentConfigError extends Error {
  readonly code = 'ERR_AGENT_CONFIG';
}

/** The proxy answered, but not 200. */
export class McmpReplyError extends Error {
  readonly code = 'ERR_MCMP_REPLY';
  constructor(
    readonly method: string,
    readonly status: number,
    /** The `Type` header (SYNTAX, MEM, GENERAL) or undefined when absent. */
    readonly type: string | undefined,
    readonly mess: string | undefined,
  ) {
    super(`${method} answered ${status}${type === undefined ? '' : ` ${type}`}${mess === undefined ? '' : `: ${mess}`}`);
  }

  /** §8.4: only an error typed SYNTAX is unrecoverable. */
  get unrecoverable(): boolean {
    return this.type === 'SYNTAX';
  }
}

/** No reply: connection refused or reset, timeout, TLS failure. */
export class McmpTransportError extends Error {
  readonly code = 'ERR_MCMP_TRANSPORT';
  constructor(
    readonly method: string,
    override readonly cause: Error,
  ) {
    super(`${method}: ${cause.message}`);
  }
}

/** The agent was asked for something its state does not allow (start twice, use after stop). */
export class AgentStateError extends Error {
  readonly code = 'ERR_AGENT_STATE';
}

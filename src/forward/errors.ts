// Errors of the data plane. Each has a stable `code` so that callers and logs
// can tell them apart without matching messages.

/** A forwarding thread could not listen on the requested address. */
export class ListenError extends Error {
  readonly code = 'ERR_MCMP_EDGE_LISTEN';
  constructor(host: string, port: number) {
    super(`cannot listen on ${host}:${port} (address in use, or not an address of this host)`);
    this.name = 'ListenError';
  }
}

/** start()/stop() called in the wrong state. */
export class ForwardingStateError extends Error {
  readonly code = 'ERR_MCMP_EDGE_FORWARDING_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'ForwardingStateError';
  }
}

/** Raised on purpose inside a forwarding thread (fault injection: killThread). */
export class InjectedCrashError extends Error {
  readonly code = 'ERR_MCMP_EDGE_INJECTED_CRASH';
  constructor() {
    super('forwarding thread crashed on request (fault injection)');
    this.name = 'InjectedCrashError';
  }
}

/** The client went away; used as the reason when the upstream request is aborted. */
export class ClientAbortedError extends Error {
  readonly code = 'ERR_MCMP_EDGE_CLIENT_ABORTED';
  constructor() {
    super('client connection aborted');
    this.name = 'ClientAbortedError';
  }
}

/** The thread is stopping and the request did not finish within the drain timeout. */
export class DrainTimeoutError extends Error {
  readonly code = 'ERR_MCMP_EDGE_DRAIN_TIMEOUT';
  constructor() {
    super('request still running when the drain timeout expired');
    this.name = 'DrainTimeoutError';
  }
}

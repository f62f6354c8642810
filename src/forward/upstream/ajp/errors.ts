// Errors of the AJP13 client. Failures the exchange must tell apart carry the
// same codes as the HTTP/1.1 client's (h1/errors.ts, undici's codes), so that
// routing, failover and the status sent to the client do not depend on the
// node's protocol; what only AJP has gets a code of its own.
import { H1ClientError } from '../h1/errors';

/** The container sent something that is not AJP13 as AJP.md §6.4 allows: the connection is destroyed. */
export class AjpProtocolError extends H1ClientError {
  constructor(message: string) {
    super('ERR_MCMP_EDGE_AJP_PROTOCOL', `AJP protocol error: ${message}`);
    this.name = 'AjpProtocolError';
  }
}

/** CPING got no CPONG in time (twice, AJP.md §5): a connection-level failure of the node. */
export class AjpCpingError extends H1ClientError {
  constructor(message: string) {
    super('ERR_MCMP_EDGE_AJP_CPING', message);
    this.name = 'AjpCpingError';
  }
}

/** The request head does not fit one packet (D-AJP-15): 400, the node is not touched. */
export class AjpRequestTooLargeError extends H1ClientError {
  constructor(packetSize: number) {
    super('UND_ERR_INVALID_ARG', `request head does not fit an AJP packet of ${packetSize} bytes`);
    this.name = 'AjpRequestTooLargeError';
  }
}

/** A request field AJP cannot carry (CR, LF, NUL): 400. */
export class AjpInvalidRequestError extends H1ClientError {
  constructor(message: string) {
    super('UND_ERR_INVALID_ARG', message);
    this.name = 'AjpInvalidRequestError';
  }
}

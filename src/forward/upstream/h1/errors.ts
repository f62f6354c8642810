// Errors of the HTTP/1.1 upstream client. The codes are undici's, so that the
// exchange (written against undici's dispatch handler) tells failures apart the
// same way whichever client is in use.

export class H1ClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'H1ClientError';
    this.code = code;
  }
}

/** The node closed (or reset) the connection before the response was complete. */
export class SocketError extends H1ClientError {
  /** The node dropped a kept-alive connection before any byte of the response: the request never reached it. */
  readonly stale: boolean;
  constructor(message = 'other side closed', cause?: unknown, stale = false) {
    super('UND_ERR_SOCKET', message, cause === undefined ? undefined : { cause });
    this.name = 'SocketError';
    this.stale = stale;
  }
}

export class ConnectTimeoutError extends H1ClientError {
  constructor(ms: number) {
    super('UND_ERR_CONNECT_TIMEOUT', `connect timeout (${ms} ms)`);
    this.name = 'ConnectTimeoutError';
  }
}

export class HeadersTimeoutError extends H1ClientError {
  constructor(ms: number) {
    super('UND_ERR_HEADERS_TIMEOUT', `no response head within ${ms} ms`);
    this.name = 'HeadersTimeoutError';
  }
}

export class BodyTimeoutError extends H1ClientError {
  constructor(ms: number) {
    super('UND_ERR_BODY_TIMEOUT', `no response body byte within ${ms} ms`);
    this.name = 'BodyTimeoutError';
  }
}

export class HeadersOverflowError extends H1ClientError {
  constructor(limit: number) {
    super('UND_ERR_HEADERS_OVERFLOW', `response head larger than ${limit} bytes`);
    this.name = 'HeadersOverflowError';
  }
}

/** The node's bytes are not HTTP/1.x (status line, header, chunk framing). */
export class ResponseParseError extends H1ClientError {
  constructor(message: string) {
    super('HPE_INVALID_RESPONSE', message);
    this.name = 'ResponseParseError';
  }
}

export class InvalidArgumentError extends H1ClientError {
  constructor(message: string) {
    super('UND_ERR_INVALID_ARG', message);
    this.name = 'InvalidArgumentError';
  }
}

export class NotSupportedError extends H1ClientError {
  constructor(message: string) {
    super('UND_ERR_NOT_SUPPORTED', message);
    this.name = 'NotSupportedError';
  }
}

/** The request body did not match the Content-Length sent for it. */
export class RequestContentLengthMismatchError extends H1ClientError {
  constructor() {
    super('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'request body length does not match Content-Length');
    this.name = 'RequestContentLengthMismatchError';
  }
}

export class PoolClosedError extends H1ClientError {
  constructor() {
    super('UND_ERR_CLOSED', 'the pool is closed');
    this.name = 'PoolClosedError';
  }
}

export class PoolDestroyedError extends H1ClientError {
  constructor() {
    super('UND_ERR_DESTROYED', 'the pool is destroyed');
    this.name = 'PoolDestroyedError';
  }
}

export class RequestAbortedError extends H1ClientError {
  constructor() {
    super('UND_ERR_ABORTED', 'request aborted');
    this.name = 'RequestAbortedError';
  }
}

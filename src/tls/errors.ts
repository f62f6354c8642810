// Errors of the TLS set-up. Each has a stable code; messages name the flag and
// the file so that one line at start-up says what to fix.

/** A certificate, key, CA or passphrase file that cannot be used. */
export class TlsConfigError extends Error {
  readonly code = 'ERR_MCMP_EDGE_TLS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** A node's certificate did not verify (or its TLS handshake failed): the node is put in error. */
export class UpstreamTlsError extends Error {
  readonly code = 'ERR_MCMP_EDGE_UPSTREAM_TLS';
  /** The TLS library's code (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
  readonly reason: string;
  constructor(cause: Error) {
    const reason = (cause as { code?: unknown }).code;
    super(`TLS with the node failed: ${cause.message}`, { cause });
    this.name = 'UpstreamTlsError';
    this.reason = typeof reason === 'string' ? reason : 'TLS_HANDSHAKE';
  }
}

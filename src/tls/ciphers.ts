// One cipher policy for every TLS endpoint of mcmp-edge: TLS 1.2 and 1.3 only,
// forward-secret AEAD suites (Mozilla "intermediate" for 1.2). TLS 1.3 suites
// are all AEAD and are left to the library.

/** TLS 1.2 suites, OpenSSL/BoringSSL names (uWS's ssl_ciphers and node:tls's ciphers). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** node:tls also takes the TLS 1.3 suites in the same string (BoringSSL would refuse them there). */
export const NODE_CIPHERS = `TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:${TLS12_CIPHERS}`;

export const MIN_TLS_VERSION = 'TLSv1.2';

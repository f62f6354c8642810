// The node:tls options of the MCMP listener (--manager-tls). With
// --manager-client-ca a worker must present a certificate chaining to that CA:
// the handshake fails otherwise, so not one byte of MCMP is read from it.
import fs from 'node:fs';
import type { TlsOptions } from 'node:tls';
import { MIN_TLS_VERSION, NODE_CIPHERS } from './ciphers';
import type { ManagerTlsSettings } from './settings';

/** Reads the files the settings name (checkTlsFiles has checked them). */
export function managerTlsOptions(s: ManagerTlsSettings): TlsOptions {
  const passphrase = s.passphraseFile === undefined ? undefined : (fs.readFileSync(s.passphraseFile, 'utf8').split(/\r?\n/)[0] ?? '');
  const clientCa = s.clientCa === undefined ? undefined : fs.readFileSync(s.clientCa);
  return {
    cert: fs.readFileSync(s.cert),
    key: fs.readFileSync(s.key),
    ...(passphrase === undefined ? {} : { passphrase }),
    minVersion: MIN_TLS_VERSION,
    ciphers: NODE_CIPHERS,
    ALPNProtocols: ['http/1.1'],
    ...(clientCa === undefined ? {} : { ca: clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}

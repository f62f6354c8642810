// Reading and checking certificate material with node:crypto before anything
// listens: uWS (BoringSSL) only says "App construction failed", so every
// certificate, key, passphrase and CA file is opened here first and a bad one
// becomes one line naming the flag and the file.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { TlsConfigError } from './errors';

/** A certificate file and its private key, as the flags name them. */
export interface KeyPairFiles {
  readonly cert: string;
  readonly key: string;
}

/** What a checked pair says about itself (for the start-up log line). */
export interface KeyPairInfo {
  readonly subject: string;
  readonly names: string[];
  readonly validTo: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The PEM certificates of a file (a chain or a CA bundle), each parsed; at least one. */
export function readCertificates(flag: string, file: string): X509Certificate[] {
  const text = readFile(flag, file).toString('latin1');
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${flag}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw new TlsConfigError(`${flag}: certificate ${i + 1} in ${file} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

/** The passphrase of an encrypted key: the first line of the file. */
export function readPassphrase(flag: string, file: string): string {
  const line = readFile(flag, file).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line === '') throw new TlsConfigError(`${flag}: ${file} is empty; expected the key's passphrase on its first line`);
  return line;
}

function readKey(flag: string, file: string, passphrase: string | undefined): KeyObject {
  const pem = readFile(flag, file);
  if (passphrase === undefined && /ENCRYPTED/.test(pem.toString('latin1'))) {
    throw new TlsConfigError(`${flag}: ${file} is an encrypted key; give its passphrase with --tls-passphrase-file FILE`);
  }
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const m = (err as Error).message;
    const hint = /passphrase|decrypt|bad decrypt/i.test(m) ? ' (encrypted key: give --tls-passphrase-file, or a wrong passphrase)' : '';
    throw new TlsConfigError(`${flag}: ${file} is not a usable private key: ${m}${hint}`);
  }
}

/**
 * Checks that `files.cert` holds certificates, `files.key` a private key
 * (decrypted with `passphrase` when given) and that the key is the one of the
 * first certificate. `flags` names the two flags for the messages.
 */
export function checkKeyPair(files: KeyPairFiles, passphrase: string | undefined, flags: { cert: string; key: string }): KeyPairInfo {
  const chain = readCertificates(flags.cert, files.cert);
  const leaf = chain[0] as X509Certificate;
  const key = readKey(flags.key, files.key, passphrase);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsConfigError(`${flags.key}: the key in ${files.key} does not match the certificate in ${files.cert}`);
  }
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s !== '')
    .map((s) => s.replace(/^(DNS|IP Address):/, ''));
  return { subject: leaf.subject.replace(/\n/g, ', '), names, validTo: leaf.validTo };
}

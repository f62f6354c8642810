// Test certificates made at test time with the openssl CLI (never committed):
// two CAs, server certificates with SANs, client certificates. No tests here.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pair {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The CA every `server*` and `client` certificate chains to. */
  readonly ca: string;
  /** Another CA: `stranger` chains to it. */
  readonly otherCa: string;
  /** CN=localhost, SAN localhost + 127.0.0.1 + ::1. */
  readonly server: Pair;
  /** CN=shop.test, SAN shop.test. */
  readonly shop: Pair;
  /** CN=*.wild.test, SAN *.wild.test. */
  readonly wild: Pair;
  /** A second localhost certificate (CN=localhost-renewed), for reloads. */
  readonly renewed: Pair;
  /** A client certificate from `ca`. */
  readonly client: Pair;
  /** A client certificate from `otherCa`. */
  readonly stranger: Pair;
  /** server.key encrypted with the passphrase in `passphraseFile`. */
  readonly encryptedKey: string;
  readonly passphraseFile: string;
  /** A localhost server certificate signed by otherCa (a node the default CA does not trust). */
  readonly untrustedServer: Pair;
  read(file: string): Buffer;
  remove(): void;
}

export const OPENSSL_MISSING = spawnSync('openssl', ['version']).status !== 0 ? 'openssl CLI not installed (apt-get install openssl)' : false;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`]);
}

/** `openssl req` key arguments: RSA 2048 (the default) or ECDSA P-256. */
export const KEY_ARGS = {
  rsa: ['-newkey', 'rsa:2048'],
  ecdsa: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
} as const;

export function makeLeaf(dir: string, name: string, cn: string, san: string, ca: string, key: keyof typeof KEY_ARGS = 'rsa'): Pair {
  openssl(dir, ['req', ...KEY_ARGS[key], '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/** The subject CN of `ca` (browsers filter client certificates by issuer). */
export const TEST_CA_CN = 'mcmp-edge test CA';

/** One more certificate from `pki.ca` (server and client use), made on demand. */
export function issueFromCa(pki: TestPki, name: string, cn: string): Pair {
  return makeLeaf(pki.dir, name, cn, `DNS:${cn}`, 'ca');
}

export function makePki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-tls-'));
  makeCa(dir, 'ca', TEST_CA_CN);
  makeCa(dir, 'other-ca', 'another CA');
  const server = makeLeaf(dir, 'server', 'localhost', 'DNS:localhost,IP:127.0.0.1,IP:::1', 'ca');
  const shop = makeLeaf(dir, 'shop', 'shop.test', 'DNS:shop.test', 'ca');
  const wild = makeLeaf(dir, 'wild', '*.wild.test', 'DNS:*.wild.test', 'ca');
  const renewed = makeLeaf(dir, 'renewed', 'localhost-renewed', 'DNS:localhost,IP:127.0.0.1', 'ca');
  const client = makeLeaf(dir, 'client', 'worker-1', 'DNS:worker-1', 'ca');
  const stranger = makeLeaf(dir, 'stranger', 'stranger', 'DNS:stranger', 'other-ca');
  const untrustedServer = makeLeaf(dir, 'untrusted', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'other-ca');
  const passphraseFile = path.join(dir, 'passphrase.txt');
  fs.writeFileSync(passphraseFile, 'correct horse battery\n');
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `file:${passphraseFile}`, '-out', 'server-encrypted.key']);
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server,
    shop,
    wild,
    renewed,
    client,
    stranger,
    untrustedServer,
    encryptedKey: path.join(dir, 'server-encrypted.key'),
    passphraseFile,
    read: (file) => fs.readFileSync(file),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

// The TLS flags as settings: which combinations are refused (one line naming
// the flag), SNI entries, and the certificate checks of src/tls/files.ts on
// real files made with openssl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TlsConfigError } from '../../src/tls/errors';
import { checkKeyPair, readCertificates } from '../../src/tls/files';
import { checkTlsFiles, parseSniEntry, tlsSettingsFrom, type TlsFlags } from '../../src/tls/settings';
import { asHandshakeError, asUpstreamTlsError, serverNameFor } from '../../src/tls/upstream';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';

const NONE: TlsFlags = {
  listenTls: [],
  cert: undefined,
  key: undefined,
  passphraseFile: undefined,
  sni: [],
  clientCa: undefined,
  clientVerify: undefined,
  upstreamCa: undefined,
  managerTls: false,
  managerCert: undefined,
  managerKey: undefined,
  managerClientCa: undefined,
};

const refused = (flags: Partial<TlsFlags>, message: string): void => {
  assert.throws(() => tlsSettingsFrom({ ...NONE, ...flags }), (err: Error) => err instanceof TlsConfigError && err.message === message);
};

describe('TLS flag combinations', () => {
  it('no TLS flag: no TLS anywhere', () => {
    assert.deepEqual(tlsSettingsFrom(NONE), { edge: null, manager: null, upstreamCa: undefined });
  });

  it('refuses what cannot work, naming the flag', () => {
    const listenTls = [{ host: '127.0.0.1', port: 0 }];
    refused({ listenTls }, '--listen-tls: needs --tls-cert FILE');
    refused({ listenTls, cert: 'c' }, '--listen-tls: needs --tls-key FILE');
    refused({ cert: 'c', key: 'k' }, '--tls-cert: needs --listen-tls HOST:PORT or --manager-tls');
    refused({ sni: ['a.test=c,k'] }, '--tls-sni: needs --listen-tls HOST:PORT');
    refused({ clientCa: 'ca' }, '--tls-client-ca: needs --listen-tls HOST:PORT');
    refused({ managerTls: true }, '--manager-tls: needs --manager-cert (or --tls-cert) FILE');
    refused({ managerClientCa: 'ca' }, '--manager-client-ca: needs --manager-tls');
    refused({ managerCert: 'c' }, '--manager-cert: needs --manager-tls');
    refused({ passphraseFile: 'p' }, '--tls-passphrase-file: needs --listen-tls or --manager-tls');
    refused({ listenTls, cert: 'c', key: 'k', clientVerify: 'request' }, '--tls-client-verify: needs --tls-client-ca FILE');
    refused({ listenTls, cert: 'c', key: 'k', sni: ['a.test=c,k', 'A.test=d,e'] }, '--tls-sni: a.test is given twice');
  });

  it('the manager takes --tls-cert/--tls-key unless it has its own', () => {
    const s = tlsSettingsFrom({ ...NONE, managerTls: true, cert: 'c', key: 'k' });
    assert.deepEqual(s.manager, { cert: 'c', key: 'k', passphraseFile: undefined, clientCa: undefined });
    const own = tlsSettingsFrom({ ...NONE, managerTls: true, cert: 'c', key: 'k', managerCert: 'mc', managerKey: 'mk', managerClientCa: 'ca' });
    assert.deepEqual(own.manager, { cert: 'mc', key: 'mk', passphraseFile: undefined, clientCa: 'ca' });
  });

  it('SNI entries: a host name or *.domain, lower-cased; anything else refused', () => {
    assert.deepEqual(parseSniEntry('Shop.Test=a.pem,a.key'), { name: 'shop.test', cert: 'a.pem', key: 'a.key' });
    assert.deepEqual(parseSniEntry('*.wild.test=w.pem,dir/w,1.key'), { name: '*.wild.test', cert: 'w.pem', key: 'dir/w,1.key' });
    for (const bad of ['shop.test', 'shop.test=a.pem', '=a,b', 'a b=c,d', '*.=c,d', 'a.*.test=c,d', '-a.test=c,d']) {
      assert.throws(() => parseSniEntry(bad), TlsConfigError, bad);
    }
  });
});

describe('certificate checks', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  before(() => {
    pki = makePki();
  });
  after(() => pki?.remove());

  it('a matching pair passes and says what it holds', () => {
    const info = checkKeyPair(pki.server, undefined, { cert: '--tls-cert', key: '--tls-key' });
    assert.equal(info.subject, 'CN=localhost');
    assert.deepEqual(info.names, ['localhost', '127.0.0.1', '0:0:0:0:0:0:0:1']);
  });

  it('a CA bundle holds certificates; a key file does not', () => {
    assert.equal(readCertificates('--upstream-ca', pki.ca).length, 1);
    assert.throws(() => readCertificates('--upstream-ca', pki.server.key), /--upstream-ca: .* holds no PEM certificate/);
  });

  it('checkTlsFiles returns the --upstream-ca PEM and checks the manager CA', () => {
    const s = tlsSettingsFrom({ ...NONE, upstreamCa: pki.ca, managerTls: true, cert: pki.server.cert, key: pki.server.key, managerClientCa: pki.server.key });
    assert.throws(() => checkTlsFiles(s), /^TlsConfigError: --manager-client-ca: .* holds no PEM certificate/);
    const ok = checkTlsFiles({ ...s, manager: { ...(s.manager as NonNullable<typeof s.manager>), clientCa: pki.ca } });
    assert.match(ok.upstreamCaPem ?? '', /^-----BEGIN CERTIFICATE-----/);
    assert.deepEqual(
      ok.pairs.map((p) => p.use),
      ['manager'],
    );
  });
});

describe('upstream TLS helpers', () => {
  it('SNI only for names, never for addresses', () => {
    assert.equal(serverNameFor('node1.example'), 'node1.example');
    assert.equal(serverNameFor('10.0.0.1'), undefined);
    assert.equal(serverNameFor('[::1]'), undefined);
    assert.equal(serverNameFor('::1'), undefined);
  });

  it('a handshake error becomes ERR_MCMP_EDGE_UPSTREAM_TLS; a system-call error stays what it is', () => {
    const verify = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const wrapped = asHandshakeError(verify) as Error & { code: string; reason: string };
    assert.equal(wrapped.code, 'ERR_MCMP_EDGE_UPSTREAM_TLS');
    assert.equal(wrapped.reason, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const refusedConn = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' });
    assert.equal(asHandshakeError(refusedConn), refusedConn);
    assert.equal((asUpstreamTlsError(verify) as Error & { code: string }).code, 'ERR_MCMP_EDGE_UPSTREAM_TLS');
    const undiciTimeout = Object.assign(new Error('timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
    assert.equal(asUpstreamTlsError(undiciTimeout), undiciTimeout);
  });
});

// MCMP over TLS (--manager-tls) through the real command: with
// --manager-client-ca a worker's certificate is checked in the handshake, so a
// worker without one, or with one from another CA, never gets a command read;
// --allow still applies; the status page is served over HTTPS.
import assert from 'node:assert/strict';
import type https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';
import { mcmpTls, startEcho, type EchoBackend } from './harness';

describe('MCMP over TLS with client certificates', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let backend: EchoBackend;
  let worker: https.RequestOptions;

  before(async () => {
    pki = makePki();
    backend = await startEcho();
    proxy = await startProxy(['--threads', '1', '--log-level', 'debug', '--manager-tls', '--manager-cert', pki.server.cert, '--manager-key', pki.server.key, '--manager-client-ca', pki.ca], 60_000);
    worker = { ca: pki.read(pki.ca), cert: pki.read(pki.client.cert), key: pki.read(pki.client.key) };
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await backend?.close();
    pki?.remove();
  });

  it('CONFIG, ENABLE-APP and STATUS from a worker with a certificate from the CA; traffic flows', async () => {
    const config = await mcmpTls(proxy.managerPort, 'CONFIG', `JVMRoute=w1&Host=127.0.0.1&Port=${backend.port}&Type=http`, worker);
    assert.equal(config.status, 200, config.body);
    const enable = await mcmpTls(proxy.managerPort, 'ENABLE-APP', 'JVMRoute=w1&Alias=localhost&Context=/app', worker);
    assert.equal(enable.status, 200, enable.body);
    const status = await mcmpTls(proxy.managerPort, 'STATUS', 'JVMRoute=w1&Load=100', worker);
    assert.match(status.body, /^Type=STATUS-RSP&JVMRoute=w1&State=OK&id=\d+\n$/);
    const { sendRaw } = await import('../helpers/raw-http');
    const traffic = await sendRaw(proxy.listenPort, 'GET /app/x HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
    assert.equal(traffic.responses[0]?.status, 200);
    const page = await mcmpTls(proxy.managerPort, 'GET', '', worker, '/mod_cluster-manager');
    assert.equal(page.status, 200);
    assert.match(page.body, /Node w1 \(http:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('a worker without a certificate is refused in the handshake: no command is read', async () => {
    const commandsBefore = proxy.logs.filter((l) => l.msg === 'MCMP').length;
    await assert.rejects(mcmpTls(proxy.managerPort, 'CONFIG', 'JVMRoute=intruder&Host=127.0.0.1&Port=1&Type=http', { ca: pki.read(pki.ca) }), (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /certificate required|ECONNRESET|alert|socket hang up/i);
      return true;
    });
    await assert.rejects(mcmpTls(proxy.managerPort, 'CONFIG', 'JVMRoute=intruder&Host=127.0.0.1&Port=1&Type=http', { ca: pki.read(pki.ca), cert: pki.read(pki.stranger.cert), key: pki.read(pki.stranger.key) }));
    const deadline = Date.now() + 10_000;
    let refused = proxy.logs.filter((l) => l.msg === 'MCMP TLS handshake refused');
    while (refused.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      refused = proxy.logs.filter((l) => l.msg === 'MCMP TLS handshake refused');
    }
    assert.equal(refused.length, 2, JSON.stringify(refused));
    assert.equal(refused[0]?.code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    assert.equal(proxy.logs.filter((l) => l.msg === 'MCMP').length, commandsBefore, 'no MCMP command was parsed');
    const info = await mcmpTls(proxy.managerPort, 'INFO', '', worker);
    assert.doesNotMatch(info.body, /intruder/);
  });

  it('plain HTTP on the TLS manager port gets nowhere', async () => {
    const { sendRaw, mcmpRequest } = await import('../helpers/raw-http');
    const r = await sendRaw(proxy.managerPort, mcmpRequest('CONFIG', 'JVMRoute=plain&Host=127.0.0.1&Port=1&Type=http'), { expect: 1 });
    assert.equal(r.responses.length, 0);
    const info = await mcmpTls(proxy.managerPort, 'INFO', '', worker);
    assert.doesNotMatch(info.body, /plain/);
  });
});

describe('MCMP over TLS and --allow', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;

  before(async () => {
    pki = makePki();
    // --tls-cert/--tls-key serve the manager when --manager-cert/-key are not given.
    proxy = await startProxy(['--threads', '1', '--allow', '10.0.0.0/8', '--manager-tls', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    pki?.remove();
  });

  it('a peer outside --allow gets 403 over TLS too', async () => {
    const r = await mcmpTls(proxy.managerPort, 'INFO', '', { ca: pki.read(pki.ca) });
    assert.equal(r.status, 403);
  });
});

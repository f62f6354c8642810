// SIGHUP reloads certificates without dropping connections: a kept-alive
// connection goes on, every new handshake (edge, each thread, and MCMP) gets
// the new certificate; a bad new pair is refused with a warning and the old
// one stays.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';
import { httpsRequest, startEcho, waitForLog, type EchoBackend } from './harness';

function peerCn(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(String(cn));
    });
    s.on('error', reject);
  });
}

describe('SIGHUP reloads certificates', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let backend: EchoBackend;
  let cert: string;
  let key: string;

  before(async () => {
    pki = makePki();
    cert = path.join(pki.dir, 'live.pem');
    key = path.join(pki.dir, 'live.key');
    fs.copyFileSync(pki.server.cert, cert);
    fs.copyFileSync(pki.server.key, key);
    backend = await startEcho();
    proxy = await startProxy(['--threads', '2', '--listen-tls', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--manager-tls'], 60_000);
    // The manager is TLS here: register through a TLS socket.
    await registerOverTls(proxy.managerPort, pki.read(pki.ca), backend.port);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await backend?.close();
    pki?.remove();
  });

  it('keeps open connections, gives new handshakes the new certificate, refuses a bad pair', async () => {
    const ca = pki.read(pki.ca);
    const port = proxy.tlsPorts[0] as number;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    try {
      const before = await httpsRequest({ port, path: '/app/1', agent, servername: 'localhost' });
      assert.equal(before.status, 200);
      assert.equal(before.peerCn, 'localhost');

      fs.copyFileSync(pki.renewed.cert, cert);
      fs.copyFileSync(pki.renewed.key, key);
      proxy.child.kill('SIGHUP');
      await waitForLog(proxy.logs, (l) => l.msg === 'TLS certificates reloaded');

      const kept = await httpsRequest({ port, path: '/app/2', agent, servername: 'localhost' });
      assert.equal(kept.status, 200);
      assert.equal(kept.localPort, before.localPort, 'the kept-alive connection was not dropped');
      // Several new connections: the kernel spreads them over both threads.
      for (let i = 0; i < 6; i++) assert.equal(await peerCn(port, ca), 'localhost-renewed');
      const fresh = await httpsRequest({ port, path: '/app/3', ca, servername: 'localhost', agent: false });
      assert.equal(fresh.status, 200);
      assert.equal(await peerCn(proxy.managerPort, ca), 'localhost-renewed', 'MCMP listener too');

      // A key that does not match: refused with a warning, the renewed pair stays.
      fs.copyFileSync(pki.shop.key, key);
      proxy.child.kill('SIGHUP');
      const warning = await waitForLog(proxy.logs, (l) => l.msg === 'TLS reload refused; the previous certificates stay');
      assert.equal(warning.level, 40);
      assert.match(String(warning.err), /^--tls-key: the key in .* does not match the certificate in /);
      for (let i = 0; i < 4; i++) assert.equal(await peerCn(port, ca), 'localhost-renewed');
      assert.equal(await peerCn(proxy.managerPort, ca), 'localhost-renewed');
      const still = await httpsRequest({ port, path: '/app/4', agent, servername: 'localhost' });
      assert.equal(still.status, 200);
      assert.equal(proxy.child.exitCode, null);
    } finally {
      agent.destroy();
    }
  });
});

async function registerOverTls(managerPort: number, ca: Buffer, backendPort: number): Promise<void> {
  for (const [method, body] of [
    ['CONFIG', `JVMRoute=n1&Host=127.0.0.1&Port=${backendPort}&Type=http`],
    ['ENABLE-APP', 'JVMRoute=n1&Alias=localhost,127.0.0.1&Context=/app'],
    ['STATUS', 'JVMRoute=n1&Load=100'],
  ] as const) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: managerPort, method, path: '/', ca, servername: 'localhost', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 200, method);
  }
}


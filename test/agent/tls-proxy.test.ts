// The agent speaking MCMP over TLS to the real mcmp-edge (--manager-tls with
// --manager-client-ca): registered with its client certificate, refused
// without one, and the proxy verified against the agent's CA.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { ClusterAgent } from '../../src/agent';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { makeCerts, type TestCerts } from './certs';

let certs: TestCerts;
let proxy: ProxyProcess;
let server: http.Server;

before(async () => {
  certs = makeCerts();
  proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--manager-tls', '--manager-cert', certs.files.serverCert, '--manager-key', certs.files.serverKey, '--manager-client-ca', certs.files.ca]);
  server = http.createServer((req, res) => res.end(req.url === '*' ? '' : 'tlsnode'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

after(async () => {
  await proxy.stop('SIGKILL');
  server.close();
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

test('MCMP over TLS to mcmp-edge: the client certificate registers the node, traffic flows; no certificate, no registration', async () => {
  const anonymous = new ClusterAgent({ server, route: 'tls-anon', contexts: ['/app'], proxies: [`127.0.0.1:${proxy.managerPort}`], tls: { ca: certs.ca } });
  await anonymous.start();
  assert.equal(anonymous.proxies[0]?.state, 'error', 'a worker without a certificate is refused');
  await anonymous.stop();

  const untrusting = new ClusterAgent({ server, route: 'tls-untrusting', contexts: ['/app'], proxies: [`127.0.0.1:${proxy.managerPort}`], tls: { cert: certs.clientCert, key: certs.clientKey } });
  await untrusting.start();
  assert.equal(untrusting.proxies[0]?.state, 'error', 'a proxy not signed by the agent\'s CA is not trusted');
  await untrusting.stop();

  const agent = new ClusterAgent({ server, route: 'tls1', contexts: ['/app'], proxies: [`127.0.0.1:${proxy.managerPort}`], tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, statusInterval: 250 });
  await agent.start();
  assert.equal(agent.proxies[0]?.state, 'ok', String(agent.proxies[0]?.error));
  const end = Date.now() + 20_000;
  let body = '';
  while (body !== 'tlsnode' && Date.now() < end) {
    body = await (await fetch(`http://127.0.0.1:${proxy.listenPort}/app/`)).text();
    if (body !== 'tlsnode') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(body, 'tlsnode');
  assert.equal(await agent.stop(), true);
  assert.notEqual((await fetch(`http://127.0.0.1:${proxy.listenPort}/app/`)).status, 200);
});

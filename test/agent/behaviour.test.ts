// Behaviours of the agent beyond the trace: MCMP over TLS with a client
// certificate, re-registration when the proxy's start time changes, an "any"
// listening address, the SIGTERM wiring, configuration refusals.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { AgentConfigError, ClusterAgent } from '../../src/agent';
import { makeCerts, type TestCerts } from './certs';
import { FakeMcmpProxy } from './fake-mcmp-proxy';

let server: http.Server;
let certs: TestCerts;

before(async () => {
  server = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  certs = makeCerts();
});

after(() => {
  fs.rmSync(certs.dir, { recursive: true, force: true });
  return new Promise<void>((r) => server.close(() => r()));
});

test('MCMP over TLS: the agent presents its client certificate and verifies the proxy against its CA', async () => {
  const fake = new FakeMcmpProxy({ tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true } });
  await fake.listen();
  const agent = new ClusterAgent({ server, route: 'tls1', proxies: [`127.0.0.1:${fake.port}`], tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
  await agent.start();
  assert.equal(agent.proxies[0]?.state, 'ok');
  assert.deepEqual(fake.requests.map((r) => r.method), ['INFO', 'CONFIG', 'ENABLE-APP', 'STATUS']);
  assert.deepEqual(fake.peerNames, ['worker1']);
  await agent.stop();

  // Without a client certificate the handshake is refused: the proxy stays in error.
  const anonymous = new ClusterAgent({ server, route: 'tls2', proxies: [`127.0.0.1:${fake.port}`], tls: { ca: certs.ca } });
  await anonymous.start();
  assert.equal(anonymous.proxies[0]?.state, 'error');
  assert.equal(fake.requests.length, 8, 'nothing more reached the proxy');
  await anonymous.stop();
  // And a proxy whose certificate does not chain to the agent's CA is not trusted.
  const untrusting = new ClusterAgent({ server, route: 'tls3', proxies: [`127.0.0.1:${fake.port}`], tls: { cert: certs.clientCert, key: certs.clientKey } });
  await untrusting.start();
  assert.equal(untrusting.proxies[0]?.state, 'error');
  assert.match(String(untrusting.proxies[0]?.error?.message), /certificate/);
  await untrusting.stop();
  await fake.close();
});

test('a STATUS reply with a new proxy start time (id=) makes the agent register again at once', async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = new ClusterAgent({ server, route: 'id1', proxies: [`127.0.0.1:${fake.port}`], statusInterval: 100 });
  await agent.start();
  await fake.until((r) => r.filter((x) => x.method === 'STATUS').length >= 2, 'two STATUS with the same id');
  assert.equal(fake.requests.filter((r) => r.method === 'INFO').length, 1);
  fake.statusId = '1795309999';
  await fake.until((r) => r.filter((x) => x.method === 'INFO').length >= 2, 'a reset after the id changed');
  await agent.stop();
  await fake.close();
});

test('a restarted proxy that lost the node gets one re-registration: the burst\'s own STATUS with the new id is not a second restart', async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = new ClusterAgent({ server, route: 'id2', proxies: [`127.0.0.1:${fake.port}`], statusInterval: 100 });
  try {
    await agent.start();
    await fake.until((r) => r.filter((x) => x.method === 'STATUS').length >= 2, 'steady state');
    fake.statusId = '1795309999';
    fake.forgetEverything();
    const from = fake.requests.length;
    // STATUS answered MEM (node unknown), the reset after the retry, then a steady state again.
    await fake.until((r) => r.slice(from).filter((x) => x.method === 'STATUS' && x.answer.startsWith('200')).length >= 4, 'four STATUS answered OK after the restart');
    const methods = fake.requests.slice(from).map((r) => r.method);
    assert.equal(methods.filter((m) => m === 'INFO').length, 1, methods.join(' '));
    assert.equal(methods.filter((m) => m === 'CONFIG').length, 1, methods.join(' '));
    assert.equal(agent.proxies[0]?.state, 'ok');
  } finally {
    await agent.stop();
    await fake.close();
  }
});

test('a server listening on the any address registers with the local address of the MCMP connection, as Java does', async () => {
  const anyServer = http.createServer((_req, res) => res.end());
  await new Promise<void>((r) => anyServer.listen(0, '0.0.0.0', r));
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = new ClusterAgent({ server: anyServer, route: 'any1', proxies: [`127.0.0.1:${fake.port}`] });
  try {
    await agent.start();
    const config = fake.requests.find((r) => r.method === 'CONFIG');
    assert.equal(config?.decoded, `JVMRoute=any1&Host=127.0.0.1&Port=${(anyServer.address() as AddressInfo).port}&StickySessionForce=No&Type=http`);
  } finally {
    await agent.stop();
    await fake.close();
    anyServer.close();
  }
});

test('handleSignals: SIGTERM drains, removes the node, closes the server and the process exits', { timeout: 60_000 }, async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const child = spawn(process.execPath, [path.join(__dirname, 'signal-worker.js'), String(fake.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  assert.equal(signal, 'SIGTERM', `exited by the re-raised signal (code ${code})`);
  assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.target}`).slice(-4), ['DISABLE-APP /', 'STOP-APP /', 'REMOVE-APP /', 'REMOVE-APP /*']);
  await fake.close();
});

test('bad options are refused by name', () => {
  assert.throws(() => new ClusterAgent({ proxies: [] }), AgentConfigError);
  assert.throws(() => new ClusterAgent({ port: 1, contexts: ['app'] }), /context "app": a path starting with \//);
  assert.throws(() => new ClusterAgent({ port: 1, aliases: ['a,b'] }), /aliases/);
  assert.throws(() => new ClusterAgent({ port: 1, statusInterval: 0 }), /statusInterval/);
  assert.throws(() => new ClusterAgent({ port: 1, proxies: ['h:0'] }), /port must be 1\.\.65535/);
  assert.throws(() => new ClusterAgent({ port: 1, load: { initialLoad: 200 } }), /initialLoad/);
});

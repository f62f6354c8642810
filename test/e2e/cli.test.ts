// The newcomer path end to end: the real command, real threads, a real backend,
// registration over MCMP as curl would do it, INFO, DUMP, the status page, and
// a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { CLI, startProxy, type ProxyProcess } from '../helpers/proxy-process';

let proxy: ProxyProcess;
let backend: http.Server;
let backendPort: number;

before(async () => {
  backend = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`backend saw ${req.method} ${req.url} host=${req.headers.host} xff=${req.headers['x-forwarded-for']}\n`);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
  proxy = await startProxy(['--threads', '2', '--log-level', 'info']);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await new Promise((r) => backend.close(r));
});

async function mcmp(method: string, body = '', target = '/'): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body, target), { expect: 1 });
  const r = responses[0];
  assert.ok(r, `${method} got no reply`);
  return { status: r.status, body: r.body.toString('latin1'), headers: r.headers };
}

test('a node registered with CONFIG, ENABLE-APP and STATUS receives client traffic', async () => {
  assert.equal((await mcmp('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backendPort}&Type=http`)).status, 200);
  const enable = await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost,127.0.0.1&Context=/app');
  assert.equal(enable.status, 200);
  assert.equal(enable.body, 'Type=ENABLE-APP-RSP\nJvmRoute=node1\nAlias=localhost Contexts=/app\n\nAlias=127.0.0.1 Contexts=/app\n\n');
  const status = await mcmp('STATUS', 'JVMRoute=node1&Load=100');
  assert.equal(status.status, 200);
  assert.match(status.body, /^Type=STATUS-RSP&JVMRoute=node1&State=OK&id=\d+\n$/);

  const { responses } = await sendRaw(proxy.listenPort, 'GET /app/hello HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
  assert.equal(responses[0]?.status, 200);
  assert.equal(responses[0]?.body.toString(), 'backend saw GET /app/hello host=localhost xff=127.0.0.1\n');

  const info = await mcmp('INFO');
  assert.match(info.body, new RegExp(`^Node: \\[0\\],Name: node1,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: ${backendPort},Type: http,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 1,Read: \\d+,Transfered: \\d+,Connected: 0,Load: 100\\n`));
  assert.match(info.body, /Vhost: \[0:1:0\], Alias: localhost\nVhost: \[0:2:1\], Alias: 127\.0\.0\.1\nContext: \[0:1:0\], Context: \/app, Status: ENABLED\nContext: \[0:2:1\], Context: \/app, Status: ENABLED\n$/);
  const dump = await mcmp('DUMP');
  assert.match(dump.body, /^balancer: \[0\] Name: mycluster Sticky: 1 \[JSESSIONID\]\/\[jsessionid\] remove: 0 force: 1 Timeout: 0 maxAttempts: 1\n/);

  const page = await sendRaw(proxy.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
  const html = page.responses[0]?.body.toString('latin1') ?? '';
  assert.equal(page.responses[0]?.status, 200);
  assert.match(html, /<h1>mod_proxy_cluster\/2\.0\.0\.Dev<\/h1>/);
  assert.match(html, new RegExp(`<h1> Node node1 \\(http://127\\.0\\.0\\.1:${backendPort}\\): </h1>`));
  assert.match(html, /Status: OK/);
  assert.match(html, /\/app, Status: ENABLED Request: 0/);
  const version = await mcmp('VERSION');
  assert.equal(version.body, 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
});

test('SIGTERM stops the proxy with exit code 0', async () => {
  const p = await startProxy(['--threads', '1']);
  assert.equal(await p.stop('SIGTERM'), 0);
});

test('a bad flag exits with code 2 and one line naming it', () => {
  const r = spawnSync(process.execPath, [CLI, '--threads', 'zero'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'mcmp-edge: --threads: bad value "zero"; expected an integer 1..256\n');
  const a = spawnSync(process.execPath, [CLI, '--allow', '10.0.0.0/99'], { encoding: 'utf8' });
  assert.equal(a.status, 2);
  assert.match(a.stderr, /^mcmp-edge: --allow: .*10\.0\.0\.0\/99.*\n$/);
  assert.equal(a.stderr.split('\n').length, 2);
});

test('--version and --help', () => {
  const v = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^mcmp-edge \d+\.\d+\.\d+\n$/);
  const h = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--manager HOST:PORT/);
});

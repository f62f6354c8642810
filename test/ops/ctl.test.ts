// `mcmp-edge ctl` against the real proxy: every command, tables and --json,
// refusals and an unreachable proxy as one line with exit code 1, bad
// command lines with exit code 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { runCtl } from '../../src/ctl/index';
import { CLI, startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

let proxy: ProxyProcess;

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCtl(['--manager', `127.0.0.1:${proxy.managerPort}`, ...argv], { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

before(async () => {
  proxy = await startProxy(['--threads', '1', '--set', 'EnableOptions=Off']);
  for (const [method, body] of [
    ['CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=8080&Type=http&Balancer=shop'],
    ['CONFIG', 'JVMRoute=node2&Host=::1&Port=8081&Type=http&Balancer=shop'],
    ['ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app'],
    ['ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/admin'],
    ['ENABLE-APP', 'JVMRoute=node2&Alias=localhost&Context=/app'],
    ['STATUS', 'JVMRoute=node1&Load=75'],
  ] as const) {
    const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 });
    assert.equal(responses[0]?.status, 200, `${method} ${body}`);
  }
});

after(async () => {
  await proxy?.stop('SIGKILL');
});

test('info: nodes and contexts as tables and as JSON', async () => {
  const text = await ctl('info');
  assert.equal(text.code, 0, text.err);
  const lines = text.out.split('\n');
  assert.match(lines[0] ?? '', /^NODE +BALANCER +ADDRESS +TYPE +LOAD +ELECTED +BUSY +READ +SENT$/);
  assert.match(text.out, /^node1 +shop +127\.0\.0\.1:8080 +http +75 +0 +0 +0 +0$/m);
  assert.match(text.out, /^node2 +shop +\[::1\]:8081 +http +/m);
  assert.match(text.out, /^node1 +localhost +\/admin +ENABLED$/m);
  const j = await ctl('--json', 'info');
  const info = JSON.parse(j.out) as { nodes: Array<{ route: string; load: number }>; vhosts: Array<{ node: string; contexts: Array<{ path: string; status: string }> }> };
  assert.deepEqual(info.nodes.map((n) => [n.route, n.load]), [['node1', 75], ['node2', 0]]);
  assert.deepEqual(info.vhosts.find((v) => v.node === 'node1')?.contexts, [{ path: '/app', status: 'ENABLED' }, { path: '/admin', status: 'ENABLED' }]);
});

test('dump and version', async () => {
  const dump = await ctl('dump');
  assert.equal(dump.code, 0);
  assert.match(dump.out, /^shop +yes +JSESSIONID +jsessionid +no +yes +0 +1$/m);
  assert.match(dump.out, /^1 +node2 +shop +::1:8081 +http /m);
  const d = JSON.parse((await ctl('dump', '--json')).out) as { nodes: Array<{ route: string; port: number }>; contexts: unknown[] };
  assert.deepEqual(d.nodes.map((n) => [n.route, n.port]), [['node1', 8080], ['node2', 8081]]);
  assert.equal(d.contexts.length, 3);
  assert.equal((await ctl('version')).out, 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
  assert.deepEqual(JSON.parse((await ctl('--json', 'version')).out), { release: 'mod_proxy_cluster/2.0.0.Dev', protocol: '0.2.1' });
});

test('enable, disable, stop, remove: one context or the whole node', async () => {
  const stop = await ctl('stop', 'node1', '/admin', 'localhost');
  assert.equal(stop.code, 0, stop.err);
  assert.equal(stop.out, 'STOP-APP /admin of node1 (localhost): done; requests still running: 0\n');
  const disable = await ctl('--json', 'disable', 'node2');
  assert.equal(JSON.parse(disable.out).command, 'DISABLE-APP');
  let info = JSON.parse((await ctl('--json', 'info')).out) as { vhosts: Array<{ node: string; contexts: Array<{ path: string; status: string }> }> };
  assert.deepEqual(info.vhosts.find((v) => v.node === 'node1')?.contexts, [{ path: '/app', status: 'ENABLED' }, { path: '/admin', status: 'STOPPED' }]);
  assert.deepEqual(info.vhosts.find((v) => v.node === 'node2')?.contexts, [{ path: '/app', status: 'DISABLED' }]);
  assert.equal((await ctl('enable', 'node2')).out, 'ENABLE-APP every context of node2: done\n');
  assert.equal((await ctl('remove', 'node1', '/admin', 'localhost')).code, 0);
  info = JSON.parse((await ctl('--json', 'info')).out);
  assert.deepEqual(info.vhosts.find((v) => v.node === 'node1')?.contexts, [{ path: '/app', status: 'ENABLED' }]);
  assert.deepEqual(info.vhosts.find((v) => v.node === 'node2')?.contexts, [{ path: '/app', status: 'ENABLED' }]);
});

test('ping a node or an address', async () => {
  const p = await ctl('--json', 'ping', 'node1');
  assert.equal(p.code, 0, p.err);
  assert.equal(JSON.parse(p.out).Type, 'PING-RSP');
  assert.match((await ctl('ping', 'node1')).out, /^node1: (OK|NOTOK)\n$/);
  assert.match((await ctl('ping', 'http://127.0.0.1:8080')).out, /^http:\/\/127\.0\.0\.1:8080: (OK|NOTOK)\n$/);
});

test('refusals, an unreachable proxy and bad command lines', async () => {
  const refused = await ctl('stop', 'nosuch');
  assert.equal(refused.code, 1);
  assert.equal(refused.err, 'mcmp-edge ctl: STOP-APP refused: 500 MEM: MEM: Can\'t read node with "nosuch" JVMRoute\n');
  let err = '';
  const unreachable = await runCtl(['--manager', '127.0.0.1:1', '--timeout', '5', 'info'], { out: () => undefined, err: (t) => (err += t) });
  assert.equal(unreachable, 1);
  assert.match(err, /^mcmp-edge ctl: cannot reach 127\.0\.0\.1:1: .*ECONNREFUSED.*\n$/);
  assert.equal((await ctl('frobnicate')).code, 2);
  assert.equal((await ctl('enable', 'node1', '/app')).code, 2);
  assert.equal((await ctl('--bogus', 'info')).code, 2);
  // Through the real command: dispatched by `mcmp-edge ctl`.
  const r = spawnSync(process.execPath, [CLI, 'ctl', '--manager', `127.0.0.1:${proxy.managerPort}`, 'version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
  const h = spawnSync(process.execPath, [CLI, 'ctl', '--help'], { encoding: 'utf8' });
  assert.match(h.stdout, /^mcmp-edge ctl \[--manager HOST:PORT\]/);
});

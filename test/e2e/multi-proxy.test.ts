// Several mcmp-edge processes serving one cluster: each has its own tables and
// every worker lists both in its proxyList (the Java listener's behaviour,
// scripted in test/helpers/java-worker.ts). Real processes, real back ends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { JavaWorker } from '../helpers/java-worker';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

const ARGS = ['--threads', '1', '--log-level', 'warn'];

interface Backend {
  readonly route: string;
  readonly server: http.Server;
  readonly port: number;
}

const backends: Backend[] = [];
const processes = new Set<ProxyProcess>();
const workers = new Set<JavaWorker>();

async function backend(route: string): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
    // A new session gets a route-suffixed JSESSIONID, as Tomcat with a jvmRoute does.
    if (req.url === '/demo/login') headers['set-cookie'] = `JSESSIONID=${Math.random().toString(16).slice(2)}.${route}; Path=/demo`;
    res.writeHead(200, headers);
    res.end(`node=${route}`);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const b = { route, server, port: (server.address() as AddressInfo).port };
  backends.push(b);
  return b;
}

async function proxy(extra: string[] = []): Promise<ProxyProcess> {
  const p = await startProxy([...ARGS, ...extra]);
  processes.add(p);
  return p;
}

function worker(b: Backend, proxies: ProxyProcess[], load: () => number = () => 100, periodMs?: number): JavaWorker {
  const w = new JavaWorker({
    jvmRoute: b.route,
    host: '127.0.0.1',
    port: b.port,
    contexts: [{ path: '/demo', aliases: ['localhost'] }],
    proxyList: proxies.map((p) => `127.0.0.1:${p.managerPort}`),
    load,
    periodMs,
    socketTimeoutMs: 5000,
  });
  workers.add(w);
  return w;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function get(port: number, urlPath: string, cookie?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { host: 'localhost' };
    if (cookie !== undefined) headers.cookie = cookie;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function info(p: ProxyProcess): Promise<string> {
  const r = (await sendRaw(p.managerPort, mcmpRequest('INFO'), { expect: 1 })).responses[0];
  return r?.body.toString('latin1') ?? '';
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  await backend('node1');
  await backend('node2');
});

after(async () => {
  for (const w of workers) w.close();
  await Promise.all([...processes].map((p) => p.stop('SIGKILL')));
  agent.destroy();
  for (const b of backends) {
    b.server.closeAllConnections();
    await new Promise((r) => b.server.close(r));
  }
});

test('two proxies, the same workers: both route, sessions stick whichever proxy is reached, Load is reported to both', { timeout: 90_000 }, async () => {
  const a = await proxy();
  const b = await proxy();
  const loads: Record<string, number> = { node1: 30, node2: 70 };
  const [w1, w2] = backends.map((be) => worker(be, [a, b], () => loads[be.route]!));
  await Promise.all([w1!.tick(), w2!.tick()]);
  for (const w of [w1!, w2!]) {
    // The Java first contact with each proxy: INFO, CONFIG, ENABLE-APP, STATUS, all 200.
    for (const p of [a, b]) {
      const seen = w.exchanges.filter((e) => e.proxy === `127.0.0.1:${p.managerPort}`);
      assert.deepEqual(seen.map((e) => `${e.method} ${e.status}`), ['INFO 200', 'CONFIG 200', 'ENABLE-APP 200', 'STATUS 200']);
    }
  }
  for (const p of [a, b]) {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await get(p.listenPort, '/demo/x');
      assert.equal(r.status, 200);
      seen.add(r.body);
    }
    assert.deepEqual([...seen].sort(), ['node=node1', 'node=node2'], `proxy ${p.managerPort} balances over both nodes`);
  }
  // A session created through one proxy stays on its node through the other.
  const stuck = new Set<string>();
  for (const be of backends) {
    for (let tries = 0; tries < 40; tries++) {
      const login = await new Promise<string | undefined>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: a.listenPort, path: '/demo/login', headers: { host: 'localhost' }, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers['set-cookie']?.[0]?.split(';')[0]));
        }).on('error', reject);
      });
      if (login === undefined || !login.endsWith(`.${be.route}`)) continue;
      for (let i = 0; i < 20; i++) {
        const r = await get((i % 2 === 0 ? b : a).listenPort, '/demo/cart', login);
        assert.deepEqual(r, { status: 200, body: `node=${be.route}` }, `sticky ${login} request ${i}`);
      }
      stuck.add(be.route);
      break;
    }
  }
  assert.deepEqual([...stuck].sort(), ['node1', 'node2'], 'a session was created on each node');
  // Load: each worker's STATUS reaches both proxies.
  loads.node1 = 45;
  loads.node2 = 80;
  await Promise.all([w1!.tick(), w2!.tick()]);
  for (const p of [a, b]) {
    const text = await info(p);
    assert.match(text, /Name: node1,.*Load: 45\n/);
    assert.match(text, /Name: node2,.*Load: 80\n/);
  }
  for (const w of [w1!, w2!]) w.close();
  await Promise.all([a.stop(), b.stop()]);
});

test('one proxy killed under load: no failed request through the other; restarted, the workers repopulate it', { timeout: 120_000 }, async (t) => {
  const a = await proxy();
  const b = await proxy();
  const ws = backends.map((be) => worker(be, [a, b], () => 50, 250));
  await Promise.all(ws.map((w) => w.tick()));
  await Promise.all(ws.map((w) => w.start()));

  let killed = false;
  const failures: string[] = [];
  let throughB = 0;
  let throughA = 0;
  const deadline = Date.now() + 4000;
  const loop = async (n: number): Promise<void> => {
    for (let i = 0; i < 600 && Date.now() < deadline; i++) {
      const cookie = n % 2 === 0 ? 'JSESSIONID=abc.node2' : undefined;
      try {
        const r = await get(b.listenPort, '/demo/load', cookie);
        throughB++;
        if (r.status !== 200 || (cookie !== undefined && r.body !== 'node=node2')) failures.push(`${r.status} ${r.body}`);
      } catch (err) {
        failures.push(String(err));
      }
      if (!killed) {
        await get(a.listenPort, '/demo/load').then(
          () => throughA++,
          () => undefined, // requests to the proxy being killed may fail: that is the point
        );
      }
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  await new Promise((r) => setTimeout(r, 800));
  const aManager = a.managerPort;
  killed = true;
  await a.stop('SIGKILL');
  processes.delete(a);
  await Promise.all(loops);
  assert.ok(throughA > 0 && throughB > 100, `load went through both (${throughA} via A, ${throughB} via B)`);
  assert.deepEqual(failures, [], `no failed request through the surviving proxy (${throughB} requests)`);
  t.diagnostic(`through the surviving proxy: ${throughB} requests, 0 failed; through the killed one before the kill: ${throughA}`);
  // The workers saw A fail (connection refused) and keep it in ERROR; B stayed OK all along.
  await until('the workers mark the killed proxy in error', () => ws.every((w) => w.proxyStates().get(`127.0.0.1:${aManager}`) === 'ERROR'));
  for (const w of ws) assert.equal(w.proxyStates().get(`127.0.0.1:${b.managerPort}`), 'OK');

  // Restarted on the same MCMP port with empty tables: the next INFO + reset burst repopulates it.
  const a2 = await proxy(['--manager', `127.0.0.1:${aManager}`]);
  await until('the restarted proxy knows both nodes and their context', async () => {
    const text = await info(a2);
    return /Name: node1,/.test(text) && /Name: node2,/.test(text) && (text.match(/Context: \/demo, Status: ENABLED/g) ?? []).length === 2;
  });
  await until('the restarted proxy routes to both nodes', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await get(a2.listenPort, '/demo/x')).body);
    return seen.has('node=node1') && seen.has('node=node2');
  });
  assert.deepEqual(await get(a2.listenPort, '/demo/x', 'JSESSIONID=zz.node1'), { status: 200, body: 'node=node1' });
  for (const w of ws) w.close();
  await Promise.all([a2.stop(), b.stop()]);
});

test('a STATUS to a proxy that lost its tables gets MEM (never SYNTAX), so the Java listener re-registers at its next period', { timeout: 90_000 }, async () => {
  const a = await proxy();
  const w = worker(backends[0]!, [a]);
  await w.tick();
  const address = `127.0.0.1:${a.managerPort}`;
  assert.equal(w.proxyStates().get(address), 'OK');
  await a.stop();
  processes.delete(a);
  const a2 = await proxy(['--manager', address]);
  const before = w.exchanges.length;
  await w.tick();
  const status = w.exchanges.slice(before);
  assert.deepEqual(status.map((e) => `${e.method} ${e.status} ${e.type} ${e.mess}`), ['STATUS 500 MEM MEM: Can\'t read node with "node1" JVMRoute']);
  assert.equal(w.proxyStates().get(address), 'ERROR', 'Java puts the proxy in ERROR, not DOWN');
  await w.tick();
  assert.deepEqual(
    w.exchanges.slice(before + 1).map((e) => `${e.method} ${e.status}`),
    ['INFO 200', 'CONFIG 200', 'ENABLE-APP 200', 'STATUS 200'],
    'the next period re-registers the node',
  );
  assert.deepEqual(await get(a2.listenPort, '/demo/x'), { status: 200, body: 'node=node1' });
  w.close();
  await a2.stop();
});

test('with PersistSlots a restarted proxy has the tables at once and the next STATUS is simply OK', { timeout: 90_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-multi-'));
  const persist = ['--set', 'PersistSlots=On', '--set', `MemManagerFile=${dir}`];
  try {
    const a = await proxy(persist);
    const w = worker(backends[1]!, [a]);
    await w.tick();
    const address = `127.0.0.1:${a.managerPort}`;
    await until('the tables are written', () => fs.readdirSync(dir).some((f) => f.endsWith('.msgpack')));
    await new Promise((r) => setTimeout(r, 300)); // past the write debounce
    await a.stop('SIGKILL'); // a crash, not a clean stop
    processes.delete(a);
    const a2 = await proxy([...persist, '--manager', address]);
    assert.match(await info(a2), /Name: node2,/, 'the node is back before any worker message');
    assert.match(await info(a2), /Context: \/demo, Status: ENABLED/);
    const before = w.exchanges.length;
    await w.tick();
    assert.deepEqual(w.exchanges.slice(before).map((e) => `${e.method} ${e.status}`), ['STATUS 200'], 'no re-registration needed');
    assert.deepEqual(await get(a2.listenPort, '/demo/x'), { status: 200, body: 'node=node2' });
    w.close();
    await a2.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The scenarios of mod_proxy_cluster's own test suites (MCMP.md §9.1), each
// against the real proxy process with real backends on loopback, named after
// the upstream test. Loops are bounded; MCMP_EDGE_SOAK=1 runs them longer.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { fetchText, newAgent } from '../forward/fixtures';

const SOAK = process.env.MCMP_EDGE_SOAK === '1';

async function mcmp(proxy: ProxyProcess, method: string, body: string, target = '/'): Promise<{ status: number; body: string; type?: string }> {
  const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body, target), { expect: 1, timeoutMs: 15000 });
  const r = responses[0];
  assert.ok(r !== undefined, `${method} ${body}: no reply`);
  return { status: r.status, body: r.body.toString('latin1'), type: r.headers.type };
}

async function ok(proxy: ProxyProcess, method: string, body: string, target = '/'): Promise<string> {
  const r = await mcmp(proxy, method, body, target);
  assert.equal(r.status, 200, `${method} ${body}: ${r.status} ${r.type ?? ''}`);
  return r.body;
}

async function page(proxy: ProxyProcess): Promise<string> {
  const { responses } = await sendRaw(proxy.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
  return responses[0]?.body.toString('latin1') ?? '';
}

/** A Tomcat stand-in: answers with its name, can be stopped, frozen and started again on the same port. */
class FakeTomcat {
  readonly name: string;
  port = 0;
  #server: http.Server | undefined;
  #frozen = false;
  readonly #held: http.ServerResponse[] = [];

  constructor(name: string) {
    this.name = name;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      if (this.#frozen) {
        this.#held.push(res);
        return;
      }
      if (req.url?.includes('missing') === true) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such page\n');
        return;
      }
      const cookie = req.headers.cookie ?? '';
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (!cookie.includes('JSESSIONID=')) headers['set-cookie'] = `JSESSIONID=${Math.random().toString(36).slice(2)}.${this.name}; Path=/`;
      res.writeHead(200, headers).end(`node=${this.name} url=${req.url}\n`);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const r of this.#held.splice(0)) r.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }

  freeze(): void {
    this.#frozen = true;
  }

  resume(): void {
    this.#frozen = false;
    for (const r of this.#held.splice(0)) r.end(`node=${this.name} resumed\n`);
  }

  config(extra = ''): string {
    return `JVMRoute=${this.name}&Host=127.0.0.1&Port=${this.port}&Type=http&StickySessionForce=No${extra}`;
  }
}

describe('MODCLUSTER-755: 500 nodes fill the tables and STATUS rounds keep being answered', () => {
  let proxy: ProxyProcess;
  before(async () => {
    proxy = await startProxy(['--threads', '1', '--log-level', 'error', '--set', 'Maxnode=505', '--set', 'Maxhost=1010', '--set', 'Maxcontext=1100']);
  });
  after(() => proxy.stop('SIGKILL'));

  test('register 500 nodes, 2 contexts × 2 aliases each, then rounds of 500 STATUS', { timeout: 300_000 }, async () => {
    const N = 500;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, k) => {
          const n = i + k;
          // Closed ports: every probe fails fast, as for the upstream test's fake ajp nodes.
          await ok(proxy, 'CONFIG', `JVMRoute=fake${n}&Host=127.0.0.1&Port=${20000 + n}&StickySessionForce=No&Timeout=20&Type=ajp&ping=20`);
          await ok(proxy, 'STATUS', `JVMRoute=fake${n}&Load=100`);
          await ok(proxy, 'ENABLE-APP', `JVMRoute=fake${n}&Alias=a${n},b${n}&Context=/one,/two`);
        }),
      );
    }
    const dump = await ok(proxy, 'DUMP', '');
    assert.equal((dump.match(/^node: /gm) ?? []).length, N);
    assert.equal((dump.match(/^context: /gm) ?? []).length, 1100, 'the context table is full, no more');
    const rounds = SOAK ? 100 : 3;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < N; i += 100) {
        const replies = await Promise.all(Array.from({ length: 100 }, (_, k) => mcmp(proxy, 'STATUS', `JVMRoute=fake${i + k}&Load=${1 + ((round + k) % 100)}`)));
        for (const r of replies) assert.equal(r.status, 200);
      }
    }
    assert.match(await ok(proxy, 'VERSION', ''), /^release: mod_proxy_cluster/);
  });
});

describe('MODCLUSTER-785 and MODCLUSTER-794, maintests, basetests, hangingtests', () => {
  // Each scenario gets its own proxy: removed nodes keep their slot for 2 × WaitBeforeRemove.
  let proxy: ProxyProcess;
  let agent = newAgent(4);
  beforeEach(async () => {
    agent = newAgent(4);
    proxy = await startProxy(['--threads', '2', '--log-level', 'error', '--set', 'Maxnode=20']);
  });
  afterEach(async () => {
    await agent.close();
    await proxy.stop('SIGKILL');
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetchText(agent, `http://127.0.0.1:${proxy.listenPort}`, path, { headers });

  test('MODCLUSTER-785: a killed backend answers 503; restarted, 200 within 60 s and no 503 afterwards', { timeout: 90_000 }, async () => {
    const t = new FakeTomcat('t785');
    await t.start();
    await ok(proxy, 'CONFIG', t.config());
    await ok(proxy, 'ENABLE-APP', `JVMRoute=t785&Alias=localhost&Context=/app785`);
    await ok(proxy, 'STATUS', 'JVMRoute=t785&Load=100');
    assert.equal((await get('/app785/')).status, 200);
    await t.stop();
    const down = await Promise.all(Array.from({ length: 10 }, () => get('/app785/')));
    for (const r of down) assert.equal(r.status, 503);
    await t.start(); // same port
    // The Java worker sends STATUS every 10 s; recovery must not take longer than its next one.
    const started = Date.now();
    let recovered = false;
    while (!recovered && Date.now() - started < 60_000) {
      await ok(proxy, 'STATUS', 'JVMRoute=t785&Load=100');
      recovered = (await get('/app785/')).status === 200;
      if (!recovered) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(recovered, 'back to 200 within 60 s');
    for (let i = 0; i < 200; i++) assert.equal((await get('/app785/')).status, 200, `request ${i} after recovery`);
    await ok(proxy, 'REMOVE-APP', 'JVMRoute=t785', '/*');
    await t.stop();
  });

  test('MODCLUSTER-794: 20 nodes register while / keeps being served, and all end up Status: OK', { timeout: 60_000 }, async () => {
    const tomcats = Array.from({ length: 19 }, (_, i) => new FakeTomcat(`n794-${i}`));
    const first = new FakeTomcat('n794-first');
    await first.start();
    await ok(proxy, 'CONFIG', first.config());
    await ok(proxy, 'ENABLE-APP', `JVMRoute=${first.name}&Alias=localhost&Context=/`);
    await ok(proxy, 'STATUS', `JVMRoute=${first.name}&Load=100`);
    let failures = 0;
    let served = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const r = await get('/');
        if (r.status === 200) served++;
        else failures++;
      }
    })();
    for (const t of tomcats) {
      await t.start();
      await ok(proxy, 'CONFIG', t.config());
      await ok(proxy, 'ENABLE-APP', `JVMRoute=${t.name}&Alias=localhost&Context=/`);
      await ok(proxy, 'STATUS', `JVMRoute=${t.name}&Load=100`);
    }
    stop = true;
    await traffic;
    assert.equal(failures, 0);
    assert.ok(served > 0);
    const html = await page(proxy);
    assert.equal((html.match(/Status: OK/g) ?? []).length, 20);
    for (const t of [first, ...tomcats]) {
      await ok(proxy, 'REMOVE-APP', `JVMRoute=${t.name}`, '/*');
      await t.stop();
    }
  });

  test('maintests: sticky sessions, new sessions spread, failover with only 200s, one connection to two apps on two nodes', { timeout: 60_000 }, async () => {
    const a = new FakeTomcat('mta');
    const b = new FakeTomcat('mtb');
    await a.start();
    await b.start();
    for (const t of [a, b]) {
      await ok(proxy, 'CONFIG', t.config());
      await ok(proxy, 'ENABLE-APP', `JVMRoute=${t.name}&Alias=localhost&Context=/testapp`);
      await ok(proxy, 'STATUS', `JVMRoute=${t.name}&Load=100`);
    }
    await ok(proxy, 'ENABLE-APP', `JVMRoute=mta&Alias=localhost&Context=/testapp1`);
    await ok(proxy, 'ENABLE-APP', `JVMRoute=mtb&Alias=localhost&Context=/testapp2`);

    // New sessions reach both nodes; a session keeps hitting its node with no new Set-Cookie.
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(/node=(\S+)/.exec((await get('/testapp/'))?.body ?? '')?.[1] ?? '');
    assert.deepEqual([...seen].sort(), ['mta', 'mtb']);
    const first = await get('/testapp/');
    const cookie = String(first.headers['set-cookie']).split(';')[0] ?? '';
    const owner = /\.(\w+)$/.exec(cookie)?.[1] ?? '';
    for (let i = 0; i < 20; i++) {
      const r = await get('/testapp/', { cookie });
      assert.match(r.body, new RegExp(`node=${owner} `));
      assert.equal(r.headers['set-cookie'], undefined);
    }
    // One keep-alive connection reaches /testapp1 and /testapp2 on different nodes.
    const oneConn = await sendRaw(
      proxy.listenPort,
      'GET /testapp1/x HTTP/1.1\r\nHost: localhost\r\n\r\n',
      { expect: 1 },
    );
    assert.match(oneConn.responses[0]?.body.toString() ?? '', /node=mta /);
    const socketTest = await new Promise<string[]>((resolve, reject) => {
      const net = require('node:net') as typeof import('node:net');
      const s = net.connect(proxy.listenPort, '127.0.0.1');
      const bodies: string[] = [];
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = buf.match(/node=\S+/g);
        if (m !== null && m.length >= bodies.length + 1) {
          bodies.push(m[m.length - 1] ?? '');
          if (bodies.length === 1) s.write('GET /testapp2/y HTTP/1.1\r\nHost: localhost\r\n\r\n');
          else {
            s.destroy();
            resolve(bodies);
          }
        }
      });
      s.on('error', reject);
      s.write('GET /testapp1/x HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    assert.deepEqual(socketTest, ['node=mta', 'node=mtb']);

    // Kill the session's node while a client loops with the session: only 200s (StickySessionForce=No).
    const victim = owner === 'mta' ? a : b;
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20) await victim.stop();
      statuses.push((await get('/testapp/', { cookie })).status);
    }
    assert.deepEqual([...new Set(statuses)], [200]);
    await ok(proxy, 'REMOVE-APP', 'JVMRoute=mta', '/*');
    await ok(proxy, 'REMOVE-APP', 'JVMRoute=mtb', '/*');
    await a.stop();
    await b.stop();
  });

  test('basetests: a back-end 404 passes through; 50 start/stop cycles register and deregister cleanly', { timeout: 60_000 }, async () => {
    const t = new FakeTomcat('base1');
    await t.start();
    const cycles = SOAK ? 500 : 50;
    for (let i = 0; i < cycles; i++) {
      let r = await mcmp(proxy, 'CONFIG', t.config());
      assert.equal(r.status, 200, `cycle ${i} CONFIG: ${r.type ?? ''}`);
      await ok(proxy, 'ENABLE-APP', 'JVMRoute=base1&Alias=localhost&Context=/base');
      await ok(proxy, 'STATUS', 'JVMRoute=base1&Load=100');
      if (i === 0) {
        assert.equal((await get('/base/missing.jsp')).status, 404);
        assert.equal((await get('/base/index.jsp')).status, 200);
      }
      const info = await ok(proxy, 'INFO', '');
      assert.match(info, /Context: \[\d+:\d+:\d+\], Context: \/base, Status: ENABLED/);
      // Tomcat's shutdown: per context DISABLE, STOP, REMOVE, then REMOVE-APP /*.
      for (const cmd of ['DISABLE-APP', 'STOP-APP', 'REMOVE-APP']) await ok(proxy, cmd, 'JVMRoute=base1&Alias=localhost&Context=/base');
      await ok(proxy, 'REMOVE-APP', 'JVMRoute=base1', '/*');
      r = await mcmp(proxy, 'ENABLE-APP', 'JVMRoute=base1&Alias=localhost&Context=/base');
      assert.equal(r.status, 500, 'a removed node takes no APP command');
      assert.notEqual((await get('/base/index.jsp')).status, 200);
    }
    await t.stop();
  });

  test('hangingtests: a frozen node leaves the Status: OK count and comes back when resumed', { timeout: 60_000 }, async () => {
    const t = new FakeTomcat('hang1');
    await t.start();
    await ok(proxy, 'CONFIG', t.config('&ping=1&Timeout=1'));
    await ok(proxy, 'ENABLE-APP', 'JVMRoute=hang1&Alias=localhost&Context=/hang');
    await ok(proxy, 'STATUS', 'JVMRoute=hang1&Load=100');
    assert.match(await page(proxy), /Node hang1 [\s\S]*?Status: OK/);
    t.freeze();
    const frozen = await get('/hang/');
    assert.ok(frozen.status === 504 || frozen.status === 503, `frozen node: ${frozen.status}`);
    const status = await ok(proxy, 'STATUS', 'JVMRoute=hang1&Load=100');
    assert.match(status, /State=NOTOK/);
    assert.match(await page(proxy), /Node hang1 [^<]*<\/h1>\n[^\n]*\n[^\n]*Status: NOTOK/);
    t.resume();
    assert.match(await ok(proxy, 'STATUS', 'JVMRoute=hang1&Load=100'), /State=OK/);
    assert.match(await page(proxy), /Node hang1 [^<]*<\/h1>\n[^\n]*\n[^\n]*Status: OK/);
    assert.equal((await get('/hang/')).status, 200);
    await ok(proxy, 'REMOVE-APP', 'JVMRoute=hang1', '/*');
    await t.stop();
  });
});

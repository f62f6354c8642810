// The agent against the real mcmp-edge (its primary for MCMP, two forwarding
// threads for traffic): registration, sticky sessions, load shifting measured
// in the traffic split, a drain with requests in flight, a proxy restart and
// two proxies at once.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, test } from 'node:test';
import { ClusterAgent, type ClusterAgentOptions, type LoadMetric } from '../../src/agent';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

interface Worker {
  name: string;
  server: http.Server;
  agent: ClusterAgent;
  /** Requests held by /app/slow until released. */
  held: Set<http.ServerResponse>;
}

const workers: Worker[] = [];

/** Stops what a test started, also when it failed, so the next test sees only its own nodes. */
async function stopWorkers(): Promise<void> {
  for (const w of workers.splice(0)) {
    for (const r of w.held) r.destroy();
    await w.agent.stop({ timeout: 0 });
    w.server.closeAllConnections();
    w.server.close();
  }
}
const proxies: ProxyProcess[] = [];

async function startWorker(name: string, proxyList: ProxyProcess[], extra: Partial<ClusterAgentOptions> = {}): Promise<Worker> {
  const held = new Set<http.ServerResponse>();
  let agent: ClusterAgent | undefined;
  const server = http.createServer((req, res) => {
    if (req.url === '*') return void res.end();
    agent?.sessions.adopt(req, res) ?? (req.url?.includes('login') === true ? agent?.sessions.set(res) : undefined);
    if (req.url?.startsWith('/app/slow') === true) {
      held.add(res);
      return;
    }
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  agent = new ClusterAgent({ server, route: name, contexts: ['/app'], proxies: proxyList.map((p) => `127.0.0.1:${p.managerPort}`), statusInterval: 250, ...extra });
  const w = { name, server, agent, held };
  workers.push(w);
  await agent.start();
  return w;
}

async function get(proxy: ProxyProcess, path: string, cookie?: string): Promise<{ status: number; body: string; setCookie: string | null }> {
  const res = await fetch(`http://127.0.0.1:${proxy.listenPort}${path}`, { headers: cookie === undefined ? {} : { cookie } });
  return { status: res.status, body: await res.text(), setCookie: res.headers.get('set-cookie') };
}

async function info(proxy: ProxyProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${proxy.managerPort}/`, { method: 'INFO' })).text();
}

/** The context lines INFO shows for node `name` (after REMOVE-APP /* the node row lingers, its contexts do not). */
async function contextsOf(proxy: ProxyProcess, name: string): Promise<string[]> {
  const text = await info(proxy);
  const id = new RegExp(`^Node: \\[(\\d+)\\],Name: ${name},`, 'm').exec(text)?.[1];
  return id === undefined ? [] : text.split('\n').filter((l) => l.startsWith(`Context: [${id}:`));
}

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many of `n` requests each worker answered. */
async function split(proxy: ProxyProcess, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(proxy, '/app/x');
    assert.equal(r.status, 200);
    counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
  }
  return counts;
}

let proxy: ProxyProcess;

before(async () => {
  // Load windows of 1 s instead of 5 s, so a change of load shows in the split sooner (MCMP.md §5.7).
  proxy = await startProxy(['--threads', '2', '--log-level', 'warn', '--set', 'LBstatusRecalTime=1']);
  proxies.push(proxy);
});

afterEach(stopWorkers);

after(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
});

test('registration: INFO lists the node and its context ENABLED, traffic reaches it through the forwarding threads', async () => {
  const w = await startWorker('reg1', [proxy]);
  assert.deepEqual(w.agent.proxies.map((p) => p.state), ['ok']);
  const text = await info(proxy);
  assert.equal((await contextsOf(proxy, 'reg1')).length, 1);
  assert.match(text, /Node: \[\d+\],Name: reg1,Balancer: mycluster,LBGroup: ,Host: 127\.0\.0\.1,Port: \d+,Type: http,/);
  assert.match(text, /Context: \[\d+:\d+:\d+\], Context: \/app, Status: ENABLED/);
  await until(async () => (await get(proxy, '/app/')).body === 'reg1', 'the node serves /app');
  assert.equal(await w.agent.stop(), true);
  assert.deepEqual(await contextsOf(proxy, 'reg1'), []);
  assert.notEqual((await get(proxy, '/app/')).status, 200);
});

test('sticky sessions: the cookie carries the route and every request of a session reaches its worker', async () => {
  const a = await startWorker('stickyA', [proxy]);
  const b = await startWorker('stickyB', [proxy]);
  const sessions = new Map<string, string>();
  for (let i = 0; i < 6; i++) {
    const r = await get(proxy, '/app/login');
    assert.equal(r.status, 200);
    const cookie = (r.setCookie ?? '').split(';')[0] as string;
    assert.match(cookie, new RegExp(`^JSESSIONID=[0-9A-F]{32}\\.${r.body}$`));
    sessions.set(cookie, r.body);
  }
  assert.equal(new Set(sessions.values()).size, 2, 'both workers got sessions');
  for (const [cookie, worker] of sessions) {
    for (let i = 0; i < 15; i++) assert.equal((await get(proxy, '/app/x', cookie)).body, worker);
  }
  await Promise.all([a.agent.stop(), b.agent.stop()]);
});

test('load shifting: a worker that reports itself busy gets a share of the traffic in proportion to its load factor', async () => {
  let busyA = 0;
  const busy: LoadMetric = { name: 'busy', load: () => busyA };
  // A real provider (history 9, decay 2) fed by the test's metric instead of the process metrics.
  const a = await startWorker('shiftA', [proxy], { load: { metrics: [busy], initialLoad: -1 } });
  const b = await startWorker('shiftB', [proxy], { load: { metrics: [{ name: 'idle', load: () => 0 }], initialLoad: -1 } });
  await until(() => a.agent.load === 100 && b.agent.load === 100, 'both idle');
  await new Promise((r) => setTimeout(r, 2500)); // idle STATUS applied, the proxy's load windows passed
  const even = await split(proxy, 200);
  const evenA = (even.get('shiftA') ?? 0) / 200;
  assert.ok(evenA > 0.35 && evenA < 0.65, `idle split ${JSON.stringify([...even])}`);
  busyA = 0.9;
  await until(() => a.agent.load <= 12, `A reports busy (load ${a.agent.load})`);
  // The proxy scores by requests elected in the current and the previous 1 s window: let both pass.
  await new Promise((r) => setTimeout(r, 2500));
  const shifted = await split(proxy, 200);
  const shiftedA = (shifted.get('shiftA') ?? 0) / 200;
  // Load factors ≈ 10 and 100: A should get about 1/11 of the requests.
  assert.ok(shiftedA < 0.2, `busy split ${JSON.stringify([...shifted])} (A load ${a.agent.load}, B load ${b.agent.load})`);
  assert.ok(shiftedA > 0, 'a busy worker still gets some traffic');
  await Promise.all([a.agent.stop(), b.agent.stop()]);
});

test('drain: stop() waits for the requests the proxy still has in flight to the node, new requests go elsewhere, none fails', async () => {
  const a = await startWorker('drainA', [proxy]);
  const b = await startWorker('drainB', [proxy]);
  const inflight = Array.from({ length: 4 }, () => get(proxy, '/app/slow', 'JSESSIONID=S1.drainA'));
  await until(() => a.held.size === 4, 'slow requests held by A');
  let stopped: boolean | undefined;
  const stopping = a.agent.stop({ timeout: 30_000 }).then((v) => (stopped = v));
  await until(async () => /Context: \/app, Status: STOPPED/.test(await info(proxy)), 'A disabled then stopped at the proxy');
  for (let i = 0; i < 40; i++) {
    const r = await get(proxy, '/app/x');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'drainB', 'no new request for a draining node');
  }
  assert.equal(stopped, undefined, 'stop() still waiting for the requests in flight');
  for (const r of a.held) r.end('drainA-slow');
  a.held.clear();
  for (const r of await Promise.all(inflight)) assert.deepEqual([r.status, r.body], [200, 'drainA-slow']);
  await stopping;
  assert.equal(stopped, true, 'drained before the timeout');
  assert.deepEqual(await contextsOf(proxy, 'drainA'), []);
  await b.agent.stop();
});

test('proxy restart: the node is registered again on the new process without any action from the worker', async () => {
  const first = await startProxy(['--threads', '1', '--log-level', 'warn']);
  proxies.push(first);
  const w = await startWorker('restart1', [first]);
  await until(async () => (await get(first, '/app/')).body === 'restart1', 'served by the first process');
  await first.stop('SIGKILL');
  await until(() => w.agent.proxies[0]?.state === 'error', 'the agent saw the proxy go');
  const second = await startProxy(['--threads', '1', '--log-level', 'warn', '--manager', `127.0.0.1:${first.managerPort}`]);
  proxies.push(second);
  const t0 = Date.now();
  await until(async () => (await get(second, '/app/').catch(() => ({ body: '' }))).body === 'restart1', 're-registered on the new process');
  assert.ok(Date.now() - t0 < 15_000);
  // Traffic flows once ENABLE-APP is in; the link turns OK only when the STATUS
  // that ends the burst is answered, which a loaded machine may deliver later.
  await until(() => w.agent.proxies[0]?.state === 'ok', 'the agent holds the new process OK');
  await w.agent.stop();
});

test('two proxies: one agent registers with both, each routes to it, stop() leaves both', async () => {
  const other = await startProxy(['--threads', '1', '--log-level', 'warn']);
  proxies.push(other);
  const w = await startWorker('both1', [proxy, other]);
  assert.deepEqual(w.agent.proxies.map((p) => p.state), ['ok', 'ok']);
  for (const p of [proxy, other]) await until(async () => (await get(p, '/app/')).body === 'both1', `served via ${p.listenPort}`);
  assert.equal(await w.agent.stop(), true);
  for (const p of [proxy, other]) assert.deepEqual(await contextsOf(p, 'both1'), []);
});

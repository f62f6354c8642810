// `npm run demo`: mcmp-edge and three Node workers on loopback, then a short
// scripted tour — sticky sessions, load shifting, a drained stop, a new
// worker joining — and the status page left open until Ctrl-C.
// `npm run demo -- --ci` (or MCMP_EDGE_DEMO=ci) runs the tour fast, checks
// each step, stops everything and exits 0 (1 if a step failed).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';

const CI = process.argv.includes('--ci') || process.env.MCMP_EDGE_DEMO === 'ci';
const INTERVAL_MS = CI ? 250 : 1000;
const TTY = process.stdout.isTTY === true && !CI;
// dist/demo → dist
const ROOT = path.resolve(__dirname, '..');
const STEPS = 5;

const children = new Set<ChildProcess>();
let progressShown = false;

function say(line: string): void {
  if (progressShown) process.stdout.write('\r\x1b[K');
  progressShown = false;
  process.stdout.write(`${line}\n`);
}

function progress(step: number, text: string): void {
  if (!TTY) return;
  process.stdout.write(`\r\x1b[K[${step}/${STEPS}] ${text}`);
  progressShown = true;
}

class DemoFailure extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new DemoFailure(what);
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, CI ? Math.min(ms, 100) : ms));

interface Proxy {
  child: ChildProcess;
  listenPort: number;
  managerPort: number;
}

/** The proxy with its load windows shortened from 5 s to 1 s, so a load change shows in the split at once. */
function startProxy(): Promise<Proxy> {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli.js'), '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0', '--threads', '2', '--log-level', 'error', '--set', 'LBstatusRecalTime=1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new DemoFailure(`mcmp-edge exited with ${code} before it was ready`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^mcmp-edge ready: clients on .+:(\d+), MCMP and status page on .+:(\d+)$/.exec(line);
      if (m !== null) resolve({ child, listenPort: Number(m[1]), managerPort: Number(m[2]) });
    });
  });
}

interface Worker {
  name: string;
  child: ChildProcess;
  port: number;
  loads: number[];
  stopped?: Promise<{ drained: boolean }>;
}

function startWorker(name: string, proxy: Proxy): Promise<Worker> {
  const child = fork(path.join(__dirname, 'worker.js'), [name, `127.0.0.1:${proxy.managerPort}`, String(INTERVAL_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const loads: number[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new DemoFailure(`${name} exited with ${code}`)));
    child.on('message', (msg: { event: string; port?: number; load?: number; proxies?: string[] }) => {
      if (msg.event === 'load') loads.push(msg.load ?? -1);
      if (msg.event === 'ready') {
        check(msg.proxies?.[0] === 'ok', `${name} could not register (${msg.proxies?.join(',')})`);
        resolve({ name, child, port: msg.port ?? 0, loads });
      }
    });
  });
}

function stopWorker(w: Worker): Promise<{ drained: boolean }> {
  w.stopped ??= new Promise((resolve) => {
    w.child.on('message', (msg: { event: string; drained?: boolean }) => {
      if (msg.event === 'stopped') resolve({ drained: msg.drained === true });
    });
    w.child.send({ cmd: 'stop' });
  });
  return w.stopped;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** One request through the proxy: the worker's name, or an error text. */
function request(proxy: Proxy, urlPath: string, cookie?: string): Promise<{ ok: boolean; worker: string; setCookie: string | undefined }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: proxy.listenPort, path: urlPath, agent: keepAlive, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ ok: res.statusCode === 200, worker: res.statusCode === 200 ? (body.split(/[\s]/)[0] ?? '') : `HTTP ${res.statusCode}`, setCookie: res.headers['set-cookie']?.[0]?.split(';')[0] }));
    });
    req.on('error', (err) => resolve({ ok: false, worker: err.message, setCookie: undefined }));
  });
}

/** `n` requests, 4 at a time; the count per worker and the failures. */
async function traffic(proxy: Proxy, n: number, step: number, label: string): Promise<{ counts: Map<string, number>; failed: number }> {
  const counts = new Map<string, number>();
  let failed = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (done < n) {
      done++;
      const r = await request(proxy, '/app/');
      if (r.ok) counts.set(r.worker, (counts.get(r.worker) ?? 0) + 1);
      else failed++;
      if (done % 20 === 0) progress(step, `${label} ${done}/${n} requests`);
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return { counts, failed };
}

function splitText(counts: Map<string, number>, names: string[]): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return names.map((n) => `${n} ${Math.round((100 * (counts.get(n) ?? 0)) / Math.max(1, total))}%`).join('  ');
}

async function waitFor(pred: () => boolean, what: string, step: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    check(Date.now() < end, `timed out: ${what}`);
    progress(step, what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function tour(): Promise<Proxy> {
  const t0 = Date.now();
  const proxy = await startProxy();
  const workers = [await startWorker('worker-1', proxy), await startWorker('worker-2', proxy), await startWorker('worker-3', proxy)];
  const names = workers.map((w) => w.name);
  say('mcmp-edge demo: one proxy, three Node workers joined with mcmp-edge/agent');
  say(`  traffic      http://127.0.0.1:${proxy.listenPort}/app/`);
  say(`  status page  http://127.0.0.1:${proxy.managerPort}/mod_cluster-manager`);
  for (const w of workers) say(`  ${w.name}     http://127.0.0.1:${w.port}/app/ (route ${w.name})`);
  // New nodes start from "fully loaded" and ramp up (mod_cluster's initial load), so wait until all report idle.
  await waitFor(() => workers.every((w) => (w.loads.at(-1) ?? 0) >= 90), 'workers ramping up to idle', 1);

  say('');
  say('[1/5] sessions stick to their worker');
  for (let i = 0; i < 3; i++) {
    const login = await request(proxy, '/app/login');
    check(login.ok && login.setCookie !== undefined, 'login answered with a session cookie');
    const cookie = login.setCookie as string;
    const seen = new Set<string>();
    for (let j = 0; j < 10; j++) seen.add((await request(proxy, '/app/', cookie)).worker);
    check(seen.size === 1 && seen.has(login.worker), `session ${cookie} stuck to ${login.worker}`);
    say(`  ${cookie.slice(0, 22)}…${cookie.slice(cookie.indexOf('.'))}: 10 of 10 requests on ${login.worker}`);
  }
  await pause(1500);

  say('[2/5] load shifting: worker-2 reports itself busy');
  const before = await traffic(proxy, 300, 2, 'even load');
  say(`  all idle:        ${splitText(before.counts, names)}`);
  workers[1]?.child.send({ cmd: 'busy', value: 1 });
  await waitFor(() => (workers[1]?.loads.at(-1) ?? 100) <= 20, 'worker-2 reporting busy', 2);
  await new Promise((r) => setTimeout(r, INTERVAL_MS + 100));
  const busy = await traffic(proxy, 300, 2, 'worker-2 busy');
  say(`  worker-2 busy:   ${splitText(busy.counts, names)}   (load factors ${workers.map((w) => w.loads.at(-1)).join(' / ')})`);
  check((busy.counts.get('worker-2') ?? 0) < (before.counts.get('worker-2') ?? 0) / 2, 'worker-2 got less than half its earlier share');
  workers[1]?.child.send({ cmd: 'busy', value: 0 });
  // The load history decays: a few periods until worker-2 reports idle again.
  await waitFor(() => (workers[1]?.loads.at(-1) ?? 0) >= 90, 'worker-2 back to idle', 2);
  say(`  worker-2 idle again (load factor ${workers[1]?.loads.at(-1)})`);
  await pause(1500);

  say('[3/5] worker-3 drained and stopped while requests are in flight');
  const sticky = (await request(proxy, '/app/login', 'JSESSIONID=DEMO.worker-3')).worker;
  check(sticky === 'worker-3', 'a session routed to worker-3');
  const slow = Array.from({ length: 5 }, () => request(proxy, '/app/?slow=1500', 'JSESSIONID=DEMO.worker-3'));
  await new Promise((r) => setTimeout(r, 200));
  const w3 = workers[2] as Worker;
  const stopping = stopWorker(w3);
  let during = { counts: new Map<string, number>(), failed: 0 };
  let stoppedYet = false;
  void stopping.then(() => (stoppedYet = true));
  while (!stoppedYet) {
    const r = await traffic(proxy, 40, 3, 'traffic during the drain');
    for (const [k, v] of r.counts) during.counts.set(k, (during.counts.get(k) ?? 0) + v);
    during = { counts: during.counts, failed: during.failed + r.failed };
  }
  const slowDone = await Promise.all(slow);
  const { drained } = await stopping;
  const duringTotal = [...during.counts.values()].reduce((a, b) => a + b, 0) + during.failed;
  say(`  5 slow requests in flight on worker-3: ${slowDone.filter((r) => r.ok && r.worker === 'worker-3').length} finished there`);
  say(`  ${duringTotal} requests during the drain: ${during.failed} failed; worker-3 left the cluster ${drained ? 'after the proxy counted 0 requests' : 'at the timeout'}`);
  check(slowDone.every((r) => r.ok && r.worker === 'worker-3'), 'the in-flight requests finished on worker-3');
  check(during.failed === 0 && drained, 'no failed request and a complete drain');
  await pause(1500);

  say('[4/5] a new worker joins');
  const w4 = await startWorker('worker-4', proxy);
  workers.splice(2, 1, w4);
  names.splice(2, 1, 'worker-4');
  await waitFor(() => w4.loads.length >= 3, 'worker-4 ramping up', 4);
  const joined = await traffic(proxy, 300, 4, 'with worker-4');
  say(`  worker-4 ramps up from its initial load: load factors ${w4.loads.slice(0, 3).join(', ')}…`);
  // The proxy evens out the times each node was elected, so a newcomer first catches up.
  say(`  split now:       ${splitText(joined.counts, names)}   (a new node first catches up with the others)`);
  check((joined.counts.get('worker-4') ?? 0) > 0 && joined.failed === 0, 'worker-4 serves traffic');

  say(`[5/5] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return proxy;
}

function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  keepAlive.destroy();
}

async function main(): Promise<void> {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(signal, () => {
      say('stopping the demo…');
      stopAll();
      process.exit(code);
    });
  }
  try {
    const proxy = await tour();
    if (CI) {
      say('demo ok');
      stopAll();
      return;
    }
    say('');
    say(`The cluster keeps running: watch it at http://127.0.0.1:${proxy.managerPort}/mod_cluster-manager`);
    say('Ctrl-C stops mcmp-edge and the workers.');
  } catch (err) {
    say(`demo FAILED: ${(err as Error).message}`);
    stopAll();
    process.exitCode = 1;
  }
}

void main();

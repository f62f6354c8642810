// The real mcmp-edge command with two real Tomcats registered over MCMP: node
// "a" as Type=ajp (its AJP connector that requires AJPSecret), node "b" as
// Type=http, both serving /demo. Balanced by Load, sticky by JSESSIONID=…a,
// drained by STOP-APP, failover to the HTTP node when the AJP node dies; INFO
// counts the AJP traffic; a wrong AJPSecret gets Tomcat's 403 and no secret
// ever reaches the logs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { fetchText, newAgent } from '../forward/fixtures';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { AJP_SECRET, CONTEXT, startTomcat, tomcatMissing, type Tomcat } from '../helpers/tomcat';

const missing = tomcatMissing();
const skip = missing === null ? false : `why: ${missing}`;
const WRONG_SECRET = 'not-the-secret-42';

let a: Tomcat;
let b: Tomcat;
let proxy: ProxyProcess;
let agent: Agent;

async function mcmp(p: ProxyProcess, method: string, body: string): Promise<{ status: number; body: string }> {
  const ex = await sendRaw(p.managerPort, mcmpRequest(method, body), { expect: 1, timeoutMs: 30_000 });
  const r = ex.responses[0];
  assert.ok(r !== undefined, `${method}: no answer`);
  return { status: r.status, body: r.body.toString('latin1') };
}

async function register(p: ProxyProcess, route: string, port: number, type: string, load: number): Promise<void> {
  assert.equal((await mcmp(p, 'CONFIG', `JVMRoute=${route}&Host=127.0.0.1&Port=${port}&Type=${type}&StickySessionForce=No&ping=5&Timeout=30`)).status, 200);
  assert.equal((await mcmp(p, 'ENABLE-APP', `JVMRoute=${route}&Alias=localhost&Context=${CONTEXT}`)).status, 200);
  assert.equal((await mcmp(p, 'STATUS', `JVMRoute=${route}&Load=${load}`)).status, 200);
}

/** Which Tomcat answered (the echo servlet's route field). */
async function who(path: string, headers: Record<string, string> = {}): Promise<{ route: string; status: number; setCookie: string }> {
  const r = await fetchText(agent, proxy !== undefined ? `http://127.0.0.1:${proxy.listenPort}` : '', path, { headers: { host: 'localhost', ...headers } });
  const route = r.status === 200 ? (JSON.parse(r.body) as { route: string }).route : '';
  return { route, status: r.status, setCookie: String(r.headers['set-cookie'] ?? '') };
}

before(async () => {
  if (missing !== null) return;
  [a, b] = await Promise.all([startTomcat({ jvmRoute: 'a' }), startTomcat({ jvmRoute: 'b' })]);
  proxy = await startProxy(['--threads', '1', '--log-level', 'debug', '--set', `AJPSecret=${AJP_SECRET}`], 60_000);
  await register(proxy, 'a', a.ajpSecretPort, 'ajp', 100);
  await register(proxy, 'b', b.httpPort, 'http', 50);
  agent = newAgent(4);
}, { timeout: 240_000 });

after(async () => {
  if (missing !== null) return;
  await agent?.close();
  await proxy?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
}, { timeout: 60_000 });

test('balanced by Load (100 vs 50) between the AJP and the HTTP node; INFO counts the AJP traffic', { skip, timeout: 120_000 }, async () => {
  const count = new Map<string, number>();
  for (let i = 0; i < 150; i++) {
    const r = await who(`${CONTEXT}/lb${i}`);
    assert.equal(r.status, 200);
    count.set(r.route, (count.get(r.route) ?? 0) + 1);
  }
  const ratio = (count.get('a') ?? 0) / Math.max(1, count.get('b') ?? 0);
  assert.ok(ratio > 1.5 && ratio < 2.7, `a:b = ${count.get('a')}:${count.get('b')}`);
  const info = await mcmp(proxy, 'INFO', '');
  const row = /^Node: \[\d+\],Name: a,.*Type: ajp,.*Elected: (\d+),Read: (\d+),Transfered: \d+,/m.exec(info.body);
  assert.ok(row !== null, info.body);
  assert.ok(Number(row[1]) >= (count.get('a') ?? 0), 'Elected counts the AJP requests');
  assert.ok(Number(row[2]) > 0, 'Read counts the AJP response bytes');
});

test('sticky by JSESSIONID=…a: every request of the session goes to the AJP node', { skip, timeout: 120_000 }, async () => {
  let cookie = '';
  for (let i = 0; i < 30 && cookie === ''; i++) {
    const r = await who(`${CONTEXT}/s?session=1`);
    if (r.route === 'a') cookie = /JSESSIONID=[^;]+/.exec(r.setCookie)?.[0] ?? '';
  }
  assert.match(cookie, /^JSESSIONID=[0-9A-F]+\.a$/);
  for (let i = 0; i < 20; i++) assert.equal((await who(`${CONTEXT}/s${i}`, { cookie })).route, 'a');
});

test('drained by STOP-APP: the running AJP request is counted, new ones go to the HTTP node', { skip, timeout: 120_000 }, async () => {
  let cookie = '';
  for (let i = 0; i < 30 && cookie === ''; i++) {
    const r = await who(`${CONTEXT}/d?session=1`);
    if (r.route === 'a') cookie = /JSESSIONID=[^;]+/.exec(r.setCookie)?.[0] ?? '';
  }
  const slow = who(`${CONTEXT}/slow?hold=3000`, { cookie });
  await new Promise((r) => setTimeout(r, 1000));
  const stop = await mcmp(proxy, 'STOP-APP', `JVMRoute=a&Alias=localhost&Context=${CONTEXT}`);
  assert.equal(stop.status, 200);
  assert.match(stop.body, /Requests=1(&|\s*$)/);
  for (let i = 0; i < 10; i++) assert.equal((await who(`${CONTEXT}/after${i}`)).route, 'b');
  assert.equal((await slow).route, 'a', 'the running request finished on the AJP node');
  const again = await mcmp(proxy, 'STOP-APP', `JVMRoute=a&Alias=localhost&Context=${CONTEXT}`);
  assert.match(again.body, /Requests=0(&|\s*$)/);
  assert.equal((await mcmp(proxy, 'ENABLE-APP', `JVMRoute=a&Alias=localhost&Context=${CONTEXT}`)).status, 200);
});

test('AJPSecret: the right one is accepted (above), a wrong one gets Tomcat\'s 403; neither is ever logged', { skip, timeout: 120_000 }, async () => {
  const wrong = await startProxy(['--threads', '1', '--log-level', 'debug', '--set', `AJPSecret=${WRONG_SECRET}`], 60_000);
  try {
    await register(wrong, 'a', a.ajpSecretPort, 'ajp', 100);
    const r = await fetchText(agent, `http://127.0.0.1:${wrong.listenPort}`, `${CONTEXT}/x`, { headers: { host: 'localhost' } });
    assert.equal(r.status, 403);
    // Tomcat's own refusal is an ordinary response: the node is not in error, it still answers CPING.
    assert.equal((await mcmp(wrong, 'STATUS', 'JVMRoute=a&Load=100')).status, 200);
  } finally {
    await wrong.stop();
  }
  for (const line of [...proxy.logs, ...wrong.logs].map((l) => JSON.stringify(l))) {
    assert.ok(!line.includes(AJP_SECRET) && !line.includes(WRONG_SECRET), `a secret in the logs: ${line}`);
  }
  assert.ok(proxy.logs.length + wrong.logs.length > 10, 'debug logging was on');
});

test('failover: the AJP node dies, GETs (also those of its sessions) go to the HTTP node of the same context', { skip, timeout: 120_000 }, async () => {
  let cookie = '';
  for (let i = 0; i < 30 && cookie === ''; i++) {
    const r = await who(`${CONTEXT}/f?session=1`);
    if (r.route === 'a') cookie = /JSESSIONID=[^;]+/.exec(r.setCookie)?.[0] ?? '';
  }
  a.kill();
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 10; i++) {
    const r = await who(`${CONTEXT}/fo${i}`, i % 2 === 0 ? { cookie } : {});
    assert.equal(r.status, 200);
    assert.equal(r.route, 'b');
  }
});

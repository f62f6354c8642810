// The agent's MCMP compared with the Java listener's, request by request, as
// the reference trace recorded them (phases A, B, C), against a fake MCMP
// endpoint that answers with mod_proxy_cluster's bytes. Only what must differ
// is normalised: the node's port and the Load values (the route, host,
// balancer, aliases and contexts are configured as the trace's Tomcat was).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ClusterAgent, type ClusterAgentOptions } from '../../src/agent';
import { FakeMcmpProxy, type RecordedRequest } from './fake-mcmp-proxy';
import { traceConfigBytes, traceRequests, traceText, type TraceRequest } from './trace';

let server: http.Server | undefined;
let nodePort: number;

before(async () => {
  // Read first: without the trace every test fails at once instead of leaving
  // an agent polling a fake that no test will stop.
  traceText();
  const node = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => node.listen(0, '127.0.0.1', r));
  nodePort = (node.address() as AddressInfo).port;
  server = node;
});

after(() => new Promise<void>((r) => (server === undefined ? r() : server.close(() => r()))));

function agentFor(fake: FakeMcmpProxy, extra: Partial<ClusterAgentOptions> = {}): ClusterAgent {
  assert.ok(server !== undefined);
  // The trace's Tomcat: jvmRoute tomcat1, balancer mycluster, Host "localhost", webapp /demo.
  return new ClusterAgent({ server, route: 'tomcat1', balancer: 'mycluster', aliases: ['localhost'], contexts: ['/demo'], proxies: [`127.0.0.1:${fake.port}`], statusInterval: 150, ...extra });
}

function norm(method: string, target: string, body: string, answer: string): string {
  const b = body.replace(`Port=${nodePort}`, 'Port=P').replace('Port=17110', 'Port=P').replace(/Load=\d+/, 'Load=L');
  return `${method} ${target} ${b} => ${answer}`;
}

const fromTrace = (r: TraceRequest): string => norm(r.method, r.target, r.body, r.answer);
const fromAgent = (r: RecordedRequest): string => norm(r.method, r.target, r.decoded, r.answer === 'close' ? 'close' : r.answer.startsWith('200') ? '200' : r.answer.trim());

/** Runs of STATUS collapse to one: how many fall between two events is a matter of timing. */
function collapseStatus(seq: string[]): string[] {
  return seq.filter((s, i) => !(s.startsWith('STATUS') && seq[i - 1]?.startsWith('STATUS') === true && seq[i - 1] === s));
}

const countOf = (reqs: RecordedRequest[], method: string): number => reqs.filter((r) => r.method === method).length;

test('every request head is the Java listener\'s: CONFIG byte for byte as in the trace, no Content-Type, Content-Length only with a body', async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = agentFor(fake);
  await agent.start();
  await agent.stop();
  await fake.close();
  const config = fake.requests.find((r) => r.method === 'CONFIG');
  assert.ok(config !== undefined);
  const expected = traceConfigBytes().replace('Host: 127.0.0.1:17101', `Host: 127.0.0.1:${fake.port}`).replace('Port=17110', `Port=${nodePort}`).replace('Content-Length: 93', `Content-Length: ${93 - 5 + String(nodePort).length}`);
  assert.equal(config.head + config.body, expected);
  for (const r of fake.requests) {
    const lines = r.head.split('\r\n');
    const withBody = r.body.length > 0 ? [`Content-Length: ${r.body.length}`] : [];
    assert.deepEqual(lines, [`${r.method} ${r.target} HTTP/1.1`, `Host: 127.0.0.1:${fake.port}`, ...withBody, 'User-Agent: ClusterListener/1.0', 'Connection: Keep-Alive', '', ''], r.method);
  }
  // URLEncoder form on the wire: `/` is %2F (the trace's phase D relay shows `Context=%2Fdemo`).
  assert.equal(fake.requests.find((r) => r.method === 'ENABLE-APP')?.body, 'JVMRoute=tomcat1&Alias=localhost&Context=%2Fdemo');
  assert.deepEqual(new Set(fake.requests.map((r) => r.conn)), new Set([1]), 'one keep-alive connection');
});

test('phase A: first contact, steady state, deploy, drained undeploy and shutdown in the trace\'s order', async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = agentFor(fake);
  await agent.start();
  await fake.until((r) => countOf(r, 'STATUS') >= 3, 'steady-state STATUS');
  await agent.enableContext('/demo2');
  const after2 = fake.requests.length;
  await fake.until((r) => r.slice(after2).some((x) => x.method === 'STATUS'), 'a STATUS after the deploy');
  assert.equal(await agent.removeContext('/demo2'), true);
  assert.equal(await agent.stop(), true);
  await fake.close();
  const expected = traceRequests('PHASE A: starting Tomcat', "A'. SAME RUN").map(fromTrace);
  const actual = fake.requests.map(fromAgent);
  // Registration ends with STATUS, as in the trace; after the first shutdown DISABLE-APP no STATUS is sent.
  assert.deepEqual(actual.slice(0, 4), expected.slice(0, 4));
  const firstShutdown = actual.findIndex((s) => s.startsWith('DISABLE-APP / JVMRoute=tomcat1&Alias=localhost&Context=/demo '));
  assert.ok(actual.slice(firstShutdown).every((s) => !s.startsWith('STATUS')));
  const withoutStatus = (seq: string[]): string[] => seq.filter((s) => !s.startsWith('STATUS'));
  assert.deepEqual(withoutStatus(actual), withoutStatus(expected));
  assert.deepEqual(collapseStatus(actual).filter((s, i, a) => s.startsWith('STATUS') && a[i - 1]?.startsWith('ENABLE-APP') === true).length, 2, 'a STATUS follows registration and the deploy, as in the trace');
});

/** Injects `setup`, then compares the requests from the faulted one on with the trace's phase `mark`. */
async function phaseB(mark: string, next: string, setup: (fake: FakeMcmpProxy, agent: ClusterAgent) => Promise<void> | void): Promise<{ actual: string[]; expected: string[]; fake: FakeMcmpProxy; agent: ClusterAgent }> {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = agentFor(fake, { statusInterval: 300 });
  await agent.start();
  await fake.until((r) => countOf(r, 'STATUS') >= 2, 'steady state');
  const from = fake.requests.length;
  await setup(fake, agent);
  const expected = traceRequests(`MARK: ${mark}:`, `MARK: ${next}:`).map(fromTrace);
  await fake.until((r) => r.length - from >= expected.length, `${expected.length} requests after the fault`);
  const actual = fake.requests.slice(from, from + expected.length).map(fromAgent);
  return { actual, expected, fake, agent };
}

for (const [mark, next, method, fault] of [
  ['B1', 'B2', 'STATUS', 'MEM'],
  ['B2', 'B3', 'STATUS', 'GENERAL'],
  ['B3', 'B4', 'STATUS', '404'],
  ['B4', 'B5', 'STATUS', 'close'],
] as const) {
  test(`phase ${mark}: STATUS answered ${fault} — recovered as the Java listener does`, async () => {
    const { actual, expected, fake, agent } = await phaseB(mark, next, (f) => f.fault(method, fault));
    await agent.stop();
    await fake.close();
    assert.deepEqual(actual, expected);
  });
}

test('phase B6: STATUS and then the recovery INFO answered MEM — INFO again, then the reset', async () => {
  const { actual, expected, fake, agent } = await phaseB('B6', 'B7', (f) => {
    f.fault('STATUS', 'MEM');
    f.fault('INFO', 'MEM');
  });
  await agent.stop();
  await fake.close();
  assert.deepEqual(actual, expected);
});

test('phase B7: the proxy is down, then back with an empty table — full re-registration', async () => {
  const fake = new FakeMcmpProxy();
  const port = await fake.listen();
  const agent = agentFor(fake, { statusInterval: 300 });
  await agent.start();
  await fake.close();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(agent.proxies[0]?.state, 'error');
  const back = new FakeMcmpProxy();
  await back.listen(port);
  await back.until((r) => countOf(r, 'STATUS') >= 1, 're-registration');
  const expected = traceRequests('MARK: B7:', 'MARK: B8:').map(fromTrace);
  assert.deepEqual(back.requests.slice(0, expected.length).map(fromAgent), expected);
  await agent.stop();
  await back.close();
});

test('phase B8: the proxy restarted between two STATUS and lost the node — MEM, then re-registration', async () => {
  const { actual, expected, fake, agent } = await phaseB('B8', 'B9', (f) => f.forgetEverything());
  await agent.stop();
  await fake.close();
  assert.deepEqual(actual, expected);
});

test('phase B9: a deploy answered MEM — the reset enables only what INFO does not show enabled', async () => {
  const { actual, expected, fake, agent } = await phaseB('B9', 'B10', async (f, a) => {
    f.fault('ENABLE-APP', 'MEM');
    await a.enableContext('/demo2');
  });
  await agent.stop();
  await fake.close();
  // The trace has one more periodic STATUS before the deploy; ours starts at the deploy.
  assert.deepEqual(actual.slice(0, -1), expected.slice(1));
});

test('phase B11: undeploy while STOP-APP reports Requests=1 — STOP-APP repeated until the timeout, then REMOVE-APP', async () => {
  const fake = new FakeMcmpProxy();
  await fake.listen();
  const agent = agentFor(fake, { statusInterval: 60_000, contexts: ['/demo', '/demo2'] });
  await agent.start();
  fake.stopAppRequests = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const from = fake.requests.length;
  assert.equal(await agent.removeContext('/demo2', 2000), false, 'not drained within the timeout');
  const actual = fake.requests.slice(from).map(fromAgent);
  const expected = traceRequests('MARK: B11:', 'MARK: B12:').map(fromTrace).filter((s) => !s.startsWith('STATUS'));
  const collapse = (seq: string[]): string[] => seq.filter((s, i) => s !== seq[i - 1]);
  assert.deepEqual(collapse(actual), collapse(expected));
  assert.ok(actual.filter((s) => s.startsWith('STOP-APP')).length >= 2);
  await agent.stop({ timeout: 0 });
  await fake.close();
});

test('phases B12–B13: SYNTAX puts the proxy DOWN — silent from then on, nothing at shutdown', async () => {
  const { actual, expected, fake, agent } = await phaseB('B12', 'B13', (f) => f.fault('STATUS', 'SYNTAX'));
  assert.deepEqual(actual, expected);
  await new Promise((r) => setTimeout(r, 1200));
  const seen = fake.requests.length;
  assert.equal(agent.proxies[0]?.state, 'down');
  await agent.stop();
  assert.equal(fake.requests.length, seen, 'nothing sent to a DOWN proxy, not even at shutdown');
  await fake.close();
});

test('phase C: httpd framing (chunked, idle connections closed) — the same sequence, each request answered', async () => {
  const fake = new FakeMcmpProxy({ idleCloseMs: 100 });
  await fake.listen();
  const agent = agentFor(fake, { statusInterval: 250 });
  await agent.start();
  await fake.until((r) => countOf(r, 'STATUS') >= 3, 'STATUS across closed connections');
  assert.equal(await agent.stop(), true);
  await fake.close();
  const expected = [...traceRequests('PHASE C: starting', 'MARK: C1:'), ...traceRequests('MARK: C2:', 'MARK: Tomcat stopped')].map(fromTrace);
  const actual = fake.requests.map(fromAgent);
  assert.deepEqual(collapseStatus(actual), collapseStatus(expected));
  assert.ok(fake.connections.length >= 3, 'idle connections were closed and reopened');
  assert.ok(fake.requests.every((r) => r.answer.startsWith('200')));
});

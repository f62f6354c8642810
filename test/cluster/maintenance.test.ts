// The maintenance tick with an injected clock: no real waiting for the 10 s
// and 20 s removal timers. Probes are real (closed ports, loopback servers)
// unless a test needs to hold one open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Maintenance, MAX_IDLE_FAILURES } from '../../src/cluster/maintenance';
import type { NodeProber } from '../../src/cluster/probe';
import { NodeFlag } from '../../src/slots/counters';
import { closedPort, Harness, httpBackend } from '../mcmp/harness';
import { referenceCluster } from '../mcmp/reference-cluster';

function maintenance(h: Harness, prober: NodeProber = h.prober): Maintenance {
  return new Maintenance({ state: h.state, counters: h.counters, prober, directives: h.directives, logger: h.logger });
}

const inError = (h: Harness, id: number): boolean => (h.counters.flags(id) & NodeFlag.InError) !== 0;

async function removedNode(directives: Array<readonly [string, unknown]> = []): Promise<Harness> {
  const h = new Harness({ directives: [['EnableOptions', 'Off'], ...directives] });
  await h.ok('CONFIG', 'JVMRoute=node2&Host=127.0.0.1&Port=17011&Type=http&Domain=dom');
  await h.ok('ENABLE-APP', 'JVMRoute=node2&Alias=localhost&Context=/app');
  await h.ok('REMOVE-APP', 'JVMRoute=node2', { target: '/*' });
  return h;
}

test('a removed node keeps its route until WaitBeforeRemove, then becomes the REMOVED placeholder with its Domain cleared', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  h.clock.advance(9.999);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'node2');
  h.clock.advance(0.001);
  await m.tick();
  const n = h.state.node(0);
  assert.equal(n?.route, 'REMOVED');
  assert.equal(n?.domain, '');
  assert.equal(n?.removed, true);
  assert.match(await h.info(), /^Node: \[0\],Name: REMOVED,Balancer: mycluster,LBGroup: ,Host: 127\.0\.0\.1,Port: 17011,/);
});

test('the placeholder slot is freed at twice WaitBeforeRemove (visible at 11 s, gone by 25 s as the Perl suite checks)', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  for (let s = 1; s <= 25; s++) {
    h.clock.advance(1);
    await m.tick();
    const info = await h.info();
    if (s === 11) assert.match(info, /Name: REMOVED/);
    if (s === 19) assert.match(info, /Name: REMOVED/, 'still there before 20 s');
    if (s === 20) assert.equal(info, '', 'freed at 20 s');
  }
  assert.equal(await h.dump(), 'balancer: [0] Name: mycluster Sticky: 1 [JSESSIONID]/[jsessionid] remove: 0 force: 1 Timeout: 0 maxAttempts: 1\n', 'the balancer row outlives its nodes');
});

test('a placeholder with requests still running keeps its slot until they end', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  h.counters.beginRequest(0, -1);
  h.clock.advance(10);
  await m.tick();
  h.clock.advance(10);
  await m.tick();
  h.clock.advance(30);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'REMOVED');
  h.counters.endRequest(0, -1);
  h.clock.advance(1);
  await m.tick();
  assert.equal(h.state.node(0), undefined);
});

test('WaitBeforeRemove sets both timers', async () => {
  const h = await removedNode([['WaitBeforeRemove', 30]]);
  const m = maintenance(h);
  h.clock.advance(29);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'node2');
  h.clock.advance(1);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'REMOVED');
  h.clock.advance(29);
  await m.tick();
  assert.ok(h.state.node(0));
  h.clock.advance(1);
  await m.tick();
  assert.equal(h.state.node(0), undefined);
});

test('the removal steps are published: the threads see the placeholder and the freed slot', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  h.clock.advance(10);
  await m.tick();
  assert.equal(h.tables.reader.snapshot().nodes[0]?.route, 'REMOVED');
  h.clock.advance(10);
  await m.tick();
  assert.equal(h.tables.reader.snapshot().nodes[0], undefined);
});

test('a removed node is put in error by the next tick', async () => {
  const h = await removedNode();
  assert.equal(inError(h, 0), false);
  await maintenance(h).tick();
  assert.equal(inError(h, 0), true);
});

test('INFO and DUMP 12 s after a removal match httpd (reference exchanges 73 and 74)', async () => {
  const h = await referenceCluster();
  const m = maintenance(h);
  for (const route of ['probe-foo', 'probe-lower', 'probe-udp']) await h.ok('REMOVE-APP', `JVMRoute=${route}`, { target: '/*' });
  await h.ok('CONFIG', 'JVMRoute=node2&Host=127.0.0.1&Port=17011&Type=http');
  await h.ok('REMOVE-APP', 'JVMRoute=node2', { target: '/*' });
  for (let s = 0; s < 12; s++) {
    h.clock.advance(1);
    await m.tick();
  }
  const row = (id: number, name: string, port: number, type: string, rest = 'Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 0'): string =>
    `Node: [${id}],Name: ${name},Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: ${port},Type: ${type},Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,${rest}\n`;
  assert.equal(
    await h.info(),
    row(0, 'REMOVED', 17098, 'ajp') +
      row(1, 'REMOVED', 17096, 'udp') +
      row(2, 'REMOVED', 17097, 'ajp') +
      row(3, 'node1', 17010, 'ws', 'Elected: 1,Read: 56,Transfered: 199,Connected: 0,Load: 100') +
      row(4, 'REMOVED', 17011, 'ws') +
      'Vhost: [3:1:0], Alias: localhost\nVhost: [3:2:1], Alias: 127.0.0.1\nContext: [3:1:0], Context: /app, Status: ENABLED\nContext: [3:2:1], Context: /app, Status: ENABLED\n',
  );
  assert.match(await h.dump(), /\nnode: \[4:4\],Balancer: mycluster,JVMRoute: REMOVED,LBGroup: \[\],Host: 127\.0\.0\.1,Port: 17011,Type: ws,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n/);
});

test('during the placeholder phase a CONFIG on the same address under any route takes the slot over', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  h.clock.advance(10);
  await m.tick();
  await h.ok('CONFIG', 'JVMRoute=fresh&Host=127.0.0.1&Port=17011&Type=http');
  assert.deepEqual(
    h.state.nodes().map((n) => [n.id, n.route, n.removed]),
    [[0, 'fresh', false]],
  );
  h.clock.advance(30);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'fresh', 'the revived node is not freed');
});

test('lbstatus is recalculated every LBstatusRecalTime from the elections of the window', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('STATUS', 'JVMRoute=n&Load=50');
  const m = maintenance(h);
  for (let i = 0; i < 10; i++) h.counters.addElected(0);
  h.clock.advance(4);
  await m.tick();
  assert.equal(h.counters.lbstatus(0), 0, 'not yet 5 s');
  h.clock.advance(1);
  await m.tick();
  assert.equal(h.counters.lbstatus(0), 200, '10 elections × 1000 / 50');
  assert.equal(h.counters.oldElected(0), 10);
  h.clock.advance(5);
  await m.tick();
  assert.equal(h.counters.lbstatus(0), 0, 'an empty window');
});

test('an idle node is probed at each recalculation; failures put it in error and count up', async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=n&Host=127.0.0.1&Port=${port}&Type=http`);
  const m = maintenance(h);
  h.clock.advance(5);
  await m.tick();
  assert.equal(inError(h, 0), true);
  assert.equal(h.state.bookkeeping(0).idleFailures, 1);
  h.clock.advance(5);
  await m.tick();
  assert.equal(h.state.bookkeeping(0).idleFailures, 2);
});

test(`more than ${MAX_IDLE_FAILURES} failed idle probes in a row mark the node removed, and the removal life cycle follows`, async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=n&Host=127.0.0.1&Port=${port}&Type=http`);
  await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=a&Context=/x');
  const m = maintenance(h);
  for (let i = 1; i <= MAX_IDLE_FAILURES; i++) {
    h.clock.advance(5);
    await m.tick();
  }
  assert.equal(h.state.node(0)?.removed, false, `${MAX_IDLE_FAILURES} failures are tolerated`);
  h.clock.advance(5);
  await m.tick();
  assert.equal(h.state.node(0)?.removed, true);
  assert.equal(h.state.contexts().length, 1, 'contexts stay until the placeholder phase');
  assert.ok(h.logs.some((l) => l.level === 40 && l.msg.includes('idle probe')));
  h.clock.advance(10);
  await m.tick();
  assert.equal(h.state.node(0)?.route, 'REMOVED');
  assert.deepEqual(h.state.contexts(), []);
});

test('traffic in the window resets the failure count and skips the probe', async (t) => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=n&Host=127.0.0.1&Port=${port}&Type=http`);
  const m = maintenance(h);
  h.clock.advance(5);
  await m.tick();
  assert.equal(h.state.bookkeeping(0).idleFailures, 1);
  h.counters.addRead(0, 100);
  h.clock.advance(5);
  await m.tick();
  assert.equal(h.state.bookkeeping(0).idleFailures, 0);
  const backend = await httpBackend();
  t.after(() => backend.close());
  await h.ok('CONFIG', `JVMRoute=busy&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  h.counters.addRead(1, 1);
  h.clock.advance(5);
  h.counters.addRead(1, 1);
  await m.tick();
  assert.deepEqual(backend.requests, [], 'a node with traffic is not probed');
});

test('a successful idle probe resets the failure count but does not clear the error flag', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=n&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  h.counters.markError(0, 1);
  h.state.bookkeeping(0).idleFailures = 7;
  const m = maintenance(h);
  h.clock.advance(5);
  await m.tick();
  assert.deepEqual(backend.requests, ['OPTIONS * HTTP/1.1']);
  assert.equal(h.state.bookkeeping(0).idleFailures, 0);
  assert.equal(inError(h, 0), true);
});

test('a probe still running is not started again by the next tick', async () => {
  let started = 0;
  const release: Array<(ok: boolean) => void> = [];
  const prober: NodeProber = {
    probe: () => {
      started++;
      return new Promise<boolean>((resolve) => release.push(resolve));
    },
  };
  const h = new Harness({ prober });
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  const m = maintenance(h, prober);
  h.clock.advance(5);
  const first = m.tick();
  h.clock.advance(5);
  const second = m.tick();
  assert.equal(started, 1);
  for (const r of release) r(false);
  await Promise.all([first, second]);
  assert.equal(h.state.bookkeeping(0).idleFailures, 1);
});

test('a probe result for a slot that changed hands meanwhile is dropped', async () => {
  const release: Array<(ok: boolean) => void> = [];
  const prober: NodeProber = { probe: () => new Promise<boolean>((resolve) => release.push(resolve)) };
  const h = new Harness({ prober });
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  const m = maintenance(h, prober);
  h.clock.advance(5);
  const pending = m.tick();
  h.state.deleteNode(0);
  await h.ok('CONFIG', 'JVMRoute=other&Host=127.0.0.1&Port=9001&Type=http');
  for (const r of release) r(false);
  await pending;
  assert.equal(h.state.bookkeeping(0).idleFailures, 0);
  assert.equal(inError(h, 0), false);
});

test('NodeTimeout puts a node without STATUS for that long in error, once, and a STATUS re-arms it', async () => {
  const h = new Harness({ directives: [['NodeTimeout', 30], ['EnableOptions', 'Off'], ['LBstatusRecalTime', 86400]] });
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('STATUS', 'JVMRoute=n&Load=80');
  const m = maintenance(h);
  h.clock.advance(29);
  await m.tick();
  assert.equal(inError(h, 0), false);
  h.clock.advance(1);
  await m.tick();
  assert.equal(inError(h, 0), true);
  assert.equal(h.logs.filter((l) => l.msg.includes('NodeTimeout')).length, 1);
  h.clock.advance(10);
  await m.tick();
  assert.equal(h.logs.filter((l) => l.msg.includes('NodeTimeout')).length, 1, 'reported once per silence');
  await h.ok('STATUS', 'JVMRoute=n&Load=80');
  assert.equal(inError(h, 0), false);
  h.clock.advance(30);
  await m.tick();
  assert.equal(inError(h, 0), true);
});

test('NodeTimeout 0 (the default) never puts a node in error', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off'], ['LBstatusRecalTime', 86400]] });
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  const m = maintenance(h);
  h.clock.advance(3600);
  await m.tick();
  assert.equal(inError(h, 0), false);
});

test('the tick purges session ids older than 300 s', async () => {
  const h = new Harness({ directives: [['Maxsessionid', 5]] });
  h.state.recordSession('S.n', 'n');
  const m = maintenance(h);
  h.clock.advance(301);
  await m.tick();
  assert.deepEqual(h.state.sessions(), []);
});

test('start() runs the tick periodically and stop() ends it', async () => {
  const h = await removedNode();
  const m = maintenance(h);
  h.clock.advance(10);
  m.start(5);
  const deadline = Date.now() + 2000;
  while (h.state.node(0)?.route !== 'REMOVED' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  m.stop();
  assert.equal(h.state.node(0)?.route, 'REMOVED');
  h.clock.advance(10);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(h.state.node(0), 'no tick after stop()');
});

test('idle probes use the AJP CPING for ajp nodes', async (t) => {
  const seen: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (d: Buffer) => (seen.push(d), s.write(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09])))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=a&Host=127.0.0.1&Port=${(server.address() as net.AddressInfo).port}&Type=ajp`);
  h.counters.markError(0, 1);
  h.state.bookkeeping(0).idleFailures = 3;
  const m = maintenance(h);
  h.clock.advance(5);
  await m.tick();
  assert.deepEqual(seen, [Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a])]);
  assert.equal(h.state.bookkeeping(0).idleFailures, 0);
});

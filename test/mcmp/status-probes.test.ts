// STATUS's node check shared between STATUS of the same node (README "STATUS
// probes"): one probe in flight per node, a success reused for
// StatusProbeReuse ms unless the node was put in error since, failures never
// reused. Real loopback back ends count the probes they see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { NODE_CONFIG_DEFAULTS } from '../../src/cluster/defaults';
import { StatusProbes } from '../../src/cluster/status-probes';
import type { NodeRow } from '../../src/slots/rows';
import { NodeFlag } from '../../src/slots/counters';
import { Harness, header, httpBackend } from './harness';

const status = (h: Harness, load = 100): Promise<string> => h.ok('STATUS', `JVMRoute=node1&Load=${load}`);

/** A node that accepts and closes at once: probed, never answers (HTTP probe failure). Counts connections. */
async function silentNode(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('50 concurrent STATUS for one node share one probe and all answer OK', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  const bodies = await Promise.all(Array.from({ length: 50 }, () => status(h)));
  assert.ok(bodies.every((b) => b.includes('&State=OK&')), bodies.join(''));
  assert.equal(backend.requests.length, 1);
});

test('a success is reused within StatusProbeReuse and the node is probed again after it', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness({ directives: [['StatusProbeReuse', 500]] });
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  await status(h, 40);
  h.clock.advance(0.499);
  assert.match(await status(h, 41), /State=OK/);
  assert.equal(backend.requests.length, 1, 'reused');
  assert.equal(h.counters.lbfactor(0), 41, 'the load of a STATUS answered by a reused probe applies');
  h.clock.advance(0.001);
  await status(h, 42);
  assert.equal(backend.requests.length, 2, 'probed again once the window passed');
});

test('a dead node gives NOTOK once the window passed, to every STATUS, and again at the next one', async () => {
  const backend = await httpBackend();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.match(await status(h), /State=OK/);
  await backend.close();
  h.clock.advance(1);
  const bodies = await Promise.all(Array.from({ length: 20 }, () => status(h)));
  assert.ok(bodies.every((b) => b.includes('&State=NOTOK&')), bodies.join(''));
  assert.ok((h.counters.flags(0) & NodeFlag.InError) !== 0);
  // A failure is not reused: the next STATUS probes again (and fails again).
  assert.match(await status(h), /State=NOTOK/);
});

test('an error marked after a successful probe (a request failed) makes the next STATUS probe again, within the window', async () => {
  let answer = true;
  let probes = 0;
  const prober = {
    probe: async (): Promise<boolean> => {
      probes++;
      return answer;
    },
  };
  const h = new Harness({ prober });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  h.clock.advance(1); // the probe starts in a later second than anything marked before
  assert.match(await status(h), /State=OK/);
  // What the forwarding thread does on a connection failure.
  h.counters.markError(0, Math.floor(h.clock.now() / 1000));
  answer = false;
  assert.match(await status(h), /State=NOTOK/);
  assert.equal(probes, 2);
});

test('failures are never reused: a node that comes back answers OK at the next STATUS', async () => {
  const answers = [false, true];
  let probes = 0;
  const h = new Harness({ prober: { probe: async () => answers[probes++] ?? true } });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  assert.match(await status(h), /State=NOTOK/);
  assert.match(await status(h), /State=OK/);
  assert.equal(probes, 2);
  assert.equal(h.counters.flags(0) & NodeFlag.InError, 0, 'Load 100 after the passing probe clears the error');
});

test('STATUS arriving while a probe runs wait for its verdict, a failing one included', async () => {
  const node = await silentNode();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${node.port}&Type=http`);
  try {
    const bodies = await Promise.all(Array.from({ length: 30 }, () => status(h)));
    assert.ok(bodies.every((b) => b.includes('&State=NOTOK&')), bodies.join(''));
    assert.equal(node.connections(), 1);
  } finally {
    await node.close();
  }
});

test('StatusProbeReuse 0: every sequential STATUS probes', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness({ directives: [['StatusProbeReuse', 0]] });
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  for (let i = 0; i < 3; i++) await status(h);
  assert.equal(backend.requests.length, 3);
});

test('a slot whose node changed (generation, address) is probed anew, not answered from the probe before', async () => {
  const probed: number[] = [];
  const probes = new StatusProbes({
    prober: { probe: async (node) => (probed.push(node.port), true) },
    reuseMs: () => 1000,
    errorTime: () => 0,
    now: () => 1_800_000_000_000,
  });
  const row: NodeRow = { ...NODE_CONFIG_DEFAULTS, id: 3, route: 'node1', balancer: 'mycluster', removed: false, host: '127.0.0.1', port: 9001, type: 'http' };
  assert.equal(await probes.check(row, 1), true);
  assert.equal(await probes.check(row, 1), true);
  assert.deepEqual(probed, [9001], 'the same node: reused');
  await probes.check({ ...row, port: 9002 }, 1);
  await probes.check({ ...row, port: 9002 }, 2);
  await probes.check({ ...row, port: 9002, route: 'node2' }, 2);
  assert.deepEqual(probed, [9001, 9002, 9002, 9002]);
  assert.equal(probes.started, 4);
});

/** One STATUS straight through McmpHandler.handle, as the listener calls it (value or promise). */
function handleStatus(h: Harness, body: string): ReturnType<Harness['handler']['handle']> {
  return h.handler.handle({ methodUpper: 'STATUS', target: '/', accept: '', body: Buffer.from(body), bodyTooLarge: false, peer: '127.0.0.1:40000' });
}

test('a STATUS answered from a reused probe comes back without a promise and says exactly what the probing one said', async () => {
  let probes = 0;
  const h = new Harness({ prober: { probe: async () => (probes++, true) } });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  h.clock.advance(1);
  const probing = handleStatus(h, 'JVMRoute=node1&Load=40');
  assert.ok(probing instanceof Promise, 'the first STATUS waits for its probe');
  const asyncReply = await probing;
  assert.equal(h.counters.lbfactor(0), 40);
  const direct = handleStatus(h, 'JVMRoute=node1&Load=41');
  assert.ok(!(direct instanceof Promise), 'a STATUS within StatusProbeReuse is answered at once');
  assert.equal(h.counters.lbfactor(0), 41, 'its load applies at once');
  assert.deepEqual(direct, asyncReply, 'same status, headers and body');
  assert.equal(probes, 1);
  // Errors of the synchronous path are the same replies too.
  const unknown = handleStatus(h, 'JVMRoute=nodeX&Load=41');
  assert.ok(!(unknown instanceof Promise));
  assert.equal(unknown.status, 500);
  assert.equal(header(unknown, 'Type'), 'MEM');
});

test('no answer without a probe once the window passed, the node was put in error, or with StatusProbeReuse 0', async () => {
  let probes = 0;
  const h = new Harness({ prober: { probe: async () => (probes++, true) }, directives: [['StatusProbeReuse', 500]] });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  h.clock.advance(1);
  await handleStatus(h, 'JVMRoute=node1&Load=40');
  h.clock.advance(0.5);
  const late = handleStatus(h, 'JVMRoute=node1&Load=40');
  assert.ok(late instanceof Promise, 'after StatusProbeReuse the STATUS probes');
  await late;
  h.clock.advance(1);
  await handleStatus(h, 'JVMRoute=node1&Load=40');
  h.counters.markError(0, Math.floor(h.clock.now() / 1000) + 1);
  assert.ok(handleStatus(h, 'JVMRoute=node1&Load=40') instanceof Promise, 'an error since the probe: probed again');
  assert.equal(probes, 4);

  const off = new Harness({ prober: { probe: async () => true }, directives: [['StatusProbeReuse', 0]] });
  await off.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  await handleStatus(off, 'JVMRoute=node1&Load=40');
  assert.ok(handleStatus(off, 'JVMRoute=node1&Load=40') instanceof Promise);
});

test('known(): only a finished success of the same node, within the window', async () => {
  let release: (ok: boolean) => void = () => {};
  let now = 1_800_000_000_000;
  let errorTime = 0;
  const probes = new StatusProbes({
    prober: { probe: () => new Promise<boolean>((resolve) => (release = resolve)) },
    reuseMs: () => 1000,
    errorTime: () => errorTime,
    now: () => now,
  });
  const row: NodeRow = { ...NODE_CONFIG_DEFAULTS, id: 3, route: 'node1', balancer: 'mycluster', removed: false, host: '127.0.0.1', port: 9001, type: 'http' };
  assert.equal(probes.known(row, 1), undefined, 'never probed');
  const pending = probes.check(row, 1);
  assert.equal(probes.known(row, 1), undefined, 'in flight');
  release(true);
  assert.equal(await pending, true);
  assert.equal(probes.known(row, 1), true);
  assert.equal(probes.known(row, 2), undefined, 'another generation');
  assert.equal(probes.known({ ...row, host: '127.0.0.2' }, 1), undefined, 'another address');
  assert.equal(probes.known({ ...row, pingUs: row.pingUs + 1 }, 1), undefined, 'another ping');
  now += 999;
  assert.equal(probes.known(row, 1), true);
  errorTime = Math.floor(now / 1000);
  assert.equal(probes.known(row, 1), undefined, 'put in error since the probe started');
  errorTime = 0;
  now += 1;
  assert.equal(probes.known(row, 1), undefined, 'the window passed');
  const failing = probes.check(row, 1);
  release(false);
  assert.equal(await failing, false);
  assert.equal(probes.known(row, 1), undefined, 'a failure is never known');
});

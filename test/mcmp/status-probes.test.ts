// STATUS's node check shared between STATUS of the same node (README "STATUS
// probes"): one probe in flight per node, a success reused for
// StatusProbeReuse ms unless the node was put in error since, failures never
// reused. Real loopback back ends count the probes they see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { NODE_CONFIG_DEFAULTS } from '../../src/cluster/defaults';
import { StatusProbes } from '../../src/cluster/status-probes';
import type { NodeRow } from '../../src/cluster/types';
import { NodeFlag } from '../../src/slots/counters';
import { Harness, httpBackend } from './harness';

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

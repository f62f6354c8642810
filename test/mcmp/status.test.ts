// STATUS against real loopback back ends: an HTTP server that answers the
// OPTIONS probe, and a closed port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeFlag } from '../../src/slots/counters';
import { closedPort, Harness, header, httpBackend } from './harness';

const infoLoad = (info: string): string | undefined => /,Load: (-?\d+)\n/.exec(info)?.[1];

test('STATUS with Load 0, 100, -1, 50 answers State=OK and INFO shows the Load', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  for (const load of ['0', '100', '-1', '50']) {
    h.clock.advance(1); // past StatusProbeReuse: each STATUS probes, as in httpd
    const r = await h.send('STATUS', `JVMRoute=node1&Load=${load}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers, [['Content-Type', 'text/plain']]);
    assert.equal(r.body, 'Type=STATUS-RSP&JVMRoute=node1&State=OK&id=1795303842098958\n');
    assert.equal(infoLoad(await h.info()), load);
  }
  assert.ok(backend.requests.every((line) => line === 'OPTIONS * HTTP/1.1'), backend.requests.join(','));
  assert.equal(backend.requests.length, 3, 'Load -1 is not probed');
});

test('the STATUS reply is 60 bytes for route node1 and a 16-digit id', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.equal(Buffer.byteLength(await h.ok('STATUS', 'JVMRoute=node1&Load=87')), 60);
});

test('Load 101 and -2 are refused and the previous Load stays', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  await h.ok('STATUS', 'JVMRoute=node1&Load=50');
  for (const bad of ['101', '-2']) {
    const r = await h.send('STATUS', `JVMRoute=node1&Load=${bad}`);
    assert.equal(header(r, 'Mess'), 'TODO: Bad value for Load');
    assert.equal(infoLoad(await h.info()), '50');
  }
});

test('Load is read as a leading integer: 50abc is 50', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  await h.ok('STATUS', 'JVMRoute=node1&Load=50abc');
  assert.equal(infoLoad(await h.info()), '50');
});

test('a failed probe answers State=NOTOK, puts the node in error and does not apply the Load', async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`);
  const r = await h.send('STATUS', 'JVMRoute=node1&Load=80');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Type=STATUS-RSP&JVMRoute=node1&State=NOTOK&id=1795303842098958\n');
  assert.equal(infoLoad(await h.info()), '0');
  assert.ok((h.counters.flags(0) & NodeFlag.InError) !== 0);
});

test('Load -1 is not probed: the node goes in error and the answer is OK', async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`);
  assert.match(await h.ok('STATUS', 'JVMRoute=node1&Load=-1'), /State=OK/);
  assert.ok((h.counters.flags(0) & NodeFlag.InError) !== 0);
});

test('Load 0 makes a hot standby; a positive Load clears error and standby', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  await h.ok('STATUS', 'JVMRoute=node1&Load=-1');
  await h.ok('STATUS', 'JVMRoute=node1&Load=0');
  assert.equal(h.counters.flags(0), NodeFlag.HotStandby);
  await h.ok('STATUS', 'JVMRoute=node1&Load=10');
  assert.equal(h.counters.flags(0), 0);
});

test('STATUS without Load only probes: the Load is unchanged', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  await h.ok('STATUS', 'JVMRoute=node1&Load=33');
  h.clock.advance(1); // past StatusProbeReuse
  assert.match(await h.ok('STATUS', 'JVMRoute=node1'), /State=OK/);
  assert.equal(infoLoad(await h.info()), '33');
  assert.equal(backend.requests.length, 2);
});

test('with EnableOptions Off http nodes are not probed and count as up', async () => {
  const port = await closedPort();
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`);
  assert.match(await h.ok('STATUS', 'JVMRoute=node1&Load=40'), /State=OK/);
  assert.equal(infoLoad(await h.info()), '40');
});

test('STATUS of a node marked for removal is NOTOK and changes nothing', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('REMOVE-APP', 'JVMRoute=node1', { target: '/*' });
  assert.match(await h.ok('STATUS', 'JVMRoute=node1&Load=60'), /State=NOTOK/);
  assert.equal(h.counters.lbfactor(0), 0);
});

test('a load that arrives after its node was replaced during the probe is dropped', async () => {
  let release: (ok: boolean) => void = () => undefined;
  const prober = { probe: () => new Promise<boolean>((resolve) => (release = resolve)) };
  const h = new Harness({ prober });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  const pending = h.send('STATUS', 'JVMRoute=node1&Load=90');
  await h.ok('REMOVE-APP', 'JVMRoute=node1', { target: '/*' });
  await h.ok('CONFIG', 'JVMRoute=node2&Host=127.0.0.1&Port=9000&Type=http');
  release(true);
  assert.match((await pending).body, /State=NOTOK/);
  assert.equal(h.counters.lbfactor(0), -1, 'node2 keeps the re-used worker\'s -1');
});

test('parameter names of STATUS are case-insensitive', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9000&Type=http');
  assert.match(await h.ok('STATUS', 'jvmroute=node1&LOAD=12'), /JVMRoute=node1&State=OK/);
});

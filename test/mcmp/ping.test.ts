import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { closedPort, Harness, header, httpBackend } from './harness';

const ID = '1795303842098958';

test('PING without parameters answers State=OK (43 bytes) and probes nothing', async () => {
  const h = new Harness();
  for (const body of ['', '=']) {
    const r = await h.send('PING', body);
    assert.equal(r.status, 200);
    assert.equal(r.body, `Type=PING-RSP&State=OK&id=${ID}\n`);
    assert.equal(Buffer.byteLength(r.body), 43);
  }
});

test('PING by route probes the node: OK when it answers', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.equal(await h.ok('PING', 'JVMRoute=node1'), `Type=PING-RSP&JVMRoute=node1&State=OK&id=${ID}\n`);
  assert.deepEqual(backend.requests, ['OPTIONS * HTTP/1.1']);
});

test('PING by route of a node that does not answer is NOTOK', async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`);
  assert.equal(await h.ok('PING', 'JVMRoute=node1'), `Type=PING-RSP&JVMRoute=node1&State=NOTOK&id=${ID}\n`);
});

test('with a route, the node\'s address wins over the Scheme/Host/Port given', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const closed = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.match(await h.ok('PING', `JVMRoute=node1&Scheme=ajp&Host=127.0.0.1&Port=${closed}`), /State=OK/);
});

test('PING never changes state: a failed probe leaves the node usable', async () => {
  const port = await closedPort();
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`);
  const commits = h.state.commits;
  await h.ok('PING', 'JVMRoute=node1');
  assert.equal(h.counters.flags(0), 0);
  assert.equal(h.state.commits, commits);
});

test('PING by scheme/host/port of a registered http node is OK; ws reaches an http/ws node too', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness({ directives: [['WSUpgradeHeader', 'websocket']] });
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.equal(await h.ok('PING', `Scheme=http&Host=127.0.0.1&Port=${backend.port}`), `Type=PING-RSP&State=OK&id=${ID}\n`);
  assert.equal(await h.ok('PING', `Scheme=ws&Host=127.0.0.1&Port=${backend.port}`), `Type=PING-RSP&State=OK&id=${ID}\n`);
});

test('PING of an http address where no node is registered is NOTOK even if something listens there', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  assert.equal(await h.ok('PING', `Scheme=http&Host=127.0.0.1&Port=${backend.port}`), `Type=PING-RSP&State=NOTOK&id=${ID}\n`);
  assert.deepEqual(backend.requests, []);
});

test('PING with a wrong host or port is NOTOK with 200', async (t) => {
  const backend = await httpBackend();
  t.after(() => backend.close());
  const h = new Harness();
  await h.ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backend.port}&Type=http`);
  assert.match(await h.ok('PING', `Scheme=http&Host=127.0.0.2&Port=${backend.port}`), /State=NOTOK/);
  assert.match(await h.ok('PING', 'Scheme=http&Host=127.0.0.1&Port=notaport'), /State=NOTOK/);
});

test('PING ajp sends a CPING to any address and is OK on CPONG', async (t) => {
  const server = net.createServer((s) => s.on('data', () => s.write(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  const h = new Harness();
  assert.match(await h.ok('PING', `Scheme=AJP&Host=127.0.0.1&Port=${port}`), /State=OK/);
  const closed = await closedPort();
  assert.match(await h.ok('PING', `Scheme=ajp&Host=127.0.0.1&Port=${closed}`), /State=NOTOK/);
});

test('PING errors: unknown route, Scheme without Host or Port, unsupported scheme', async () => {
  const h = new Harness();
  assert.equal(header(await h.send('PING', 'JVMRoute=nonexistent'), 'Mess'), 'MEM: Can\'t read node with "nonexistent" JVMRoute');
  assert.equal(header(await h.send('PING', 'Scheme=http&Host=127.0.0.1'), 'Mess'), 'SYNTAX: Mandatory field(s) missing in message');
  assert.equal(header(await h.send('PING', 'Scheme=udp'), 'Mess'), 'PING Unsupported scheme: udp');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McmpHandler } from '../../src/mcmp/handler';
import { Harness, header } from './harness';

test('METHODS is exactly the ten MCMP methods', () => {
  assert.deepEqual([...McmpHandler.METHODS].sort(), ['CONFIG', 'DISABLE-APP', 'DUMP', 'ENABLE-APP', 'INFO', 'PING', 'REMOVE-APP', 'STATUS', 'STOP-APP', 'VERSION']);
  for (const gone of ['ERROR', 'ADDID', 'REMOVEID', 'QUERY', 'STATUS-RSP', 'PING-RSP', 'INFO-RSP', 'DUMP-RSP', 'STOP-APP-RSP']) {
    assert.equal(McmpHandler.METHODS.has(gone), false, gone);
  }
});

test('the error reply is 500 with Version, Type, Mess and a short text body (D15)', async () => {
  const h = new Harness();
  const r = await h.send('STATUS', 'JVMRoute=nonexistent');
  assert.equal(r.status, 500);
  assert.deepEqual(r.headers, [
    ['Version', '0.2.1'],
    ['Type', 'MEM'],
    ['Mess', 'MEM: Can\'t read node with "nonexistent" JVMRoute'],
    ['Content-Type', 'text/plain'],
  ]);
  assert.equal(r.body, 'MEM: Can\'t read node with "nonexistent" JVMRoute\n');
});

test('success replies carry no Version header', async () => {
  const h = new Harness();
  const r = await h.send('VERSION');
  assert.equal(header(r, 'Version'), undefined);
});

test('every command is logged at debug with method, route and result; every error at warn with the peer', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('STATUS', 'JVMRoute=n1&Load=5');
  await h.send('STATUS', 'JVMRoute=ghost');
  const debug = h.logs.filter((l) => l.level === 20 && l.msg === 'MCMP');
  assert.deepEqual(
    debug.map((l) => [l.method, l.route]),
    [
      ['CONFIG', 'n1'],
      ['STATUS', 'n1'],
    ],
  );
  assert.equal(debug[1]?.result, 'Load=5 State=OK');
  const warn = h.logs.filter((l) => l.level === 40);
  assert.equal(warn.length, 1);
  assert.equal(warn[0]?.peer, '127.0.0.1:40000');
  assert.equal(warn[0]?.method, 'STATUS');
  assert.equal(warn[0]?.mess, 'MEM: Can\'t read node with "ghost" JVMRoute');
});

test('a reply is only produced after its change is published: the reader sees it at once', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n1&Host=127.0.0.1&Port=9000&Type=http');
  assert.equal(h.tables.reader.snapshot().nodes[0]?.route, 'n1');
  await h.ok('ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app');
  assert.equal(h.tables.reader.snapshot().contexts[0]?.status, 1);
  await h.ok('REMOVE-APP', 'JVMRoute=n1', { target: '/*' });
  const snap = h.tables.reader.snapshot();
  assert.equal(snap.nodes[0]?.removed, true);
  assert.equal(snap.contexts.filter(Boolean).length, 0);
});

test('the forwarding threads\' snapshot equals the state after a series of commands', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  const script: Array<[string, string, string?]> = [
    ['CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http&Balancer=shop&StickySessionCookie=SID&Domain=d1'],
    ['CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=ajp&Alias=x.example,y.example&Context=/one,/two'],
    ['ENABLE-APP', 'JVMRoute=a&Alias=localhost,127.0.0.1&Context=/app,/'],
    ['ENABLE-APP', 'JVMRoute=b', '/*'],
    ['DISABLE-APP', 'JVMRoute=a&Alias=localhost&Context=/app'],
    ['STOP-APP', 'JVMRoute=b&Alias=y.example&Context=/two'],
    ['REMOVE-APP', 'JVMRoute=a&Alias=127.0.0.1&Context=/app,/'],
    ['CONFIG', 'JVMRoute=c&Host=[::1]&Port=9002&Type=https&flushpackets=auto&ttl=5&smax=3&Timeout=7'],
    ['STATUS', 'JVMRoute=c&Load=30'],
    ['REMOVE-APP', 'JVMRoute=b', '/*'],
    ['CONFIG', 'JVMRoute=d&Host=127.0.0.1&Port=9001&Type=ajp'],
  ];
  for (const [method, body, target] of script) await h.ok(method, body, { target });
  const snap = h.tables.reader.snapshot();
  const dense = <T>(rows: ReadonlyArray<T | undefined>): T[] => rows.filter((r): r is T => r !== undefined);
  assert.deepEqual(dense(snap.nodes), h.state.nodes());
  assert.deepEqual(dense(snap.balancers), h.state.balancers());
  assert.deepEqual(dense(snap.hosts), h.state.hosts());
  assert.deepEqual(dense(snap.contexts), h.state.contexts());
  for (const row of h.state.nodes()) assert.deepEqual(snap.nodes[row.id], row, 'rows sit at their slot id');
  assert.equal(h.state.findNode('d')?.id, 1, 'd took over b\'s worker slot');
});

test('a body over the size limit is refused before anything is parsed (D1)', async () => {
  const h = new Harness();
  const r = await h.send('CONFIG', 'JVMRoute=ok&Host=127.0.0.1', { tooLarge: true });
  assert.equal(header(r, 'Type'), 'SYNTAX');
  assert.deepEqual(h.state.nodes(), []);
});

test('method names may arrive in any case', async () => {
  const h = new Harness();
  assert.equal(await h.ok('version'), 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
});

test('the id of STATUS and PING replies is the start time given to the handler', async () => {
  const h = new Harness();
  assert.match(await h.ok('PING'), /&id=1795303842098958\n$/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, header } from './harness';

async function registered(directives: Array<readonly [string, unknown]> = []): Promise<Harness> {
  const h = new Harness({ directives });
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=17010&Type=http');
  return h;
}

const aliases = (h: Harness): string[] => h.state.hosts().map((x) => x.alias);
const statuses = (h: Harness): Array<[string, number, number]> => h.state.contexts().map((c) => [c.path, c.vhost, c.status]);

test('ENABLE-APP replies with the 2.x body listing each alias and its contexts (97 bytes)', async () => {
  const h = await registered();
  const r = await h.send('ENABLE-APP', 'JVMRoute=node1&Context=/app&Alias=localhost,127.0.0.1', { target: '/app' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers, [['Content-Type', 'text/plain']]);
  assert.equal(r.body, 'Type=ENABLE-APP-RSP\nJvmRoute=node1\nAlias=localhost Contexts=/app\n\nAlias=127.0.0.1 Contexts=/app\n\n');
  assert.equal(Buffer.byteLength(r.body), 0x61);
  assert.equal(
    await h.info(),
    'Node: [0],Name: node1,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 17010,Type: http,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 0\n' +
      'Vhost: [0:1:0], Alias: localhost\n' +
      'Vhost: [0:2:1], Alias: 127.0.0.1\n' +
      'Context: [0:1:0], Context: /app, Status: ENABLED\n' +
      'Context: [0:2:1], Context: /app, Status: ENABLED\n',
  );
});

test('DISABLE-APP and REMOVE-APP use the same body shape', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Context=/app&Alias=localhost,127.0.0.1');
  assert.equal(await h.ok('DISABLE-APP', 'JVMRoute=node1&Context=/app&Alias=localhost,127.0.0.1'), 'Type=DISABLE-APP-RSP\nJvmRoute=node1\nAlias=localhost Contexts=/app\n\nAlias=127.0.0.1 Contexts=/app\n\n');
  assert.match(await h.info(), /Context: \[0:1:0\], Context: \/app, Status: DISABLED\n/);
  assert.equal(await h.ok('REMOVE-APP', 'JVMRoute=node1&Context=/app&Alias=localhost,127.0.0.1'), 'Type=REMOVE-APP-RSP\nJvmRoute=node1\nAlias=localhost Contexts=/app\n\nAlias=127.0.0.1 Contexts=/app\n\n');
});

test('STOP-APP replies with the legacy one-line form and Requests= (decision D5)', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/demo2');
  const r = await h.send('STOP-APP', 'JVMRoute=node1&Alias=localhost&Context=%2Fdemo2');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Type=STOP-APP-RSP&JvmRoute=node1&Alias=localhost&Context=/demo2&Requests=0\n');
  assert.match(await h.info(), /Context: \/demo2, Status: STOPPED/);
});

test('STOP-APP Requests= is the sum of the in-flight requests of the stopped context rows', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost,example&Context=/app,/other');
  const app = h.state.contexts().filter((c) => c.path === '/app');
  assert.equal(app.length, 2);
  h.counters.beginRequest(0, (app[0] as { id: number }).id);
  h.counters.beginRequest(0, (app[1] as { id: number }).id);
  h.counters.beginRequest(0, (app[1] as { id: number }).id);
  assert.equal(await h.ok('STOP-APP', 'JVMRoute=node1&Alias=localhost,example&Context=/app'), 'Type=STOP-APP-RSP&JvmRoute=node1&Alias=localhost,example&Context=/app&Requests=3\n');
  h.counters.endRequest(0, (app[1] as { id: number }).id);
  assert.match(await h.ok('STOP-APP', 'JVMRoute=node1&Alias=localhost,example&Context=/app'), /&Requests=2\n$/);
});

test('a new context row starts with no request counted, even in a recycled slot', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/x');
  h.counters.beginRequest(0, 0);
  await h.ok('REMOVE-APP', 'JVMRoute=node1&Alias=a&Context=/x');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/y');
  assert.equal(h.state.contexts()[0]?.path, '/y');
  assert.equal(h.counters.contextRequests(0), 0);
});

test('DISABLE-APP and STOP-APP on a missing context create it in that state', async () => {
  const h = await registered();
  await h.ok('DISABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/d');
  await h.ok('STOP-APP', 'JVMRoute=node1&Alias=localhost&Context=/s');
  assert.deepEqual(statuses(h), [
    ['/d', 1, 2],
    ['/s', 1, 3],
  ]);
});

test('REMOVE-APP of the last context of an alias removes the alias', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/a,/b');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=other&Context=/a');
  await h.ok('REMOVE-APP', 'JVMRoute=node1&Alias=localhost&Context=/a');
  assert.deepEqual(aliases(h), ['localhost', 'other']);
  await h.ok('REMOVE-APP', 'JVMRoute=node1&Alias=localhost&Context=/b');
  assert.deepEqual(aliases(h), ['other']);
  assert.deepEqual(statuses(h), [['/a', 2, 1]]);
});

test('REMOVE-APP lists the contexts of a known alias even when they did not exist, and skips unknown aliases', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/a');
  assert.equal(await h.ok('REMOVE-APP', 'JVMRoute=node1&Alias=unknown,localhost&Context=/zzz'), 'Type=REMOVE-APP-RSP\nJvmRoute=node1\nAlias=localhost Contexts=/zzz\n\n');
  assert.deepEqual(aliases(h), ['localhost'], 'the alias still has /a');
});

test('wildcard DISABLE/STOP/ENABLE flip every context of the node and answer an empty body', async () => {
  const h = await registered();
  await h.ok('CONFIG', 'JVMRoute=other&Host=127.0.0.1&Port=17011&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a,b&Context=/x,/y');
  await h.ok('ENABLE-APP', 'JVMRoute=other&Alias=a&Context=/x');
  for (const [method, status] of [
    ['DISABLE-APP', 2],
    ['STOP-APP', 3],
    ['ENABLE-APP', 1],
  ] as const) {
    const r = await h.send(method, 'JVMRoute=node1', { target: '/*' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.deepEqual(r.headers, []);
    assert.deepEqual(
      h.state.contextsOf(0).map((c) => c.status),
      [status, status, status, status],
    );
    assert.equal(h.state.contextsOf(1)[0]?.status, 1, 'the other node is untouched');
  }
});

test('the target * and any target ending in /* are wildcard; /*x and / are not', async () => {
  for (const target of ['*', '/*', '/foo/*']) {
    const h = await registered();
    assert.equal(await h.ok('STOP-APP', 'JVMRoute=node1', { target }), '');
  }
  for (const target of ['/', '/*x', '/app']) {
    const h = await registered();
    const r = await h.send('STOP-APP', 'JVMRoute=node1', { target });
    assert.equal(header(r, 'Mess'), 'SYNTAX: No Context and Alias in APP command');
  }
});

test('wildcard REMOVE-APP deletes the node\'s aliases and contexts at once and marks it removed', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a,b&Context=/x');
  await h.ok('REMOVE-APP', 'JVMRoute=node1', { target: '/*' });
  assert.deepEqual(h.state.hosts(), []);
  assert.deepEqual(h.state.contexts(), []);
  assert.equal(h.state.findNode('node1')?.removed, true);
  assert.match(await h.info(), /^Node: \[0\],Name: node1,/, 'still listed under its route until the placeholder phase');
  const s = await h.send('STATUS', 'JVMRoute=node1&Load=50');
  assert.match(s.body, /State=NOTOK/);
});

test('wildcard targets ignore Alias and Context', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/x');
  assert.equal(await h.ok('DISABLE-APP', 'JVMRoute=node1&Alias=zzz&Context=/nothing', { target: '/*' }), '');
  assert.deepEqual(statuses(h), [['/x', 1, 2]]);
});

test('every new alias gets its own vhost id, after the highest the node uses', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/x');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=b,c&Context=/x');
  assert.deepEqual(
    h.state.hosts().map((x) => [x.alias, x.vhost]),
    [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ],
  );
});

test('MODCLUSTER-824: ENABLE-APP merges aliases per node (2 → 3 → 5) and node removal clears them', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=gamma,testalias&Context=/news');
  assert.equal(aliases(h).length, 2);
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=beta,testalias&Context=/news');
  assert.deepEqual(aliases(h), ['gamma', 'testalias', 'beta']);
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=completely,unrelated&Context=/news');
  assert.equal(aliases(h).length, 5);
  await h.ok('REMOVE-APP', 'JVMRoute=node1', { target: '/*' });
  assert.equal(aliases(h).length, 0);
});

test('aliases are lower-cased; contexts are case-sensitive', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=LocalHost&Context=/App');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app');
  assert.deepEqual(aliases(h), ['localhost']);
  assert.deepEqual(
    h.state.contexts().map((c) => c.path),
    ['/App', '/app'],
  );
});

test('repeated Alias/Context parameters accumulate like lists', async () => {
  const h = await registered();
  const body = await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/x&Alias=b&Context=/y');
  assert.equal(body, 'Type=ENABLE-APP-RSP\nJvmRoute=node1\nAlias=a Contexts=/x,/y\n\nAlias=b Contexts=/x,/y\n\n');
});

test('101 contexts with Maxcontext 100: 200, /context100 missing from the reply and from the tables', async () => {
  const h = await registered([['Maxcontext', 100]]);
  const contexts = Array.from({ length: 101 }, (_, i) => `/context${i}`);
  const r = await h.send('ENABLE-APP', `JVMRoute=node1&Alias=localhost&Context=${contexts.join(',')}`);
  assert.equal(r.status, 200);
  assert.ok(r.body.includes('/context99\n'));
  assert.ok(!r.body.includes('/context100'));
  assert.equal(h.state.contexts().length, 100);
});

test('an alias that does not fit the host table is skipped silently', async () => {
  const h = await registered([
    ['Maxnode', 1],
    ['Maxhost', 1],
  ]);
  const body = await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a,b&Context=/x');
  assert.equal(body, 'Type=ENABLE-APP-RSP\nJvmRoute=node1\nAlias=a Contexts=/x\n\n');
});

test('every APP command on a found node publishes a batch (the version bump of §3.9), even with nothing to change', async () => {
  const h = await registered();
  const before = h.tables.reader.version();
  await h.ok('ENABLE-APP', 'JVMRoute=node1', { target: '/*' });
  assert.notEqual(h.tables.reader.version(), before);
});

test('ENABLE-APP of a context already enabled in another balancer logs a warning and still works', async () => {
  const h = await registered();
  await h.ok('CONFIG', 'JVMRoute=b1&Host=127.0.0.1&Port=17020&Type=http&Balancer=other');
  await h.ok('ENABLE-APP', 'JVMRoute=b1&Alias=a&Context=/shared');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/shared');
  assert.ok(h.logs.some((l) => l.level === 40 && l.msg.includes('two balancers')));
});

test('an APP command ignores unknown parameters', async () => {
  const h = await registered();
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Alias=a&Context=/x&Foo=bar');
  assert.equal(h.state.contexts().length, 1);
});

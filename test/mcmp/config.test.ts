import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, header } from './harness';

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

test('CONFIG answers 200 with an empty body and no Content-Type', async () => {
  const h = new Harness();
  const r = await h.send('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=17010&Type=http');
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
  assert.deepEqual(r.headers, []);
});

test('the Java default CONFIG body shows the proxy defaults in DUMP', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp');
  assert.equal(
    await h.dump(),
    'balancer: [0] Name: mycluster Sticky: 1 [JSESSIONID]/[jsessionid] remove: 0 force: 0 Timeout: 0 maxAttempts: 1\n' +
      'node: [0:0],Balancer: mycluster,JVMRoute: node1,LBGroup: [],Host: 192.168.1.10,Port: 8009,Type: ajp,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n',
  );
});

test('a CONFIG with only JVMRoute takes every default (localhost:8009 ajp, mycluster, force 1)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=bare');
  assert.equal(
    await h.dump(),
    'balancer: [0] Name: mycluster Sticky: 1 [JSESSIONID]/[jsessionid] remove: 0 force: 1 Timeout: 0 maxAttempts: 1\n' +
      'node: [0:0],Balancer: mycluster,JVMRoute: bare,LBGroup: [],Host: localhost,Port: 8009,Type: ajp,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n',
  );
});

test('custom flushwait/ttl/ping/timeout are echoed in DUMP (config_time_params)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=t&Host=127.0.0.1&Port=9000&Type=http&flushwait=25&ttl=30&ping=65&timeout=10');
  assert.match(await h.dump(), /,flushwait: 25,ping: 65,smax: -1,ttl: 30,timeout: 10\n/);
});

test('durations take units: ms, s, min, h, and only the first one or two unit letters count', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=u&Host=127.0.0.1&Port=9000&Type=http&flushwait=2s&ping=5sec&ttl=2mins&timeout=1h');
  const n = h.state.findNode('u');
  assert.ok(n);
  assert.equal(n.flushWaitUs, 2_000_000);
  assert.equal(n.pingUs, 5_000_000);
  assert.equal(n.ttlUs, 120_000_000);
  assert.equal(n.timeoutUs, 3_600_000_000);
  await h.ok('CONFIG', 'JVMRoute=v&Host=127.0.0.1&Port=9001&Type=http&ping=1500ms');
  assert.equal(h.state.findNode('v')?.pingUs, 1_500_000);
});

test('all the fields of a full Java CONFIG are stored', async () => {
  const h = new Harness();
  await h.ok(
    'CONFIG',
    'JVMRoute=full&Balancer=Shop&Domain=dom1&Host=10.0.0.5&Maxattempts=3&Port=8080&Reversed=true&StickySession=No&StickySessionCookie=SID&StickySessionForce=No&StickySessionPath=sid&StickySessionRemove=Yes&Timeout=20&Type=http&WaitWorker=7&flushpackets=On&flushwait=15&ping=20&smax=5&ttl=90',
  );
  assert.equal(
    await h.dump(),
    'balancer: [0] Name: shop Sticky: 0 [SID]/[sid] remove: 1 force: 0 Timeout: 7 maxAttempts: 3\n' +
      'node: [0:0],Balancer: shop,JVMRoute: full,LBGroup: [dom1],Host: 10.0.0.5,Port: 8080,Type: http,flushpackets: 1,flushwait: 15,ping: 20,smax: 5,ttl: 90,timeout: 20\n',
  );
  const n = h.state.findNode('full');
  assert.equal(n?.reversed, true, 'decision D14: true is a boolean');
});

test('flushpackets Auto is stored as 2 and shown as Auto in INFO', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http&flushpackets=auto');
  assert.match(await h.dump(), /flushpackets: 2,/);
  assert.match(await h.info(), /,Flushpackets: Auto,/);
});

test('an unknown boolean value leaves the field as it was', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http&StickySession=maybe&flushpackets=sometimes');
  assert.match(await h.dump(), /Sticky: 1 /);
  assert.match(await h.dump(), /flushpackets: 0,/);
});

test('parameter names are case-insensitive; unknown parameters are ignored', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'jvmroute=probe-foo&HOST=127.0.0.1&port=17098&Foo=bar&Scheme=http');
  assert.match(await h.dump(), /JVMRoute: probe-foo,LBGroup: \[\],Host: 127.0.0.1,Port: 17098,Type: ajp,/);
});

test('the last occurrence of a repeated scalar parameter wins', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Port=9000&Port=9001&Type=http&Host=127.0.0.1');
  assert.equal(h.state.findNode('a')?.port, 9001);
});

test('Balancer names are lower-cased (and the default comes from ManagerBalancerName)', async () => {
  const h = new Harness({ directives: [['ManagerBalancerName', 'QA']] });
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=http&Balancer=MyBal');
  const dump = await h.dump();
  assert.match(dump, /balancer: \[0\] Name: qa /);
  assert.match(dump, /balancer: \[1\] Name: mybal /);
  assert.ok(h.logs.some((l) => l.msg.includes('upper case')));
});

test('the limits are inclusive: 63-character route, 39 balancer, 19 domain, 63 host, 15 type, 29 sticky names, 254 alias, 79 context', async () => {
  const h = new Harness();
  const route = 'r'.repeat(63);
  await h.ok(
    'CONFIG',
    `JVMRoute=${route}&Balancer=${'b'.repeat(39)}&Domain=${'d'.repeat(19)}&Host=${'h'.repeat(63)}&Port=65535&Type=http&StickySessionCookie=${'c'.repeat(29)}&StickySessionPath=${'p'.repeat(29)}&Alias=${'a'.repeat(254)},x${'a'.repeat(253)}&Context=/${'c'.repeat(78)}`,
  );
  assert.equal(h.state.findNode(route)?.port, 65535);
  assert.equal(h.state.hosts().length, 2);
  assert.equal(h.state.contexts()[0]?.path.length, 79);
});

test('a bracketed IPv6 Host loses its zone', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=v6&Host=%5Bfe80%3A%3A1%25eth0%5D&Port=9000&Type=http');
  assert.equal(h.state.findNode('v6')?.host, '[fe80::1]');
});

test('Type is matched case-insensitively and stored lower case', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=HTTPS');
  assert.equal(h.state.findNode('a')?.type, 'https');
});

test('WSUpgradeHeader turns http into ws and https into wss, with the upgrade token; ajp stays', async () => {
  const h = new Harness({ directives: [['WSUpgradeHeader', 'websocket']] });
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=https');
  await h.ok('CONFIG', 'JVMRoute=c&Host=127.0.0.1&Port=9002&Type=ajp');
  assert.deepEqual(
    h.state.nodes().map((n) => [n.type, n.upgrade]),
    [
      ['ws', 'websocket'],
      ['wss', 'websocket'],
      ['ajp', ''],
    ],
  );
  assert.match(await h.info(), /Name: a,.*,Type: ws,/);
});

test('EnableWsTunnel alone uses the websocket token; WSUpgradeHeader * is kept', async () => {
  const h1 = new Harness({ directives: [['EnableWsTunnel', 'On']] });
  await h1.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  assert.equal(h1.state.findNode('a')?.upgrade, 'websocket');
  const h2 = new Harness({ directives: [['WSUpgradeHeader', '*']] });
  await h2.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  assert.equal(h2.state.findNode('a')?.upgrade, '*');
});

test('AJPSecret goes to ajp nodes only; ResponseFieldSize to non-ajp nodes only', async () => {
  const h = new Harness({
    directives: [
      ['AJPSecret', 's3cret'],
      ['ResponseFieldSize', 16384],
    ],
  });
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=ajp');
  await h.ok('CONFIG', 'JVMRoute=h&Host=127.0.0.1&Port=9001&Type=http');
  const a = h.state.findNode('a');
  const n = h.state.findNode('h');
  assert.equal(a?.ajpSecret, 's3cret');
  assert.equal(a?.responseFieldSize, 0);
  assert.equal(n?.ajpSecret, '');
  assert.equal(n?.responseFieldSize, 16384);
});

test('an identical CONFIG again is accepted and keeps the slot (idempotent)', async () => {
  const h = new Harness();
  const body = 'JVMRoute=node1&Host=127.0.0.1&Port=17010&Type=http';
  await h.ok('CONFIG', body);
  const before = await h.dump();
  await h.ok('CONFIG', body);
  assert.equal(await h.dump(), before);
});

test('a re-CONFIG may change flushpackets, flushwait, ping, timeout, sticky settings, WaitWorker, Maxattempts, Domain; the app keeps working', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=localhost&Context=/app');
  h.counters.applyLoad(0, 77, 1);
  h.counters.addElected(0);
  await h.ok(
    'CONFIG',
    'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http&flushpackets=on&flushwait=20&ping=3&Timeout=9&StickySession=no&StickySessionCookie=X&StickySessionPath=x&StickySessionRemove=yes&StickySessionForce=no&WaitWorker=4&Maxattempts=5&Domain=d2',
  );
  const dump = await h.dump();
  assert.match(dump, /balancer: \[0\] Name: mycluster Sticky: 0 \[X\]\/\[x\] remove: 1 force: 0 Timeout: 4 maxAttempts: 5/);
  assert.match(dump, /node: \[0:0\],Balancer: mycluster,JVMRoute: n,LBGroup: \[d2\],Host: 127.0.0.1,Port: 9000,Type: http,flushpackets: 1,flushwait: 20,ping: 3,smax: -1,ttl: 60,timeout: 9/);
  assert.match(dump, /context: 0 \[\/app\] vhost: 1 node: 0 status: 1/, 'contexts survive a CONFIG');
  assert.equal(h.counters.lbfactor(0), 77, 'an update keeps the worker statistics');
  assert.equal(h.counters.elected(0), 1);
});

for (const [field, change] of [
  ['Balancer', 'Balancer=other'],
  ['Host', 'Host=127.0.0.2'],
  ['Port', 'Port=9009'],
  ['Type', 'Type=https'],
  ['Reversed', 'Reversed=yes'],
  ['smax', 'smax=10'],
  ['ttl', 'ttl=61'],
] as const) {
  test(`a re-CONFIG that changes ${field} is MNODEEX and the node keeps working`, async () => {
    const h = new Harness();
    await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
    await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=localhost&Context=/app');
    const before = await h.dump();
    const body = `JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http&${change}`;
    const r = await h.send('CONFIG', body);
    assert.equal(r.status, 500);
    assert.equal(header(r, 'Mess'), 'MEM: Node with "n" JVMRoute already exists');
    assert.equal(await h.dump(), before);
  });
}

test('the first CONFIG of a balancer defines it; a later CONFIG for the same balancer replaces its sticky settings for all nodes', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http&StickySessionCookie=A');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=http&StickySessionCookie=B');
  assert.equal(h.state.balancers().length, 1);
  assert.equal(h.state.balancers()[0]?.stickySessionCookie, 'B');
});

test('CONFIG with aliases and contexts creates one vhost per alias and every context STOPPED', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http&Alias=Example.COM,localhost&Context=/a,/b');
  assert.deepEqual(lines(await h.dump()).slice(2), [
    'host: 0 [example.com] vhost: 1 node: 0',
    'host: 1 [localhost] vhost: 2 node: 0',
    'context: 0 [/a] vhost: 1 node: 0 status: 3',
    'context: 1 [/b] vhost: 1 node: 0 status: 3',
    'context: 2 [/a] vhost: 2 node: 0 status: 3',
    'context: 3 [/b] vhost: 2 node: 0 status: 3',
  ]);
});

test('a repeated CONFIG resets an existing context to STOPPED and reuses the alias vhost (decision D3)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=other&Context=/x');
  await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=localhost&Context=/app');
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http&Alias=localhost&Context=/app');
  assert.deepEqual(lines(await h.dump()).slice(2), [
    'host: 0 [other] vhost: 1 node: 0',
    'host: 1 [localhost] vhost: 2 node: 0',
    'context: 0 [/x] vhost: 1 node: 0 status: 1',
    'context: 1 [/app] vhost: 2 node: 0 status: 3',
  ]);
});

// GH-issue-329: lists, list plus repeated Alias, fully repeated parameters.
for (const [label, body] of [
  ['as lists', 'JVMRoute=spare&Alias=testalias,example&Context=/news,/test'],
  ['as a list plus a repeated Alias', 'JVMRoute=spare&Alias=testalias&Context=/news,/test&Alias=example'],
  ['as fully repeated parameters', 'JVMRoute=spare&Alias=testalias&Context=/news&Alias=example&Context=/test'],
] as const) {
  test(`GH-issue-329: aliases and contexts ${label} give 1 node, 2 aliases, 4 contexts in order`, async () => {
    const h = new Harness();
    await h.ok('CONFIG', body);
    assert.equal(h.state.nodes().length, 1);
    assert.deepEqual(
      h.state.hosts().map((x) => x.alias),
      ['testalias', 'example'],
    );
    assert.deepEqual(
      h.state.contexts().map((c) => [c.path, c.vhost]),
      [
        ['/news', 1],
        ['/test', 1],
        ['/news', 2],
        ['/test', 2],
      ],
    );
  });
}

test('101 contexts with Maxcontext 100: 500 GENERAL naming /context100, the first 100 stored and enabled by ENABLE-APP /*', async () => {
  const h = new Harness({ directives: [['Maxcontext', 100]] });
  const contexts = Array.from({ length: 101 }, (_, i) => `/context${i}`).join(',');
  const r = await h.send('CONFIG', `JVMRoute=many&Host=127.0.0.1&Port=9000&Type=http&Alias=localhost&Context=${contexts}`);
  assert.equal(r.status, 500);
  assert.equal(header(r, 'Type'), 'GENERAL');
  assert.equal(header(r, 'Mess'), 'MEM: Can\'t update or insert context for node with "many" JVMRoute (/context100 and alias: localhost)');
  assert.equal(h.state.contexts().length, 100);
  await h.ok('ENABLE-APP', 'JVMRoute=many', { target: '/*' });
  assert.ok(h.state.contexts().every((c) => c.status === 1));
  assert.equal(
    h.state.contexts().find((c) => c.path === '/context100'),
    undefined,
  );
});

test('a full host table fails each alias that does not fit, joined with ", ", and keeps the rest (GENERAL)', async () => {
  const h = new Harness({
    directives: [
      ['Maxnode', 1],
      ['Maxhost', 1],
    ],
  });
  const r = await h.send('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http&Alias=a,b,c&Context=/x');
  assert.equal(r.status, 500);
  assert.equal(header(r, 'Type'), 'GENERAL');
  assert.equal(header(r, 'Mess'), 'MEM: Can\'t update or insert host alias for node with "n" JVMRoute (b), MEM: Can\'t update or insert host alias for node with "n" JVMRoute (c)');
  assert.deepEqual(
    h.state.hosts().map((x) => x.alias),
    ['a'],
  );
  assert.equal(h.state.nodes().length, 1, 'the node is registered although the reply is an error');
});

test('CONFIG on a new route reuses the slot of a removed node on the same worker, and that node\'s load starts at -1 (D11)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=old&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('CONFIG', 'JVMRoute=keep&Host=127.0.0.1&Port=9001&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=old&Alias=a&Context=/x');
  h.counters.applyLoad(0, 50, 1);
  await h.ok('REMOVE-APP', 'JVMRoute=old', { target: '/*' });
  await h.ok('CONFIG', 'JVMRoute=new&Host=127.0.0.1&Port=9000&Type=http');
  const n = h.state.findNode('new');
  assert.equal(n?.id, 0);
  assert.equal(n?.removed, false);
  assert.equal(h.state.findNode('old'), undefined);
  assert.equal(h.counters.lbfactor(0), -1);
});

test('CONFIG reuses a REMOVED placeholder on the same host:port even for another type', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=old&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('REMOVE-APP', 'JVMRoute=old', { target: '/*' });
  h.state.toPlaceholder(0);
  await h.ok('CONFIG', 'JVMRoute=other&Host=127.0.0.1&Port=9000&Type=ajp');
  assert.equal(h.state.findNode('other')?.id, 0);
  assert.equal(h.state.nodes().length, 1);
});

test('a brand-new node starts with lbfactor 0 and no standby flag (usable as last resort)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  assert.equal(h.counters.lbfactor(0), 0);
  assert.equal(h.counters.flags(0), 0);
});

test('CONFIG of the same route revives a node marked for removal', async () => {
  const h = new Harness();
  const body = 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http';
  await h.ok('CONFIG', body);
  await h.ok('REMOVE-APP', 'JVMRoute=n', { target: '/*' });
  assert.equal(h.state.findNode('n')?.removed, true);
  await h.ok('CONFIG', body);
  assert.equal(h.state.findNode('n')?.removed, false);
  await h.ok('ENABLE-APP', 'JVMRoute=n&Alias=a&Context=/x');
});

test('a changed CONFIG of a node marked for removal is still MNODEEX', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('REMOVE-APP', 'JVMRoute=n', { target: '/*' });
  const r = await h.send('CONFIG', 'JVMRoute=n&Host=127.0.0.1&Port=9001&Type=http');
  assert.equal(header(r, 'Mess'), 'MEM: Node with "n" JVMRoute already exists');
});

test('a node of another balancer on the same host:port is a different worker, not MNODEET', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9000&Type=http&Balancer=other');
  assert.equal(h.state.nodes().length, 2);
});

test('new nodes take the lowest free slot', async () => {
  const h = new Harness();
  for (const [i, r] of ['a', 'b', 'c'].entries()) await h.ok('CONFIG', `JVMRoute=${r}&Host=127.0.0.1&Port=${9000 + i}&Type=http`);
  h.state.deleteNode(1);
  await h.ok('CONFIG', 'JVMRoute=d&Host=127.0.0.1&Port=9100&Type=http');
  assert.deepEqual(
    h.state.nodes().map((n) => [n.id, n.route]),
    [
      [0, 'a'],
      [1, 'd'],
      [2, 'c'],
    ],
  );
});

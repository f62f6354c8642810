// The agent's pure parts: the load formula against mod_cluster's numbers, the
// body encoding, Java's INFO parsing, the reset burst, session ids, addresses.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DynamicLoadProvider, NodeUnavailableError, SessionCookies, withRoute } from '../../src/agent';
import { parseProxyAddress } from '../../src/agent/proxy-address';
import { resetRequests } from '../../src/agent/reset';
import { configRequest, requestBody, requestsInStopReply } from '../../src/agent/requests';
import { formatMcmpBody, javaUrlEncode, parseMcmpBody } from '../../src/mcmp/body';
import { InfoReplyError, parseInfoReply } from '../../src/mcmp/info-reply';

const idle = { name: 'idle', load: (): number => 0 };

test('a new idle node ramps up as the trace\'s Tomcat did: 50, 75, 88, 94, 97, 99, 99, 100 (history 9, decay 2, initial load 0)', () => {
  const p = new DynamicLoadProvider([idle]);
  assert.deepEqual(Array.from({ length: 9 }, () => p.next()), [50, 75, 88, 94, 97, 99, 99, 100, 100]);
});

test('load: weights combine the metrics, the result is inverted and clamped to 1..100, -1 when a metric says unavailable', () => {
  const p = new DynamicLoadProvider(
    [
      { name: 'a', weight: 3, capacity: 10, load: () => 10 },
      { name: 'b', weight: 1, load: () => 0 },
    ],
    { initialLoad: -1 },
  );
  assert.equal(p.next(), 25); // (3×1 + 1×0)/4 = 75 % busy
  const full = new DynamicLoadProvider([{ name: 'x', load: () => 5 }], { initialLoad: -1 });
  assert.equal(full.next(), 1, 'never below 1');
  const down = new DynamicLoadProvider([idle, { name: 'y', load: () => { throw new NodeUnavailableError('connector stopped'); } }], { initialLoad: -1 });
  assert.equal(down.next(), -1);
  const none = new DynamicLoadProvider([{ name: 'z', weight: 0, load: () => 1 }]);
  assert.equal(none.next(), 100, 'no weighted metric: Java rounds NaN to 0, so idle');
});

test('load: history decays — a busy node recovers over the periods like Java\'s queue of history+1 values', () => {
  let busy = 1;
  const p = new DynamicLoadProvider([{ name: 'b', load: () => busy }], { initialLoad: 0 });
  assert.equal(p.next(), 1);
  busy = 0;
  // (sum_{i>=1} 2^-i over 9 values) / (sum_{i=0..9} 2^-i) = 0.4995 → 50 % → 50
  assert.equal(p.next(), 50);
  assert.equal(p.next(), 75);
  const empty = new DynamicLoadProvider([{ name: 'b', load: () => 0.5 }], { initialLoad: -1 });
  assert.equal(empty.next(), 50, 'initialLoad -1: no pre-filled history');
  assert.throws(() => new DynamicLoadProvider([idle], { initialLoad: 101 }), /initialLoad/);
});

test('body encoding is java.net.URLEncoder: space → +, / : , ! ~ ( ) \' percent-encoded, UTF-8 bytes', () => {
  assert.equal(javaUrlEncode('a b/c:d,e!f~g(h)\'i*j-k_l.m'), 'a+b%2Fc%3Ad%2Ce%21f%7Eg%28h%29%27i*j-k_l.m');
  assert.equal(javaUrlEncode('é'), '%C3%A9');
  const body = formatMcmpBody([['Context', '/a&b=c'], ['Alias', 'x,y']]);
  assert.deepEqual(parseMcmpBody(body), [['Context', '/a&b=c'], ['Alias', 'x,y']], 'the proxy decodes what the agent encodes');
});

test('CONFIG carries JVMRoute first, then the parameters in Java\'s case-sensitive order, only when they differ from Java\'s defaults', () => {
  const body = requestBody(configRequest({ route: 'n1', host: '10.0.0.2', port: 8080, type: 'http', aliases: ['localhost'], contexts: ['/'], balancer: 'b', lbGroup: 'g', stickySessionCookie: 'SID', smax: 5, ttl: 30, ping: 3, timeout: 7, flushPackets: true, stickySession: false, stickySessionRemove: true, stickySessionForce: true, waitWorker: 2, maxAttempts: 3, flushWait: 20 }));
  assert.equal(body, 'JVMRoute=n1&Balancer=b&Domain=g&Host=10.0.0.2&Maxattempts=3&Port=8080&StickySession=No&StickySessionCookie=SID&StickySessionRemove=Yes&Timeout=7&Type=http&WaitWorker=2&flushpackets=On&flushwait=20&ping=3&smax=5&ttl=30');
  assert.equal(requestBody(configRequest({ route: 'node1', host: '192.168.1.10', port: 8009, type: 'ajp', aliases: ['localhost'], contexts: [] })), 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp', 'MCMP.md §1.7 example');
});

const INFO = [
  'Node: [1],Name: n1,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 8080,Type: http,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 1',
  'Node: [2],Name: n2,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 8081,Type: http,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 1',
  'Vhost: [1:1:1], Alias: localhost',
  'Vhost: [1:2:2], Alias: example.org',
  'Context: [1:1:1], Context: /app, Status: ENABLED',
  'Context: [1:2:2], Context: /app, Status: ENABLED',
  'Context: [1:1:3], Context: /old, Status: STOPPED',
  '',
].join('\n');

test('INFO is read with Java\'s rules: nodes by id, one virtual host per (node, vhost), errors where Java throws', () => {
  const info = parseInfoReply(INFO);
  assert.deepEqual([...info.keys()], ['n1', 'n2']);
  assert.equal(info.get('n1')?.length, 2);
  assert.deepEqual([...(info.get('n1')?.[0]?.aliases ?? [])], ['localhost']);
  assert.equal(info.get('n1')?.[0]?.contexts.get('/old'), 'STOPPED');
  assert.deepEqual(info.get('n2'), []);
  assert.equal(parseInfoReply('').size, 0);
  assert.throws(() => parseInfoReply('Vhost: [9:1:1], Alias: x'), InfoReplyError, 'unknown node');
  assert.throws(() => parseInfoReply(`${INFO}Context: [1:7:9], Context: /x, Status: ENABLED\n`), InfoReplyError, 'unknown vhost');
  assert.throws(() => parseInfoReply(`${INFO}Context: [1:1:9], Context: /x, Status: REMOVED\n`), InfoReplyError, 'Status.valueOf');
  assert.throws(() => parseInfoReply('Node: [1],Oops,Name: a'), InfoReplyError, 'entry without a colon');
});

test('the reset burst: CONFIG, then only what the proxy lacks; obsolete contexts removed first; two aliases are not a full removal', () => {
  const node = { route: 'n1', host: '127.0.0.1', port: 8080, type: 'http' as const, aliases: ['localhost', 'example.org'], contexts: ['/app', '/new'] };
  const states = new Map([['/app', 'enabled' as const], ['/new', 'enabled' as const]]);
  const burst = resetRequests(node, states, parseInfoReply(INFO)).map((r) => `${r.method} ${r.wildcard ? '/*' : '/'} ${requestBody(r)}`);
  assert.deepEqual(burst, [
    'REMOVE-APP / JVMRoute=n1&Alias=localhost%2Cexample.org&Context=%2Fold',
    'CONFIG / JVMRoute=n1&Host=127.0.0.1&Port=8080&StickySessionForce=No&Type=http',
    'ENABLE-APP / JVMRoute=n1&Alias=localhost%2Cexample.org&Context=%2Fnew',
  ]);
  const fresh = resetRequests({ ...node, aliases: ['localhost'] }, new Map([['/app', 'enabled' as const]]), new Map());
  assert.deepEqual(fresh.map((r) => r.method), ['CONFIG', 'ENABLE-APP']);
  const aliasChanged = resetRequests({ ...node, aliases: ['localhost', 'other'] }, states, parseInfoReply(INFO));
  assert.deepEqual(aliasChanged.map((r) => `${r.method}${r.wildcard ? ' /*' : ''}`), ['REMOVE-APP /*', 'CONFIG', 'ENABLE-APP', 'ENABLE-APP'], 'a changed alias set is a full reset, and every context is sent again');
});

test('STOP-APP Requests= is read as Java reads it', () => {
  assert.equal(requestsInStopReply('Type=STOP-APP-RSP&JvmRoute=n&Alias=a&Context=/c&Requests=3\n'), 3);
  assert.equal(requestsInStopReply('Type=STOP-APP-RSP\nJvmRoute=n\nAlias=a Contexts=/c\n\n'), 0);
  assert.equal(requestsInStopReply('Requests=2x'), 0);
});

test('session ids carry the route after the first dot; a failed-over session is re-issued with this node\'s route', async () => {
  assert.equal(withRoute('ABC', 'n1'), 'ABC.n1');
  assert.equal(withRoute('ABC.n2', 'n1'), 'ABC.n1');
  const cookies = new SessionCookies('n1', 'SID');
  const server = http.createServer((req, res) => {
    const id = cookies.adopt(req, res) ?? cookies.set(res, undefined, { sameSite: 'Lax' });
    res.end(id);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const first = await fetch(`http://127.0.0.1:${port}/`);
    const setCookie = first.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^SID=[0-9A-F]{32}\.n1; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal(await first.text(), setCookie.slice(4, setCookie.indexOf(';')));
    const same = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: 'SID=XYZ.n1' } });
    assert.equal(same.headers.get('set-cookie'), null);
    assert.equal(await same.text(), 'XYZ.n1');
    const moved = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: 'other=1; SID=XYZ.n2' } });
    assert.equal(moved.headers.get('set-cookie'), 'SID=XYZ.n1; Path=/; HttpOnly');
  } finally {
    server.close();
  }
});

test('proxy addresses: host:port, [v6]:port, bare host (port 6666), objects; bad ports named', () => {
  assert.deepEqual(parseProxyAddress('10.0.0.1:7000'), { host: '10.0.0.1', port: 7000 });
  assert.deepEqual(parseProxyAddress('[::1]:7000'), { host: '::1', port: 7000 });
  assert.deepEqual(parseProxyAddress('::1'), { host: '::1', port: 6666 });
  assert.deepEqual(parseProxyAddress('proxy.example'), { host: 'proxy.example', port: 6666 });
  assert.deepEqual(parseProxyAddress({ host: '[::1]', port: 1 }), { host: '::1', port: 1 });
  assert.throws(() => parseProxyAddress('h:70000'), /port must be 1\.\.65535/);
  assert.throws(() => parseProxyAddress('a b'), /expected host:port/);
});

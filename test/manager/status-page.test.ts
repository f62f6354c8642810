import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusPage } from '../../src/manager/status-page';
import type { McmpReply } from '../../src/mcmp/handler';
import { Harness, header } from '../mcmp/harness';
import { REFERENCE_DIRECTIVES, REFERENCE_DUMP, REFERENCE_INFO, referenceCluster } from '../mcmp/reference-cluster';

const PATH = '/mod_cluster_manager';
const NONCE = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

function page(h: Harness): StatusPage {
  return new StatusPage({ state: h.state, handler: h.handler, directives: h.directives, path: PATH, nonce: NONCE });
}

function get(p: StatusPage, target: string, accept = '', method = 'GET'): Promise<McmpReply> {
  return Promise.resolve(p.handle({ methodUpper: method, target, accept, peer: '127.0.0.1:40001' }));
}

/** Reference exchange 7: the page of an empty proxy, 369 bytes. */
const EMPTY_PAGE =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html><head>\n<title>Mod_cluster Status</title>\n</head><body>\n' +
  '<h1>mod_proxy_cluster/2.0.0.Dev</h1><a href="/mod_cluster_manager?refresh=10">Auto Refresh</a> <a href="/mod_cluster_manager?Cmd=DUMP&Range=ALL">show DUMP output</a> <a href="/mod_cluster_manager?Cmd=INFO&Range=ALL">show INFO output</a>\n' +
  '</body></html>\n';

/** Reference exchange 49: the populated page, 3145 bytes. */
const POPULATED_PAGE =
  "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n" +
  "<html><head>\n" +
  "<title>Mod_cluster Status</title>\n" +
  "</head><body>\n" +
  "<h1>mod_proxy_cluster/2.0.0.Dev</h1><a href=\"/mod_cluster_manager?refresh=10\">Auto Refresh</a> <a href=\"/mod_cluster_manager?Cmd=DUMP&Range=ALL\">show DUMP output</a> <a href=\"/mod_cluster_manager?Cmd=INFO&Range=ALL\">show INFO output</a>\n" +
  "<h1> Node probe-foo (ajp://127.0.0.1:17098): </h1>\n" +
  "<a href=\"/mod_cluster_manager?Cmd=ENABLE-APP&Range=NODE&JVMRoute=probe-foo\">Enable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=NODE&JVMRoute=probe-foo\">Disable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=NODE&JVMRoute=probe-foo\">Stop Contexts</a><br/>\n" +
  "Balancer: mycluster,LBGroup: ,Flushpackets: Off,Flushwait: 10000,Ping: 10000000,Smax: -1,Ttl: 60000000,Status: NOTOK,Elected: 0,Read: 10,Transferred: 0,Connected: 0,Load: 0\n" +
  "</pre><h1> Node probe-udp (udp://127.0.0.1:17096): </h1>\n" +
  "<a href=\"/mod_cluster_manager?Cmd=ENABLE-APP&Range=NODE&JVMRoute=probe-udp\">Enable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=NODE&JVMRoute=probe-udp\">Disable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=NODE&JVMRoute=probe-udp\">Stop Contexts</a><br/>\n" +
  "Balancer: mycluster,LBGroup: ,Flushpackets: Off,Flushwait: 10000,Ping: 10000000,Smax: -1,Ttl: 60000000,Status: NOTOK,Elected: 0,Read: 10,Transferred: 0,Connected: 0,Load: 0\n" +
  "</pre><h1> Node probe-lower (ajp://127.0.0.1:17097): </h1>\n" +
  "<a href=\"/mod_cluster_manager?Cmd=ENABLE-APP&Range=NODE&JVMRoute=probe-lower\">Enable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=NODE&JVMRoute=probe-lower\">Disable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=NODE&JVMRoute=probe-lower\">Stop Contexts</a><br/>\n" +
  "Balancer: mycluster,LBGroup: ,Flushpackets: Off,Flushwait: 10000,Ping: 10000000,Smax: -1,Ttl: 60000000,Status: NOTOK,Elected: 0,Read: 10,Transferred: 0,Connected: 0,Load: 0\n" +
  "</pre><h1> Node node1 (ws://127.0.0.1:17010): </h1>\n" +
  "<a href=\"/mod_cluster_manager?Cmd=ENABLE-APP&Range=NODE&JVMRoute=node1\">Enable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=NODE&JVMRoute=node1\">Disable Contexts</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=NODE&JVMRoute=node1\">Stop Contexts</a><br/>\n" +
  "Balancer: mycluster,LBGroup: ,Flushpackets: Off,Flushwait: 10000,Ping: 10000000,Smax: -1,Ttl: 60000000,Status: OK,Elected: 1,Read: 56,Transferred: 199,Connected: 0,Load: 100\n" +
  "<h2> Virtual Host 1:</h2><h3>Contexts:</h3><pre>/app, Status: ENABLED Request: 0 <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=CONTEXT&JVMRoute=node1&Alias=localhost&Context=/app\">Disable</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=CONTEXT&JVMRoute=node1&Alias=localhost&Context=/app\">Stop</a>\n" +
  "</pre><h3>Aliases:</h3><pre>localhost\n" +
  "</pre><h2> Virtual Host 2:</h2><h3>Contexts:</h3><pre>/app, Status: ENABLED Request: 0 <a href=\"/mod_cluster_manager?Cmd=DISABLE-APP&Range=CONTEXT&JVMRoute=node1&Alias=127.0.0.1&Context=/app\">Disable</a> <a href=\"/mod_cluster_manager?Cmd=STOP-APP&Range=CONTEXT&JVMRoute=node1&Alias=127.0.0.1&Context=/app\">Stop</a>\n" +
  "</pre><h3>Aliases:</h3><pre>127.0.0.1\n" +
  "</pre></body></html>\n";

test('the page of an empty proxy is byte-identical to httpd\'s (reference exchange 7)', async () => {
  const h = new Harness({ directives: REFERENCE_DIRECTIVES });
  const r = await get(page(h), PATH);
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers, [['Content-Type', 'text/html; charset=ISO-8859-1']]);
  assert.equal(r.body, EMPTY_PAGE);
  assert.equal(Buffer.byteLength(r.body), 369);
});

test('the populated page is byte-identical to httpd\'s (reference exchange 49)', async () => {
  const h = await referenceCluster();
  for (const route of ['probe-foo', 'probe-udp', 'probe-lower']) await h.ok('REMOVE-APP', `JVMRoute=${route}`, { target: '/*' });
  for (const id of [0, 1, 2]) h.counters.addRead(id, 10);
  const r = await get(page(h), PATH);
  assert.equal(r.body, POPULATED_PAGE);
  assert.equal(Buffer.byteLength(r.body), 3145);
});

test('Cmd=DUMP and Cmd=INFO answer exactly the MCMP output (reference exchange 50)', async () => {
  const h = await referenceCluster();
  const p = page(h);
  const dump = await get(p, `${PATH}?Cmd=DUMP&Range=ALL`);
  assert.deepEqual(dump.headers, [['Content-Type', 'text/plain']]);
  assert.equal(dump.body, REFERENCE_DUMP);
  assert.equal((await get(p, `${PATH}?cmd=info&range=ALL`)).body, REFERENCE_INFO);
  const xml = await get(p, `${PATH}?Cmd=INFO`, 'text/xml');
  assert.deepEqual(xml.headers, [['Content-Type', 'text/xml']]);
  assert.match(xml.body, /^<\?xml version="1.0" standalone="yes" \?>\n<Info>/);
});

test('Refresh=n adds a Refresh header; values below 1 or not numbers give 10', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  const p = page(h);
  for (const [value, expected] of [
    ['5', '5'],
    ['0', '10'],
    ['-3', '10'],
    ['abc', '10'],
  ]) {
    const r = await get(p, `${PATH}?refresh=${value}`);
    assert.equal(header(r, 'Refresh'), expected);
  }
  assert.equal(header(await get(p, `${PATH}?Refresh=7&Cmd=DUMP`), 'Refresh'), '7');
  assert.equal(header(await get(p, PATH), 'Refresh'), undefined);
});

test('with CheckNonce On the links carry the nonce and parameters without it are ignored', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app');
  const p = page(h);
  const shown = await get(p, PATH);
  assert.ok(shown.body.includes(`<a href="${PATH}?nonce=${NONCE}&refresh=10">Auto Refresh</a>`));
  assert.ok(shown.body.includes(`<a href="${PATH}?nonce=${NONCE}&Cmd=DISABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=localhost&Context=/app">Disable</a>`));
  const forged = await get(p, `${PATH}?Cmd=DISABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=localhost&Context=/app&refresh=3`);
  assert.equal(forged.status, 200);
  assert.equal(header(forged, 'Refresh'), undefined, 'every parameter is ignored');
  assert.equal(h.state.contexts()[0]?.status, 1);
  const wrong = await get(p, `${PATH}?nonce=nope&Cmd=DUMP`);
  assert.match(wrong.body, /^<!DOCTYPE/);
  await get(p, `${PATH}?nonce=${NONCE}&Cmd=DISABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=localhost&Context=/app`);
  assert.equal(h.state.contexts()[0]?.status, 2);
});

test('context links follow the state: ENABLED offers Disable/Stop, DISABLED Enable/Stop, STOPPED Enable/Disable', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a&Context=/s');
  await h.ok('DISABLE-APP', 'JVMRoute=n1&Alias=a&Context=/d');
  await h.ok('ENABLE-APP', 'JVMRoute=n1&Alias=a&Context=/e');
  const body = (await get(page(h), PATH)).body;
  const link = (cmd: string, ctx: string, label: string): string => `<a href="${PATH}?Cmd=${cmd}&Range=CONTEXT&JVMRoute=n1&Alias=a&Context=${ctx}">${label}</a>`;
  assert.ok(body.includes(`/s, Status: STOPPED Request: 0 ${link('ENABLE-APP', '/s', 'Enable')} ${link('DISABLE-APP', '/s', 'Disable')}\n`));
  assert.ok(body.includes(`/d, Status: DISABLED Request: 0 ${link('ENABLE-APP', '/d', 'Enable')}  ${link('STOP-APP', '/d', 'Stop')}\n`));
  assert.ok(body.includes(`/e, Status: ENABLED Request: 0 ${link('DISABLE-APP', '/e', 'Disable')} ${link('STOP-APP', '/e', 'Stop')}\n`));
});

test('a context link runs the APP command and the page shows the new state', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=localhost&Context=/app');
  const r = await get(page(h), `${PATH}?Cmd=ENABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=localhost&Context=/app`);
  assert.equal(r.status, 200);
  assert.match(r.body, /^<!DOCTYPE/, 'no MCMP text before the HTML');
  assert.ok(r.body.includes('/app, Status: ENABLED Request: 0 '));
});

test('Range=NODE runs the wildcard command on the node (decision D10)', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a,b&Context=/x,/y');
  await h.ok('CONFIG', 'JVMRoute=n2&Port=8010&Alias=a&Context=/x');
  await get(page(h), `${PATH}?Cmd=ENABLE-APP&Range=NODE&JVMRoute=n1`);
  assert.deepEqual(
    h.state.contexts().map((c) => [c.node, c.status]),
    [
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 1],
      [1, 3],
    ],
  );
});

test('Range=DOMAIN runs the wildcard command on every node of the domain (decision D10)', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=a1&Port=8001&Domain=A&Alias=x&Context=/c');
  await h.ok('CONFIG', 'JVMRoute=b1&Port=8002&Domain=B&Alias=x&Context=/c');
  await h.ok('CONFIG', 'JVMRoute=a2&Port=8003&Domain=A&Alias=x&Context=/c');
  await get(page(h), `${PATH}?Cmd=ENABLE-APP&Range=DOMAIN&Domain=A`);
  assert.deepEqual(
    h.state.contexts().map((c) => [h.state.node(c.node)?.route, c.status]),
    [
      ['a1', 1],
      ['b1', 3],
      ['a2', 1],
    ],
  );
});

test('a failed command shows only the failure after the title, with the MCMP error headers', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  const r = await get(page(h), `${PATH}?Cmd=STOP-APP&Range=CONTEXT&JVMRoute=ghost&Alias=a&Context=/x`);
  assert.equal(r.status, 200);
  assert.equal(header(r, 'Type'), 'MEM');
  assert.equal(header(r, 'Mess'), 'MEM: Can\'t read node with "ghost" JVMRoute');
  assert.equal(header(r, 'Content-Type'), 'text/html; charset=ISO-8859-1');
  assert.equal(
    r.body,
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html><head>\n<title>Mod_cluster Status</title>\n</head><body>\n' +
      "<h1>mod_proxy_cluster/2.0.0.Dev</h1><h1> Command failed: MEM: Can't read node with &quot;ghost&quot; JVMRoute</h1>\n <a href=\"/mod_cluster_manager\">Continue</a>\n</body></html>\n",
  );
});

test('an unknown command with a Range fails with SCMDUNS; CONFIG cannot be run from the page', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  const r = await get(page(h), `${PATH}?Cmd=CONFIG&Range=NODE&JVMRoute=x`);
  assert.ok(r.body.includes('<h1> Command failed: SYNTAX: Command is not supported</h1>'));
  assert.deepEqual(h.state.nodes(), []);
});

test('with AllowCmd Off there are no command links and commands are ignored', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off'], ['AllowCmd', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a&Context=/x');
  const r = await get(page(h), `${PATH}?Cmd=ENABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=a&Context=/x`);
  assert.equal(h.state.contexts()[0]?.status, 3);
  assert.ok(!r.body.includes('Cmd=ENABLE-APP'));
  assert.ok(r.body.includes('<h1> Node n1 (ajp://localhost:8009): </h1>\n<br/>\n'));
  assert.ok(r.body.includes('/x, Status: STOPPED Request: 0 \n'));
});

test('query items without "=" are 400, malformed escapes 400, an encoded / outside Context 404', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a&Context=/x/y');
  const p = page(h);
  assert.equal((await get(p, `${PATH}?Cmd`)).status, 400);
  assert.equal((await get(p, `${PATH}?Cmd=DUMP&x=%G1`)).status, 400);
  assert.equal((await get(p, `${PATH}?Alias=a%2Fb`)).status, 404);
  assert.equal((await get(p, `${PATH}?Alias=a%00`)).status, 404);
  assert.equal((await get(p, `${PATH}?Cmd=DUMP&`)).status, 200, 'a trailing & is tolerated');
  await get(p, `${PATH}?Cmd=ENABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=a&Context=%2Fx%2Fy`);
  assert.equal(h.state.contexts()[0]?.status, 1, 'an encoded / is fine in Context');
});

test('GET and HEAD only, and only on the configured path', async () => {
  const h = new Harness();
  const p = page(h);
  const head = await get(p, PATH, '', 'HEAD');
  const body = await get(p, PATH);
  assert.deepEqual(head, body, 'HEAD gets the same reply; the listener sends no body');
  const post = await get(p, PATH, '', 'POST');
  assert.equal(post.status, 405);
  assert.equal(header(post, 'Allow'), 'GET, HEAD');
  assert.equal((await get(p, '/other')).status, 404);
});

test('a node in error or removed shows Status: NOTOK, a usable one Status: OK', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=ok1&Port=8001');
  await h.ok('CONFIG', 'JVMRoute=bad&Port=8002');
  await h.ok('CONFIG', 'JVMRoute=ok2&Port=8003');
  h.counters.markError(1, 1);
  h.counters.applyLoad(2, 0, 1); // a hot standby is usable
  const body = (await get(page(h), PATH)).body;
  assert.equal(body.match(/Status: OK/g)?.length, 2);
  assert.match(body, /<h1> Node bad \(ajp:\/\/localhost:8002\): <\/h1>\n[^\n]*\nBalancer: mycluster,LBGroup: ,Flushpackets: Off,Flushwait: 10000,Ping: 10000000,Smax: -1,Ttl: 60000000,Status: NOTOK,/);
});

test('nodes are grouped by Domain with one LBGroup heading and domain links per group', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=z&Port=8001&Domain=zone');
  await h.ok('CONFIG', 'JVMRoute=plain&Port=8002');
  await h.ok('CONFIG', 'JVMRoute=a&Port=8003&Domain=alpha');
  await h.ok('CONFIG', 'JVMRoute=z2&Port=8004&Domain=zone');
  const body = (await get(page(h), PATH)).body;
  const order = [...body.matchAll(/<h1> (Node \S+|LBGroup \S+:)/g)].map((m) => m[1]);
  assert.deepEqual(order, ['Node plain', 'LBGroup alpha:', 'Node a', 'LBGroup zone:', 'Node z', 'Node z2']);
  assert.ok(
    body.includes(
      `<h1> LBGroup zone: <a href="${PATH}?Cmd=ENABLE-APP&Range=DOMAIN&Domain=zone">Enable Nodes</a> <a href="${PATH}?Cmd=DISABLE-APP&Range=DOMAIN&Domain=zone">Disable Nodes</a> <a href="${PATH}?Cmd=STOP-APP&Range=DOMAIN&Domain=zone">Stop Nodes</a></h1>\n`,
    ),
  );
});

test('with Maxsessionid the page shows Num sessions per node and the SessionIDs section', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off'], ['Maxsessionid', 10]] });
  await h.ok('CONFIG', 'JVMRoute=n1&Port=8001');
  h.state.recordSession('AAA.n1', 'n1');
  h.state.recordSession('BBB.n1', 'n1');
  const body = (await get(page(h), PATH)).body;
  assert.match(body, /,Load: 0,Num sessions: 2\n/);
  assert.ok(body.endsWith('<h1>SessionIDs:</h1><pre>id: AAA.n1 route: n1\nid: BBB.n1 route: n1\n</pre></body></html>\n'));
});

test('ReduceDisplay gives the compact layout', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off'], ['ReduceDisplay', 'On'], ['AllowCmd', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Port=8001&Domain=d&Alias=a,b&Context=/x');
  const body = (await get(page(h), PATH)).body;
  assert.ok(body.includes('<br/><br/>LBGroup d: <br/><br/>Node n1  OK <br/>\n\n<pre>/x, Status: STOPPED Request: 0 \n</pre>Aliases: a <pre>/x, Status: STOPPED Request: 0 \n</pre>Aliases: b </body></html>\n'), body);
});

test('AllowDisplay adds the module lines', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off'], ['AllowDisplay', 'On']] });
  const body = (await get(page(h), PATH)).body;
  assert.ok(body.includes('<h1>mod_proxy_cluster/2.0.0.Dev</h1>start of "httpd.conf" configuration<br/>mod_proxy_cluster.c: OK<br/>mod_sharedmem.c: missing<br/>Protocol supported: http AJP https<br/>mod_advertise.c: not loaded<br/>end of "httpd.conf" configuration<br/><br/><a href='));
});

test('alias and context texts are HTML-escaped; link values only where they would break the link', async () => {
  const h = new Harness({ directives: [['CheckNonce', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a%26b&Context=/p%26q');
  const body = (await get(page(h), PATH)).body;
  assert.ok(body.includes('<pre>/p&amp;q, Status: STOPPED'));
  assert.ok(body.includes('<pre>a&amp;b\n</pre>'));
  assert.ok(body.includes('&Alias=a%26b&Context=/p%26q">Enable</a>'));
  await get(page(h), `${PATH}?Cmd=ENABLE-APP&Range=CONTEXT&JVMRoute=n1&Alias=a%26b&Context=/p%26q`);
  assert.equal(h.state.contexts()[0]?.status, 1, 'the link round-trips');
});

test('the page title is the VERSION release string', async () => {
  const h = new Harness();
  const version = /release: (\S+),/.exec(await h.ok('VERSION'))?.[1];
  assert.ok((await get(page(h), PATH)).body.includes(`<h1>${version}</h1>`));
});

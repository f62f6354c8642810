import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from './harness';
import { REFERENCE_DUMP, REFERENCE_INFO, referenceCluster } from './reference-cluster';

const XML = 'text/xml';

test('VERSION plain is the 54-byte release line, text/plain', async () => {
  const h = new Harness();
  const r = await h.send('VERSION');
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers, [['Content-Type', 'text/plain']]);
  assert.equal(r.body, 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
  assert.equal(Buffer.byteLength(r.body), 54);
  assert.match(r.body, /mod_(proxy_)?cluster\/\d+\.\d+\.\d+\.(Dev|Alpha\d|Beta\d|CR\d|Final)/);
});

test('VERSION with Accept containing text/xml is the XML form', async () => {
  const h = new Harness();
  const r = await h.send('VERSION', '', { accept: 'application/json, text/xml;q=0.5' });
  assert.deepEqual(r.headers, [['Content-Type', 'text/xml']]);
  assert.equal(r.body, '<?xml version="1.0" standalone="yes" ?>\n<version><release>mod_proxy_cluster/2.0.0.Dev</release><protocol>0.2.1</protocol></version>\n');
});

test('VERSION ignores its body', async () => {
  const h = new Harness();
  assert.equal(await h.ok('VERSION', 'anything=at&all'), 'release: mod_proxy_cluster/2.0.0.Dev, protocol: 0.2.1\n');
});

test('INFO and DUMP on an empty proxy are empty bodies', async () => {
  const h = new Harness();
  for (const m of ['INFO', 'DUMP']) {
    const r = await h.send(m);
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  }
});

test('INFO is byte-identical to httpd\'s (reference exchange 41)', async () => {
  const h = await referenceCluster();
  assert.equal(await h.info(), REFERENCE_INFO);
});

test('DUMP is byte-identical to httpd\'s (reference exchange 42)', async () => {
  const h = await referenceCluster();
  assert.equal(await h.dump(), REFERENCE_DUMP);
});

test('INFO and DUMP ignore their body and the wildcard target (Java sends DUMP /*)', async () => {
  const h = await referenceCluster();
  assert.equal(await h.ok('DUMP', 'x=y', { target: '/*' }), REFERENCE_DUMP);
  assert.equal(await h.ok('INFO', '', { target: '/' }), REFERENCE_INFO);
});

test('INFO shows Connected from the in-flight counter and 64-bit byte counters without wrapping', async () => {
  const h = await referenceCluster();
  h.counters.beginRequest(3, 0);
  h.counters.beginRequest(3, 0);
  h.counters.addRead(3, 2 ** 31 + 5);
  const node1 = (await h.info()).split('\n')[3];
  assert.match(node1 ?? '', /,Read: 2147483709,Transfered: 199,Connected: 2,Load: 100$/);
});

test('INFO in XML (Accept: text/xml)', async () => {
  const h = new Harness({ directives: [['EnableOptions', 'Off']] });
  await h.ok('CONFIG', 'JVMRoute=n1&Host=127.0.0.1&Port=9000&Type=http&Domain=d');
  await h.ok('ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app');
  await h.ok('STATUS', 'JVMRoute=n1&Load=20');
  const r = await h.send('INFO', '', { accept: XML });
  assert.deepEqual(r.headers, [['Content-Type', 'text/xml']]);
  assert.equal(
    r.body,
    '<?xml version="1.0" standalone="yes" ?>\n' +
      '<Info><Nodes><Node id="0" name="n1"><Balancer>mycluster</Balancer><LBGroup>d</LBGroup><Host>127.0.0.1</Host><Port>9000</Port><Type>http</Type><Flushpackets>Off</Flushpackets><Flushwait>10</Flushwait><Ping>10</Ping><Smax>-1</Smax><Ttl>60</Ttl><Elected>0</Elected><Read>0</Read><Transfered>0</Transfered><Connected>0</Connected><Load>20</Load></Node></Nodes>' +
      '<Vhosts><Vhost id="1" alias="localhost"><Node id="0"/></Vhost></Vhosts>' +
      '<Contexts><Context id="0"><Status id="1">ENABLED</Status><Context>/app</Context><Node id="0"/><Vhost id="1"/></Context></Contexts></Info>',
  );
});

test('DUMP in XML (Accept: text/xml)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n1&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app');
  const r = await h.send('DUMP', '', { accept: XML });
  assert.equal(
    r.body,
    '<?xml version="1.0" standalone="yes" ?>\n' +
      '<Dump><Balancers><Balancer id="0" name="mycluster"><StickySession><Enabled>1</Enabled><Cookie>JSESSIONID</Cookie><Path>jsessionid</Path><Remove>0</Remove><Force>1</Force></StickySession><Timeout>0</Timeout><MaxAttempts>1</MaxAttempts></Balancer></Balancers>' +
      '<Nodes><Node id="0"><Balancer>mycluster</Balancer><JVMRoute>n1</JVMRoute><LBGroup></LBGroup><Host>127.0.0.1</Host><Port>9000</Port><Type>http</Type><FlushPackets>0</FlushPackets><FlushWait>10</FlushWait><Ping>10</Ping><Smax>-1</Smax><Ttl>60</Ttl><Timeout>0</Timeout></Node></Nodes>' +
      '<Hosts><Host id="0" alias="localhost"><Vhost>1</Vhost><Node>0</Node></Host></Hosts>' +
      '<Contexts><Context id="0" path="/app"><Vhost>1</Vhost><Node>0</Node><Status id="1">ENABLED</Status></Context></Contexts></Dump>',
  );
});

test('XML values are escaped (decision D18)', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a%26b&Host=127.0.0.1&Port=9000&Type=http&Alias=x%26y&Context=/p%26q');
  const info = await h.ok('INFO', '', { accept: XML });
  assert.ok(info.includes('name="a&amp;b"'));
  assert.ok(info.includes('alias="x&amp;y"'));
  assert.ok(info.includes('<Context>/p&amp;q</Context>'));
  assert.ok(!/&(?!amp;)/.test(info.slice(info.indexOf('<Info>'))));
});

test('a context row with an unexpected status is shown as REMOVED', async () => {
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=n1&Alias=a&Context=/x');
  h.state.putContext('/x', 1, 0, 9 as 1);
  assert.match(await h.info(), /Context: \/x, Status: REMOVED\n/);
});

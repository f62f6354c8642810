// A real Tomcat 10.1 registered as Type=ajp behind the real forwarding threads:
// what the container sees (method, URI, query, headers, addresses, secure),
// bodies both ways, stickiness, balancing, failover, AJPSecret.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { fetchText, newAgent, startHarness, type Harness } from '../forward/fixtures';
import { CONTEXT, startTomcat, tomcatMissing, type Tomcat } from '../helpers/tomcat';

const missing = tomcatMissing();
const skip = missing === null ? false : `why: ${missing}`;

interface Echo {
  method: string;
  uri: string;
  query: string | null;
  protocol: string;
  remoteAddr: string;
  remotePort: number;
  localAddr: string | null;
  localName: string;
  localPort: number;
  serverName: string;
  serverPort: number;
  secure: boolean;
  scheme: string;
  route: string;
  sessionId: string | null;
  bodyBytes: number;
  sha256: string;
  headers: Array<[string, string]>;
}

let tomcat: Tomcat;
let h: Harness;
let agent: Agent;

before(async () => {
  if (missing !== null) return;
  tomcat = await startTomcat({ jvmRoute: 'tc1' });
  h = await startHarness({ threads: 1 });
  h.addNode(0, { port: tomcat.ajpPort }, [[0, CONTEXT]], { type: 'ajp', route: 'tc1' });
  agent = newAgent();
}, { timeout: 180_000 });

after(async () => {
  if (missing !== null) return;
  await agent?.close();
  await h?.close();
  await tomcat?.stop();
}, { timeout: 60_000 });

function echo(body: string): Echo {
  return JSON.parse(body) as Echo;
}

test('GET reaches Tomcat over AJP with the URI, query, client address and Host', { skip, timeout: 60_000 }, async () => {
  const r = await fetchText(agent, h.origin, `${CONTEXT}/echo/a?x=1&y=%20z`, { headers: { 'x-custom': 'v1', host: 'app.example:8080' } });
  assert.equal(r.status, 200, r.body);
  const e = echo(r.body);
  assert.equal(e.method, 'GET');
  assert.equal(e.uri, `${CONTEXT}/echo/a`);
  assert.equal(e.query, 'x=1&y=%20z');
  assert.equal(e.protocol, 'HTTP/1.1');
  assert.equal(e.remoteAddr, '127.0.0.1');
  assert.equal(e.serverName, 'app.example');
  assert.equal(e.serverPort, 8080);
  assert.equal(e.localPort, h.port);
  assert.equal(e.localAddr, '127.0.0.1');
  assert.equal(e.secure, false);
  assert.equal(e.scheme, 'http');
  assert.equal(e.route, 'tc1');
  const names = e.headers.map(([n]) => n.toLowerCase());
  assert.ok(names.includes('x-custom'));
  assert.ok(!names.includes('x-forwarded-for'), 'no X-Forwarded-For for AJP');
});

// A real Tomcat 10.1 registered as Type=ajp behind the real forwarding threads:
// what the container sees (method, URI, query, headers, addresses, secure),
// bodies both ways (1 GiB each way with bounded memory), HEAD, Expect: 100-continue.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { fetchText, newAgent, startHarness, type Harness } from '../forward/fixtures';
import { sendRaw } from '../helpers/raw-http';
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

const GiB = 1024 * 1024 * 1024;
/** The whole test process (client, proxy threads) must stay under this while 1 GiB passes. */
const RSS_LIMIT = 400 * 1024 * 1024;

function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** The servlet's ?size= pattern: byte i is i % 251 within each 64 KiB piece. */
const PIECE = Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 251));

function rssSampler(): () => number {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

function proxyRequest(method: string, path: string, headers: http.OutgoingHttpHeaders = {}): http.ClientRequest {
  return http.request({ host: '127.0.0.1', port: h.port, method, path, headers, agent: false });
}

function responseOf(req: http.ClientRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `total` bytes of the pattern, honouring backpressure; returns their sha256. */
async function pump(out: http.ClientRequest, total: number): Promise<string> {
  const hash = crypto.createHash('sha256');
  let sent = 0;
  while (sent < total) {
    const n = Math.min(PIECE.length, total - sent);
    const piece = n === PIECE.length ? PIECE : PIECE.subarray(0, n);
    hash.update(piece);
    sent += n;
    if (!out.write(piece)) await new Promise((resolve) => out.once('drain', resolve));
  }
  return hash.digest('hex');
}

test('HEAD: the head GET would have, Content-Length included, no body', { skip, timeout: 60_000 }, async () => {
  const res = await responseOf(proxyRequest('HEAD', `${CONTEXT}/h`).end());
  assert.equal(res.statusCode, 200);
  assert.ok(Number(res.headers['content-length']) > 0);
  assert.equal((await readAll(res)).length, 0);
});

test('POST (buffered) and PUT (streamed, 300 KiB with Content-Length): Tomcat reads every byte', { skip, timeout: 60_000 }, async () => {
  const small = Buffer.from('name=alpha&value=42\n');
  const r1 = await fetchText(agent, h.origin, `${CONTEXT}/post`, { method: 'POST', body: small, headers: { 'content-type': 'text/plain' } });
  const e1 = echo(r1.body);
  assert.equal(e1.method, 'POST');
  assert.equal(e1.bodyBytes, small.length);
  assert.equal(e1.sha256, sha256(small));
  const big = crypto.randomBytes(300 * 1024);
  const r2 = await fetchText(agent, h.origin, `${CONTEXT}/put`, { method: 'PUT', body: big });
  const e2 = echo(r2.body);
  assert.equal(e2.method, 'PUT');
  assert.equal(e2.bodyBytes, big.length);
  assert.equal(e2.sha256, sha256(big));
});

test('chunked upload of 3 MiB: Tomcat reads it to the end without a length', { skip, timeout: 60_000 }, async () => {
  const req = proxyRequest('POST', `${CONTEXT}/chunked`, { 'transfer-encoding': 'chunked' });
  const digest = await pump(req, 3 * 1024 * 1024 + 7);
  req.end();
  const e = echo((await readAll(await responseOf(req))).toString());
  assert.equal(e.bodyBytes, 3 * 1024 * 1024 + 7);
  assert.equal(e.sha256, digest);
  assert.ok(!e.headers.some(([n]) => n.toLowerCase() === 'content-length'));
});

test('Expect: 100-continue: the client gets 100 before it sends, Tomcat gets the body', { skip, timeout: 60_000 }, async () => {
  const body = Buffer.alloc(2000, 0x61);
  const socket = net.connect(h.port, '127.0.0.1');
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.write(`POST ${CONTEXT}/expect HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  const deadline = Date.now() + 20_000;
  while (!got.includes('100 Continue') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.match(got, /^HTTP\/1\.1 100 Continue\r\n/);
  socket.write(body);
  while (!/"sha256":"[0-9a-f]+"/.test(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  const json = got.slice(got.indexOf('{'));
  const e = echo(json.slice(0, json.lastIndexOf('}') + 1));
  assert.equal(e.bodyBytes, body.length);
  assert.equal(e.sha256, sha256(body));
  assert.ok(!e.headers.some(([n]) => n.toLowerCase() === 'expect'), 'Expect is answered at the edge, not forwarded');
});

test('a session created by Tomcat carries its jvmRoute and is reported by the response', { skip, timeout: 60_000 }, async () => {
  const r = await fetchText(agent, h.origin, `${CONTEXT}/s?session=1`);
  const cookie = String(r.headers['set-cookie']);
  assert.match(cookie, /JSESSIONID=[0-9A-F]+\.tc1/);
  const again = await fetchText(agent, h.origin, `${CONTEXT}/s`, { headers: { cookie: cookie.split(';')[0] as string } });
  assert.equal(echo(again.body).sessionId, /JSESSIONID=([^;]+)/.exec(cookie)?.[1]);
});

test('1 GiB down from Tomcat over AJP with bounded memory, bytes intact', { skip, timeout: 600_000 }, async (t) => {
  const peak = rssSampler();
  const res = await responseOf(proxyRequest('GET', `${CONTEXT}/down?size=${GiB}&cl=1`).end());
  assert.equal(res.headers['content-length'], String(GiB));
  const hash = crypto.createHash('sha256');
  let count = 0;
  for await (const c of res) {
    count += (c as Buffer).length;
    hash.update(c as Buffer);
  }
  const rss = peak();
  assert.equal(count, GiB);
  const expected = crypto.createHash('sha256');
  for (let i = 0; i < GiB / PIECE.length; i++) expected.update(PIECE);
  assert.equal(hash.digest('hex'), expected.digest('hex'));
  t.diagnostic(`peak RSS ${(rss / 1048576).toFixed(0)} MiB`);
  assert.ok(rss < RSS_LIMIT, `peak RSS ${(rss / 1048576).toFixed(0)} MiB`);
});

test('1 GiB up to Tomcat over AJP (chunked, pulled by GET_BODY_CHUNK) with bounded memory', { skip, timeout: 900_000 }, async (t) => {
  const peak = rssSampler();
  const req = proxyRequest('PUT', `${CONTEXT}/up`, { 'transfer-encoding': 'chunked' });
  const digest = await pump(req, GiB);
  req.end();
  const e = echo((await readAll(await responseOf(req))).toString());
  const rss = peak();
  assert.equal(e.bodyBytes, GiB);
  assert.equal(e.sha256, digest);
  t.diagnostic(`peak RSS ${(rss / 1048576).toFixed(0)} MiB`);
  assert.ok(rss < RSS_LIMIT, `peak RSS ${(rss / 1048576).toFixed(0)} MiB`);
});

test('a WebSocket upgrade routed to an ajp node is served as a plain request, as httpd does (no 101)', { skip, timeout: 60_000 }, async () => {
  const ex = await sendRaw(
    h.port,
    `GET ${CONTEXT}/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    { expect: 1, timeoutMs: 20_000 },
  );
  const r = ex.responses[0];
  assert.equal(r?.status, 200);
  const e = echo(r.body.toString());
  assert.equal(e.uri, `${CONTEXT}/ws`);
  assert.ok(!e.headers.some(([n]) => n.toLowerCase() === 'upgrade'), 'Upgrade is hop-by-hop');
});

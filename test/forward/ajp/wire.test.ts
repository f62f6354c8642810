// The AJP13 client in the real forwarding threads against a fake container
// that speaks the captured bytes: CPING policy, reuse, request bodies pulled
// by GET_BODY_CHUNK, attributes, and every way a container can misbehave
// (malformed, oversized and unknown packets, resets at each point, stalls):
// the client gets 502/503/504 or a closed connection, the node's connection
// is never reused, the thread keeps serving.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, beforeEach, test } from 'node:test';
import { Agent, request } from 'undici';
import { sendRaw } from '../../helpers/raw-http';
import { fetchText, newAgent, startBackend, startHarness, type Backend, type Harness } from '../fixtures';
import { capturedPacket, exchangePackets } from './captures';
import {
  containerPacket,
  CPONG,
  dataOf,
  decodeForward,
  END_CLOSE,
  END_KEEP,
  getBodyChunk,
  isCping,
  sendBodyChunk,
  sendHeaders,
  startFakeContainer,
  type FakeConnection,
  type FakeContainer,
  type Script,
} from './fake-container';

let h: Harness;
let fake: FakeContainer;
let agent: Agent;

const OK_HEAD = capturedPacket(41, 10); // 200, Content-Type: text/plain
const OK_BODY = capturedPacket(41, 11); // "fake ok\n"

/** Answers CPING when one comes first; returns the FORWARD_REQUEST. */
async function forwardRequest(conn: FakeConnection): Promise<Buffer> {
  let p = await conn.next();
  if (isCping(p)) {
    conn.send(CPONG);
    p = await conn.next();
  }
  return p;
}

/** Serves every request of a connection with "fake ok" and reuse=1, recording what came. */
function okScript(seen: Buffer[] = []): Script {
  return async (conn) => {
    for (;;) {
      const p = await forwardRequest(conn);
      seen.push(p);
      conn.send(OK_HEAD, OK_BODY, END_KEEP);
    }
  };
}

before(async () => {
  fake = await startFakeContainer(okScript());
  h = await startHarness({ threads: 1 });
  h.addNode(0, { port: fake.port }, [[0, '/app']], { type: 'ajp', route: 'fake', timeoutUs: 2_000_000, pingUs: 1_000_000 });
});

after(async () => {
  await agent?.close();
  await h.close();
  await fake.close();
});

beforeEach(async () => {
  await agent?.close();
  // A fresh client connection per test: a closed client connection never leaks into the next test.
  agent = newAgent(1);
  // Every test starts with no idle AJP connection: the next request opens a new one.
  for (const c of fake.connections) c.destroy();
  await new Promise((r) => setTimeout(r, 50));
  fake.errors.length = 0;
  healthy();
});

async function get(path: string, init: Parameters<typeof fetchText>[3] = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return fetchText(agent, h.origin, path, init);
}

function healthy(): void {
  h.counters.clearError(0);
}

test('GET: CPING on a new connection, then FORWARD_REQUEST; a second GET reuses it without CPING', async () => {
  const packets: Buffer[] = [];
  fake.setScript(async (conn) => {
    for (;;) {
      const p = await conn.next();
      packets.push(p);
      if (isCping(p)) conn.send(CPONG);
      else conn.send(OK_HEAD, OK_BODY, END_KEEP);
    }
  });
  const before = fake.connections.length;
  const r1 = await get('/app/x?q=1');
  assert.equal(r1.status, 200);
  assert.equal(r1.body, 'fake ok\n');
  const r2 = await get('/app/y');
  assert.equal(r2.body, 'fake ok\n');
  assert.equal(fake.connections.length - before, 1, 'one AJP connection for both');
  assert.deepEqual(packets.map((p) => (isCping(p) ? 'CPING' : 'FORWARD')), ['CPING', 'FORWARD', 'FORWARD']);
  const f = decodeForward(packets[1] as Buffer);
  assert.equal(f.uri, '/app/x');
  assert.deepEqual(f.attributes.get(0x05), ['q=1']);
  assert.equal(f.method, 2);
  assert.ok(!f.headers.some(([n]) => n.toLowerCase().startsWith('x-forwarded')), 'no X-Forwarded-* to AJP nodes');
  assert.equal(decodeForward(packets[2] as Buffer).attributes.has(0x05), false, 'no query: no attribute');
  assert.deepEqual(fake.errors, []);
});

test('a connection idle for more than a second is pinged again before it carries a request', async () => {
  const packets: string[] = [];
  fake.setScript(async (conn) => {
    for (;;) {
      const p = await conn.next();
      packets.push(isCping(p) ? 'CPING' : 'FORWARD');
      if (isCping(p)) conn.send(CPONG);
      else conn.send(OK_HEAD, OK_BODY, END_KEEP);
    }
  });
  await get('/app/1');
  await new Promise((r) => setTimeout(r, 1200));
  await get('/app/2');
  assert.deepEqual(packets, ['CPING', 'FORWARD', 'CPING', 'FORWARD']);
});

test('END_RESPONSE reuse=0 (captured X41): the connection is closed, the next request opens another', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.send(capturedPacket(41, 4), capturedPacket(41, 5), capturedPacket(41, 6));
    await conn.closed;
  });
  const before = fake.connections.length;
  const r1 = await get('/app/a');
  assert.equal(r1.body, 'ok\n');
  const r2 = await get('/app/b');
  assert.equal(r2.body, 'ok\n');
  assert.equal(fake.connections.length - before, 2);
  await fake.connections[before]?.closed;
});

test('AJPSecret, the sticky route and stored methods travel as attributes; Host gives server_name', async () => {
  const seen: Buffer[] = [];
  fake.setScript(okScript(seen));
  h.addNode(0, { port: fake.port }, [[0, '/app']], { type: 'ajp', route: 'fake', ajpSecret: 'top-secret', timeoutUs: 2_000_000, pingUs: 1_000_000 });
  try {
    const r = await get('/app/s', { method: 'PATCH', headers: { cookie: 'JSESSIONID=abc.fake', host: 'Shop.Example:8443', 'x-forwarded-for': '10.1.2.3' }, body: 'x' });
    assert.equal(r.status, 200);
    const f = decodeForward(seen[0] as Buffer);
    assert.deepEqual(f.attributes.get(0x0c), ['top-secret']);
    assert.deepEqual(f.attributes.get(0x06), ['fake']);
    assert.equal(f.method, 0xff);
    assert.deepEqual(f.attributes.get(0x0d), ['PATCH']);
    assert.equal(f.serverName, 'shop.example');
    assert.equal(f.serverPort, h.port);
    assert.equal(f.remoteAddr, '127.0.0.1');
    assert.equal(f.remoteHost, null);
    assert.deepEqual(f.attributes.get(0x0a), ['AJP_LOCAL_ADDR=127.0.0.1']);
    // The client's own X-Forwarded-For passes; the proxy adds none.
    assert.deepEqual(f.headers.filter(([n]) => n === 'x-forwarded-for'), [['x-forwarded-for', '10.1.2.3']]);
    assert.deepEqual(f.headers.find(([n]) => n === 'a009'), ['a009', 'JSESSIONID=abc.fake']);
  } finally {
    h.addNode(0, { port: fake.port }, [[0, '/app']], { type: 'ajp', route: 'fake', timeoutUs: 2_000_000, pingUs: 1_000_000 });
  }
});

test('POST 20 bytes: the body goes unasked right after FORWARD_REQUEST, the next ask gets the empty packet', async () => {
  const got: string[] = [];
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    got.push(dataOf(await conn.next()).toString());
    conn.send(getBodyChunk(8186));
    const end = await conn.next();
    got.push(end.toString('hex'));
    conn.send(OK_HEAD, OK_BODY, END_KEEP);
  });
  const r = await get('/app/post', { method: 'POST', body: 'name=alpha&value=42\n' });
  assert.equal(r.status, 200);
  assert.deepEqual(got, ['name=alpha&value=42\n', '123400020000']);
});

test('a 1 MiB chunked upload is pulled packet by packet (no unasked packet), digest intact', async () => {
  const body = crypto.randomBytes(1024 * 1024);
  let received = 0;
  const hash = crypto.createHash('sha256');
  let largest = 0;
  fake.setScript(async (conn) => {
    const f = decodeForward(await forwardRequest(conn));
    assert.equal(f.method, 5);
    assert.ok(!f.headers.some(([n]) => n === 'a008' || n === 'transfer-encoding'), 'no length invented, no Transfer-Encoding');
    for (;;) {
      conn.send(getBodyChunk(8186));
      const data = dataOf(await conn.next());
      if (data.length === 0) break;
      largest = Math.max(largest, data.length);
      received += data.length;
      hash.update(data);
    }
    conn.send(sendHeaders(201, [['Content-Length', '0']]), END_KEEP);
  });
  const res = await request(`${h.origin}/app/up`, {
    dispatcher: agent,
    method: 'PUT',
    body: Readable.from(
      (function* () {
        for (let i = 0; i < body.length; i += 65536) yield body.subarray(i, i + 65536);
      })(),
    ),
  });
  await res.body.text();
  assert.equal(res.statusCode, 201);
  assert.equal(received, body.length);
  assert.equal(largest, 8186);
  assert.equal(hash.digest('hex'), crypto.createHash('sha256').update(body).digest('hex'));
});

test('request head larger than the packet: 400, the node is not contacted', async () => {
  const before = fake.connections.length;
  const r = await get('/app/big', { headers: { 'x-a': 'a'.repeat(5000), 'x-b': 'b'.repeat(5000) } });
  assert.equal(r.status, 400);
  assert.equal(fake.connections.length, before);
});

test('a null reason phrase (captured X40) gives the standard phrase', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.send(capturedPacket(40, 4), capturedPacket(40, 5), capturedPacket(40, 6));
  });
  const ex = await sendRaw(h.port, 'GET /app/r HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
  assert.equal(ex.responses[0]?.statusLine, 'HTTP/1.1 200 OK');
  assert.equal(ex.responses[0]?.body.toString(), 'ok\n');
});

// ----------------------------------------------------------- misbehaviour

interface Misbehaviour {
  name: string;
  packets: () => Buffer[];
}

const MALFORMED: Misbehaviour[] = [
  { name: 'unknown coded header name (X32)', packets: () => [capturedPacket(32, 4), capturedPacket(32, 5), capturedPacket(32, 6)] },
  { name: 'bad signature (X33)', packets: () => [Buffer.from('XY\x00\x05hello', 'latin1')] },
  { name: 'unknown message type (X38)', packets: () => [capturedPacket(38, 4), capturedPacket(38, 5)] },
  { name: 'two SEND_HEADERS (X39)', packets: () => [capturedPacket(39, 4), capturedPacket(39, 5)] },
  { name: 'oversized packet length', packets: () => [Buffer.from([0x41, 0x42, 0xff, 0xf0, 0x04, 0x00, 0xc8])] },
  { name: 'SEND_BODY_CHUNK length disagreeing with its packet', packets: () => [OK_HEAD, containerPacket(Buffer.from([0x03, 0x00, 0x10, 0x61, 0x00]))] },
  { name: 'END_RESPONSE before SEND_HEADERS', packets: () => [END_KEEP] },
  { name: 'CPONG inside the request', packets: () => [CPONG] },
  { name: 'string running past its packet', packets: () => [containerPacket(Buffer.from([0x04, 0x00, 0xc8, 0x00, 0x40, 0x41]))] },
];

for (const m of MALFORMED) {
  test(`malformed: ${m.name} → 502, connection destroyed, next request on a fresh connection`, async () => {
    fake.setScript(async (conn) => {
      await forwardRequest(conn);
      conn.send(...m.packets());
      await conn.closed;
    });
    const before = fake.connections.length;
    const r = await get('/app/bad');
    assert.equal(r.status, 502, r.body);
    await fake.connections[before]?.closed;
    fake.setScript(okScript());
    const ok = await get('/app/after');
    assert.equal(ok.status, 200);
    assert.equal(fake.connections.length - before, 2, 'the bad connection was not reused');
  });
}

test('bytes after END_RESPONSE: the response is delivered, the connection is not pooled', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.send(OK_HEAD, OK_BODY, END_KEEP, CPONG);
    await conn.closed;
  });
  const before = fake.connections.length;
  const r = await get('/app/extra');
  assert.equal(r.body, 'fake ok\n');
  await fake.connections[before]?.closed;
  fake.setScript(okScript());
  assert.equal((await get('/app/after')).status, 200);
  assert.equal(fake.connections.length - before, 2);
});

test('malformed after the head reached the client: the client connection is closed, not a short 200', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.send(sendHeaders(200, [['Content-Type', 'text/plain']]), sendBodyChunk(Buffer.from('first part\n')));
    await new Promise((r) => setTimeout(r, 300));
    conn.send(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x07]));
    await conn.closed;
  });
  const res = await request(`${h.origin}/app/mid`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.text());
});

test('container closes mid-body (X36): the client sees the connection close before the end', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.send(capturedPacket(36, 4), capturedPacket(36, 5));
    await new Promise((r) => setTimeout(r, 300));
    conn.destroy();
  });
  const res = await request(`${h.origin}/app/midbody`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  await assert.rejects(res.body.text());
});

test('container closes after FORWARD_REQUEST (X34): GET → 503 and the node in error; it recovers', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    conn.destroy();
  });
  const r = await get('/app/close');
  assert.equal(r.status, 503);
  assert.ok(h.counters.errorTime(0) > 0, 'the node is in error');
  fake.setScript(okScript());
  healthy();
});

test('a reset at every point of the cycle: never a hang, never a crash, the next request is served', async () => {
  const points: Array<(conn: FakeConnection) => Promise<void>> = [
    async (c) => c.destroy(),
    async (c) => {
      await c.next();
      c.destroy();
    },
    async (c) => {
      await forwardRequest(c);
      c.send(OK_HEAD.subarray(0, 10));
      c.destroy();
    },
    async (c) => {
      await forwardRequest(c);
      c.send(OK_HEAD);
      c.destroy();
    },
    async (c) => {
      await forwardRequest(c);
      c.send(OK_HEAD, OK_BODY.subarray(0, 7));
      c.destroy();
    },
    async (c) => {
      await forwardRequest(c);
      c.send(OK_HEAD, OK_BODY, END_KEEP.subarray(0, 5));
      c.destroy();
    },
  ];
  for (const [i, point] of points.entries()) {
    fake.setScript(point);
    const res = await request(`${h.origin}/app/reset${i}`, { dispatcher: agent }).catch((err: unknown) => err as Error);
    if (!(res instanceof Error)) {
      assert.ok([200, 502, 503].includes(res.statusCode), `point ${i}: ${res.statusCode}`);
      await res.body.text().catch(() => undefined);
    }
    await agent.close();
    agent = newAgent(1);
    healthy();
  }
  fake.setScript(okScript());
  assert.equal((await get('/app/after')).status, 200);
});

test('no CPONG: CPING is tried once more on a new connection, then 503 (AJP.md §5, X30)', async () => {
  fake.setScript(async (conn) => {
    await conn.next();
    await conn.closed;
  });
  const before = fake.connections.length;
  const started = Date.now();
  const r = await get('/app/nopong');
  assert.equal(r.status, 503);
  assert.equal(fake.connections.length - before, 2, 'two connections, two CPINGs');
  assert.ok(Date.now() - started >= 1900, 'each CPING waited the node ping (1 s)');
  fake.setScript(okScript());
  healthy();
});

test('a container that stalls after FORWARD_REQUEST: 504 after the node Timeout, connection dropped', async () => {
  fake.setScript(async (conn) => {
    await forwardRequest(conn);
    await conn.closed;
  });
  const before = fake.connections.length;
  const r = await get('/app/hang');
  assert.equal(r.status, 504);
  assert.ok(h.counters.errorTime(0) > 0, 'a hung node is put in error (MCMP.md §5.9.5), as for HTTP');
  await fake.connections[before]?.closed;
  fake.setScript(okScript());
});

test('a stale pooled connection (closed by the container while idle) is replaced invisibly', async () => {
  fake.setScript(okScript());
  const before = fake.connections.length;
  assert.equal((await get('/app/1')).status, 200);
  fake.connections[before]?.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await get('/app/2')).status, 200);
  assert.equal(fake.connections.length - before, 2);
});

test('failover: an idempotent GET whose AJP node drops the connection goes to an HTTP node of the same context; POST does not', async () => {
  let backend: Backend | undefined;
  try {
    backend = await startBackend('http-node');
    fake.setScript(async (conn) => {
      await forwardRequest(conn);
      conn.destroy();
    });
    h.addNode(1, backend, [[1, '/app']], { type: 'http' });
    // The session names the AJP node: it is tried first.
    const sticky = { cookie: 'JSESSIONID=abc.fake' };
    let before = fake.connections.length;
    const r = await get('/app/fo', { headers: sticky });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).backend, 'http-node');
    assert.ok(fake.connections.length > before, 'the AJP node was tried first');
    assert.ok(h.counters.errorTime(0) > 0, 'and put in error');
    healthy();
    before = fake.connections.length;
    const post = await get('/app/fo', { method: 'POST', body: 'x'.repeat(10), headers: sticky });
    assert.ok(fake.connections.length > before, 'the AJP node was tried');
    assert.equal(post.status, 503, 'POST is not sent to another node');
  } finally {
    h.publish({ nodes: [[1, undefined]], contexts: [[1, undefined]] });
    healthy();
    fake.setScript(okScript());
    await backend?.close();
  }
});

test('the thread survived all of the above: a plain GET still works', async () => {
  fake.setScript(okScript());
  assert.equal((await get('/app/final')).status, 200);
  assert.deepEqual(fake.errors, []);
});

// Referenced so that an unused import does not hide a missing scenario.
void exchangePackets;
void END_CLOSE;

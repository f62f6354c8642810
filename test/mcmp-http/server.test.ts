import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { AllowList } from '../../src/mcmp/http/allow';
import { ManagerServer, ManagerServerError, type RequestHandler } from '../../src/mcmp/http/server';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { closedWithin, MCMP_METHODS, TRACE, startServer, talk, waitFor, WARN } from './helpers';

const CONFIG_BODY = 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp';

test('a Java CONFIG and STATUS on one keep-alive connection: 200 OK, Content-Length, Server, no close', async () => {
  const s = await startServer();
  try {
    const ex = await sendRaw(s.port, [mcmpRequest('CONFIG', CONFIG_BODY), mcmpRequest('STATUS', 'JVMRoute=node1&Load=87')], { expect: 2 });
    assert.equal(ex.responses.length, 2);
    const [a, b] = ex.responses;
    assert.equal(a?.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(a?.headers['content-length'], String(Buffer.byteLength(`CONFIG / ${CONFIG_BODY}`)));
    assert.equal(a?.headers.server, 'mcmp-edge-test');
    assert.equal(a?.headers.connection, undefined);
    assert.equal(a?.headers['transfer-encoding'], undefined);
    assert.match(a?.headers.date ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(a?.body.toString(), `CONFIG / ${CONFIG_BODY}`);
    assert.equal(b?.body.toString(), 'STATUS / JVMRoute=node1&Load=87');
    assert.equal(ex.closed, false);
    assert.equal(s.seen.length, 2);
  } finally {
    await s.close();
  }
});

test('every status goes out with its standard reason phrase (Java reads the code between the first two spaces)', async () => {
  const statuses = [200, 204, 400, 403, 404, 500, 501, 503];
  const s = await startServer({ handler: (req) => ({ status: Number(req.target.slice(1)) }) });
  try {
    for (const status of statuses) {
      const ex = await sendRaw(s.port, mcmpRequest('INFO', '', `/${status}`), { expect: 1 });
      const line = ex.responses[0]?.statusLine ?? '';
      const parts = line.split(' ');
      assert.equal(parts[1], String(status), line);
      assert.ok(parts.length >= 3 && (parts[2] ?? '').length > 0, `reason phrase missing in ${line}`);
    }
    const ex = await sendRaw(s.port, mcmpRequest('INFO', '', '/500'), { expect: 1 });
    assert.equal(ex.responses[0]?.statusLine, 'HTTP/1.1 500 Internal Server Error');
  } finally {
    await s.close();
  }
});

test('HTTP/1.0: status line HTTP/1.1, no Content-Length, no chunking, Connection: close, close-delimited body (reference #3)', async () => {
  const s = await startServer();
  try {
    const ex = await sendRaw(s.port, 'VERSION / HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: raw-client/1\r\n\r\n');
    assert.equal(ex.closed, true);
    const r = ex.responses[0];
    assert.equal(r?.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(r?.headers['content-length'], undefined);
    assert.equal(r?.headers['transfer-encoding'], undefined);
    assert.equal(r?.headers.connection, 'close');
    assert.equal(r?.body.toString(), 'VERSION / ');
  } finally {
    await s.close();
  }
});

test('Connection: close is answered with Connection: close and the connection ends', async () => {
  const s = await startServer();
  try {
    const ex = await sendRaw(s.port, 'PING / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nINFO / HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(ex.closed, true);
    assert.equal(ex.responses.length, 1);
    assert.equal(ex.responses[0]?.headers.connection, 'close');
    assert.equal(ex.responses[0]?.headers['content-length'], '7');
    assert.equal(s.seen.length, 1);
  } finally {
    await s.close();
  }
});

test('HEAD gets the GET headers with its Content-Length and no body bytes', async () => {
  const page = '<html>status page</html>\n';
  const s = await startServer({ handler: () => ({ status: 200, headers: [['Content-Type', 'text/html']], body: page }) });
  try {
    // The GET after the HEAD would be misread if the HEAD reply carried any body byte.
    const ex = await sendRaw(s.port, 'HEAD /mod_cluster_manager HTTP/1.1\r\nHost: h\r\n\r\nGET /mod_cluster_manager HTTP/1.1\r\nHost: h\r\n\r\n', { expect: 2, headOnly: new Set([0]) });
    assert.equal(ex.responses.length, 2);
    assert.equal(ex.responses[0]?.headers['content-length'], String(page.length));
    assert.equal(ex.responses[0]?.raw.toString().endsWith('\r\n\r\n'), true);
    assert.equal(ex.responses[1]?.body.toString(), page);
    assert.equal(ex.rest.length, 0);
    assert.equal(s.seen[0]?.method, 'HEAD');
    assert.equal(s.seen[0]?.methodUpper, 'GET');
  } finally {
    await s.close();
  }
  const explicit = await startServer({ methods: new Set(['GET', 'HEAD']), handler: () => ({ status: 200, body: page }) });
  try {
    const ex = await sendRaw(explicit.port, 'HEAD / HTTP/1.0\r\n\r\n', { headOnly: new Set([0]) });
    assert.equal(ex.closed, true);
    assert.equal(ex.responses[0]?.raw.toString().endsWith('\r\n\r\n'), true);
    assert.equal(explicit.seen[0]?.methodUpper, 'HEAD');
  } finally {
    await explicit.close();
  }
});

test('unknown method: 501 with Allow, a text body and Connection: close; the handler never sees it (reference #18, #70)', async () => {
  const s = await startServer();
  try {
    for (const method of ['FOO-APP', 'STATUS-RSP', 'POST']) {
      const ex = await sendRaw(s.port, `${method} / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\nJVMRoute=probe-x`);
      assert.equal(ex.closed, true);
      const r = ex.responses[0];
      assert.equal(r?.statusLine, 'HTTP/1.1 501 Not Implemented');
      assert.equal(r?.headers.allow, [...MCMP_METHODS, 'GET', 'HEAD'].join(', '));
      assert.equal(r?.headers.connection, 'close');
      assert.match(r?.headers['content-type'] ?? '', /^text\/plain/);
      assert.ok(r?.body.toString().includes(method));
    }
    assert.equal(s.seen.length, 0);
    assert.ok(s.logs.some((l) => l.level === WARN && l.status === 501 && l.peer?.startsWith('127.0.0.1:')));
  } finally {
    await s.close();
  }
});

test('parse errors answer 400/505 with Connection: close after the earlier replies, and never reach the handler', async () => {
  const s = await startServer();
  try {
    const cases: Array<[string, number]> = [
      ['VERSION * HTTP/1.1\r\nHost: 127.0.0.1:17001\r\nConnection: close\r\n\r\n', 400],
      ['ENABLE-APP * HTTP/1.1\r\nHost: h\r\nContent-Length: 14\r\n\r\nJVMRoute=node1', 400],
      ['INFO / HTTP/2.0\r\nHost: h\r\n\r\n', 505],
      ['INFO / HTTP/1.1\nHost: h\n\n', 400],
      ['CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ];
    for (const [input, status] of cases) {
      const ex = await sendRaw(s.port, input);
      assert.equal(ex.closed, true, input);
      assert.equal(ex.responses.length, 1, input);
      assert.equal(ex.responses[0]?.status, status, input);
      assert.equal(ex.responses[0]?.headers.connection, 'close');
      assert.ok((ex.responses[0]?.body.length ?? 0) > 0);
    }
    assert.equal(s.seen.length, 0);
    // A good request before a bad one is answered first, then the error, then close.
    const ex = await sendRaw(s.port, `${mcmpRequest('INFO')}BAD REQUEST LINE\r\n\r\n${mcmpRequest('PING')}`);
    assert.deepEqual(ex.responses.map((r) => r.status), [200, 400]);
    assert.equal(ex.closed, true);
    assert.equal(s.seen.length, 1);
  } finally {
    await s.close();
  }
});

test('chunked request bodies reach the handler de-chunked', async () => {
  const s = await startServer();
  try {
    const ex = await sendRaw(s.port, 'ENABLE-APP / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nJVMRoute\r\n6;x=y\r\n=node1\r\n0\r\nTrailer: t\r\n\r\n', { expect: 1 });
    assert.equal(ex.responses[0]?.body.toString(), 'ENABLE-APP / JVMRoute=node1');
  } finally {
    await s.close();
  }
});

test('a body over maxBodySize: the handler sees bodyTooLarge, then the connection closes', async () => {
  const s = await startServer({
    maxBodySize: 100,
    handler: (req) => ({ status: 500, headers: [['Type', 'SYNTAX']], body: req.bodyTooLarge ? 'too large' : 'ok' }),
  });
  try {
    const big = 'x'.repeat(5000);
    const ex = await sendRaw(s.port, [mcmpRequest('CONFIG', big), mcmpRequest('INFO')]);
    assert.equal(ex.closed, true);
    assert.equal(ex.responses.length, 1);
    assert.equal(ex.responses[0]?.body.toString(), 'too large');
    assert.equal(ex.responses[0]?.headers.connection, 'close');
    assert.equal(s.seen.length, 1);
    assert.equal(s.seen[0]?.bodyTooLarge, true);
    assert.equal(s.seen[0]?.body.length, 0);
  } finally {
    await s.close();
  }
});

test('a peer outside the allow list gets 403 + close and the handler is never called', async () => {
  const s = await startServer({ allow: AllowList.parse('127.0.0.1/32') });
  try {
    const refused = await sendRaw(s.port, mcmpRequest('CONFIG', CONFIG_BODY), { localAddress: '127.0.0.2' });
    assert.equal(refused.closed, true);
    assert.equal(refused.responses.length, 1);
    assert.equal(refused.responses[0]?.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.equal(refused.responses[0]?.headers.connection, 'close');
    assert.equal(s.seen.length, 0);
    assert.ok(s.logs.some((l) => l.level === WARN && l.peer?.startsWith('127.0.0.2:')));
    const allowed = await sendRaw(s.port, mcmpRequest('INFO'), { localAddress: '127.0.0.1', expect: 1 });
    assert.equal(allowed.responses[0]?.status, 200);
    assert.equal(s.seen.length, 1);
  } finally {
    await s.close();
  }
});

test('a handler that throws or rejects: 500 text reply, warn log with the peer, connection and server keep going', async () => {
  const s = await startServer({
    handler: (req) => {
      if (req.target === '/throw') throw new Error('boom sync');
      if (req.target === '/reject') return Promise.reject(new Error('boom async'));
      return { status: 200, body: 'fine' };
    },
  });
  try {
    const ex = await sendRaw(s.port, [mcmpRequest('INFO', '', '/throw'), mcmpRequest('INFO', '', '/reject'), mcmpRequest('INFO', '', '/')], { expect: 3 });
    assert.deepEqual(ex.responses.map((r) => r.statusLine), ['HTTP/1.1 500 Internal Server Error', 'HTTP/1.1 500 Internal Server Error', 'HTTP/1.1 200 OK']);
    assert.match(ex.responses[0]?.headers['content-type'] ?? '', /^text\/plain/);
    assert.ok((ex.responses[0]?.body.length ?? 0) > 0);
    assert.equal(ex.responses[2]?.body.toString(), 'fine');
    const warns = s.logs.filter((l) => l.level === WARN && l.peer?.startsWith('127.0.0.1:'));
    assert.ok(warns.some((l) => String(l.err).includes('boom sync')));
    assert.ok(warns.some((l) => String(l.err).includes('boom async')));
  } finally {
    await s.close();
  }
});

test('a handler response that would break framing or inject headers becomes a 500', async () => {
  const bad = [
    { status: 200, headers: [['Content-Length', '5']] as Array<[string, string]> },
    { status: 200, headers: [['Transfer-Encoding', 'chunked']] as Array<[string, string]> },
    { status: 200, headers: [['X-Evil', 'a\r\nSet-Cookie: x=y']] as Array<[string, string]> },
    { status: 200, headers: [['Bad Name', 'v']] as Array<[string, string]> },
    { status: 99 },
    { status: 1000 },
    { status: 204, body: 'not allowed' },
  ];
  const s = await startServer({ handler: (req) => bad[Number(req.target.slice(1))] ?? { status: 200 } });
  try {
    for (let i = 0; i < bad.length; i++) {
      const ex = await sendRaw(s.port, mcmpRequest('INFO', '', `/${i}`), { expect: 1 });
      assert.equal(ex.responses[0]?.status, 500, JSON.stringify(bad[i]));
      assert.equal(ex.responses[0]?.headers['set-cookie'], undefined);
    }
    assert.equal(s.logs.filter((l) => l.level === WARN).length, bad.length);
  } finally {
    await s.close();
  }
});

test('one trace line per request with method, target, status and peer', async () => {
  const s = await startServer({ handler: () => ({ status: 404 }) });
  try {
    await sendRaw(s.port, mcmpRequest('DUMP', '', '/*'), { expect: 1 });
    const lines = s.logs.filter((l) => l.level === TRACE && l.method === 'DUMP');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.target, '/*');
    assert.equal(lines[0]?.status, 404);
    assert.match(lines[0]?.peer ?? '', /^127\.0\.0\.1:\d+$/);
  } finally {
    await s.close();
  }
});

test('Expect: 100-continue gets an interim 100 before the body is sent', async () => {
  const s = await startServer();
  try {
    const socket = net.connect({ port: s.port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('CONFIG / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    assert.ok(await waitFor(() => Buffer.concat(received).toString().includes('\r\n\r\n')));
    assert.equal(Buffer.concat(received).toString(), 'HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('a=b&c');
    assert.ok(await waitFor(() => Buffer.concat(received).toString().includes('CONFIG / a=b&c')));
    assert.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    socket.destroy();
  } finally {
    await s.close();
  }
});

test('close(): stops accepting, ends idle connections at once, lets an in-flight reply finish with Connection: close', async () => {
  let release: (() => void) | null = null;
  const s = await startServer({
    handler: (req) => (req.target === '/slow' ? new Promise((r) => { release = () => r({ status: 200, body: 'late' }); }) : { status: 200, body: 'quick' }),
  });
  const idle = net.connect({ port: s.port, host: '127.0.0.1' });
  await new Promise<void>((r) => idle.once('connect', () => r()));
  const busy = talk(s.port, [mcmpRequest('INFO', '', '/slow')], { timeoutMs: 5000 });
  assert.ok(await waitFor(() => release !== null));
  assert.equal(s.server.connections, 2);
  let closed = false;
  const closing = s.close().then(() => { closed = true; });
  assert.equal(await closedWithin(idle, 2000), true, 'idle connection ended');
  await assert.rejects(
    new Promise<void>((resolve, reject) => {
      const c = net.connect({ port: s.port, host: '127.0.0.1' });
      c.on('error', reject);
      c.on('connect', () => { c.destroy(); resolve(); });
    }),
    'no new connections',
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, 'close waits for the in-flight reply');
  (release as unknown as () => void)();
  const ex = await busy;
  assert.equal(ex.responses[0]?.body.toString(), 'late');
  assert.equal(ex.responses[0]?.headers.connection, 'close');
  assert.equal(ex.closed, true);
  await closing;
  assert.equal(s.server.connections, 0);
});

test('connections counts open client connections', async () => {
  const s = await startServer();
  try {
    const sockets = await Promise.all([1, 2, 3].map(() => new Promise<net.Socket>((r) => {
      const c = net.connect({ port: s.port, host: '127.0.0.1' }, () => r(c));
    })));
    assert.ok(await waitFor(() => s.server.connections === 3));
    for (const c of sockets) c.destroy();
    assert.ok(await waitFor(() => s.server.connections === 0));
  } finally {
    await s.close();
  }
});

test('listen() rejects when the port is taken; bad options throw ManagerServerError', async () => {
  const s = await startServer();
  const logger = pino({ level: 'silent' });
  const base = { host: '127.0.0.1', allow: AllowList.parse('127.0.0.1'), handler: () => ({ status: 200 }), methods: new Set(['INFO']), maxBodySize: 10, logger };
  try {
    const second = new ManagerServer({ ...base, port: s.port });
    await assert.rejects(second.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await second.close();
  } finally {
    await s.close();
  }
  assert.throws(() => new ManagerServer({ ...base, port: 0, methods: new Set(['config']) }), ManagerServerError);
  assert.throws(() => new ManagerServer({ ...base, port: 0, maxPipelined: 0 }), ManagerServerError);
  assert.throws(() => new ManagerServer({ ...base, port: 0, maxBodySize: -1 }), ManagerServerError);
});

test('a reply with close: true carries Connection: close and ends the connection; later pipelined requests are not handled', async () => {
  const s = await startServer({ handler: (req) => ({ status: 500, headers: [['Type', 'SYNTAX']], body: 'x', close: req.target === '/last' }) });
  try {
    const ex = await sendRaw(s.port, [mcmpRequest('INFO', '', '/first'), mcmpRequest('INFO', '', '/last'), mcmpRequest('INFO', '', '/never')].join(''));
    assert.equal(ex.closed, true);
    assert.equal(ex.responses.length, 2);
    assert.equal(ex.responses[0]?.headers.connection, undefined);
    assert.equal(ex.responses[1]?.headers.connection, 'close');
    assert.deepEqual(s.seen.map((r) => r.target), ['/first', '/last']);
  } finally {
    await s.close();
  }
});

test('a handler (plain JS) that returns nothing gets a 500, not a crash', async () => {
  const s = await startServer({ handler: ((req: { target: string }) => (req.target === '/sync' ? undefined : Promise.resolve(null))) as unknown as RequestHandler });
  try {
    const ex = await sendRaw(s.port, [mcmpRequest('INFO', '', '/sync'), mcmpRequest('INFO', '', '/async')].join(''), { expect: 2 });
    assert.deepEqual(ex.responses.map((r) => r.status), [500, 500]);
    assert.equal(s.logs.filter((l) => l.level === WARN).length, 2);
  } finally {
    await s.close();
  }
});

test('a lower-case method reaches the handler as its upper-case name (reference #19)', async () => {
  const s = await startServer();
  try {
    const ex = await sendRaw(s.port, 'config / HTTP/1.1\r\nHost: 127.0.0.1:17001\r\nConnection: close\r\nContent-Length: 46\r\n\r\nJVMRoute=probe-lower&Host=127.0.0.1&Port=17097');
    assert.equal(ex.responses[0]?.status, 200);
    assert.equal(ex.responses[0]?.body.toString(), 'CONFIG / JVMRoute=probe-lower&Host=127.0.0.1&Port=17097');
    assert.equal(s.seen[0]?.method, 'config');
  } finally {
    await s.close();
  }
});

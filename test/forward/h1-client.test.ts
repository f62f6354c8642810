// The purpose-built HTTP/1.1 upstream client (src/forward/upstream/h1) against real
// loopback servers: node:http where behaviour matters, raw node:net servers
// where the exact bytes do (framing, resets, malformed heads).
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { H1Pool, type H1PoolOptions } from '../../src/forward/upstream/h1/pool';

const LOOPBACK = '127.0.0.1';

// ------------------------------------------------------------------ helpers

interface Outcome {
  status: number;
  statusText: string;
  /** Header names lower-cased, values as text, in order. */
  headers: Array<[string, string]>;
  body: Buffer;
  trailers: Buffer[] | null;
  /** Set when the request failed (then `complete` is false). */
  error: (Error & { code?: string }) | null;
  complete: boolean;
  /** Number of onHeaders calls (interim responses must not reach it). */
  headCalls: number;
  bodySent: number;
}

interface Collect {
  /** onData returns false every n-th chunk and resumes on the next macrotask. */
  pauseEvery?: number;
  /** Hash the body instead of keeping it. */
  hashOnly?: boolean;
  /** Called with the abort function (onConnect). */
  onConnect?: (abort: (err?: Error) => void) => void;
  onHeaders?: (abort: (err?: Error) => void) => void;
}

/** Sends one request and collects what the handler hears, with a bound on time. */
function send(pool: H1Pool, options: Dispatcher.DispatchOptions, collect: Collect = {}, timeoutMs = 20_000): Promise<Outcome & { hash: string }> {
  return new Promise((resolve, reject) => {
    const out: Outcome = { status: 0, statusText: '', headers: [], body: Buffer.alloc(0), trailers: null, error: null, complete: false, headCalls: 0, bodySent: 0 };
    const parts: Buffer[] = [];
    const hash = createHash('sha256');
    let chunks = 0;
    let abort: (err?: Error) => void = () => {};
    let settled = false;
    const timer = setTimeout(() => reject(new Error(`no outcome within ${timeoutMs} ms`)), timeoutMs);
    const finish = (): void => {
      if (settled) {
        reject(new Error('the handler heard two endings'));
        return;
      }
      settled = true;
      clearTimeout(timer);
      out.body = Buffer.concat(parts);
      // Let a second ending show up as a failure of the next assertion run.
      setImmediate(() => resolve({ ...out, hash: hash.digest('hex') }));
    };
    const handler: Dispatcher.DispatchHandlers = {
      onConnect(a) {
        abort = a;
        collect.onConnect?.(a);
      },
      onBodySent(n) {
        out.bodySent += n;
      },
      onHeaders(status, headers, resume, statusText) {
        out.headCalls++;
        out.status = status;
        out.statusText = statusText;
        for (let i = 0; i < headers.length; i += 2) out.headers.push([String(headers[i]).toLowerCase(), String(headers[i + 1])]);
        collect.onHeaders?.(abort);
        return resume !== undefined;
      },
      onData(chunk) {
        // The chunk is a view into a reused buffer: use it now.
        if (collect.hashOnly === true) hash.update(chunk);
        else parts.push(Buffer.from(chunk));
        chunks++;
        if (collect.pauseEvery !== undefined && chunks % collect.pauseEvery === 0) {
          setImmediate(() => resumeRef.fn?.());
          return false;
        }
        return true;
      },
      onComplete(trailers) {
        out.complete = true;
        out.trailers = trailers as unknown as Buffer[] | null;
        finish();
      },
      onError(err) {
        out.error = err;
        finish();
      },
    };
    const resumeRef: { fn: (() => void) | null } = { fn: null };
    const onHeaders = handler.onHeaders?.bind(handler);
    handler.onHeaders = (status, headers, resume, statusText) => {
      resumeRef.fn = resume;
      return (onHeaders as NonNullable<typeof onHeaders>)(status, headers, resume, statusText);
    };
    pool.dispatch(options, handler);
  });
}

function header(o: Outcome, name: string): string | undefined {
  return o.headers.find(([n]) => n === name)?.[1];
}

interface RawServer {
  readonly port: number;
  readonly origin: string;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A node:net server; `onRequest` runs for each request head received (body-less requests) on a connection. */
function rawServer(onRequest: (socket: net.Socket, head: string, index: number, connIndex: number) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const connIndex = state.accepted++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let data = '';
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      for (let end = data.indexOf('\r\n\r\n'); end >= 0; end = data.indexOf('\r\n\r\n')) {
        const head = data.slice(0, end);
        data = data.slice(end + 4);
        onRequest(socket, head, index++, connIndex);
      }
    });
  });
  const state: RawServer = {
    port: 0,
    origin: '',
    accepted: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve) => {
    server.listen(0, LOOPBACK, () => {
      const port = (server.address() as AddressInfo).port;
      Object.assign(state, { port, origin: `http://${LOOPBACK}:${port}` });
      resolve(state);
    });
  });
}

interface HttpServer {
  readonly origin: string;
  accepted: number;
  /** Most connections open at once. */
  peak: number;
  readonly closedAt: number[];
  close(): Promise<void>;
}

function httpServer(handler: http.RequestListener): Promise<HttpServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  let open = 0;
  const state: HttpServer = {
    origin: '',
    accepted: 0,
    peak: 0,
    closedAt: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: net.Socket) => {
    state.accepted++;
    open++;
    state.peak = Math.max(state.peak, open);
    socket.on('close', () => {
      open--;
      state.closedAt.push(Date.now());
    });
  });
  return new Promise((resolve) => {
    server.listen(0, LOOPBACK, () => {
      Object.assign(state, { origin: `http://${LOOPBACK}:${(server.address() as AddressInfo).port}` });
      resolve(state);
    });
  });
}

const pools: H1Pool[] = [];
function pool(origin: string, options: H1PoolOptions = {}): H1Pool {
  const p = new H1Pool(origin, options);
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
});

function get(path = '/'): Dispatcher.DispatchOptions {
  return { path, method: 'GET', headers: ['host', 'node.test'], body: null };
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `bytes` one small piece at a time, so that every parser state meets a read boundary. */
async function dribble(socket: net.Socket, bytes: string, piece = 3): Promise<void> {
  for (let i = 0; i < bytes.length && !socket.destroyed; i += piece) {
    socket.write(bytes.slice(i, i + piece), 'latin1');
    await new Promise((r) => setTimeout(r, 2));
  }
}

// ------------------------------------------------------------------ framing

describe('h1 client: response framing', () => {
  it('Content-Length body, status text and headers as sent', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 201 Made It\r\nX-One: a b \r\nContent-Length: 5\r\n\r\nhello'));
    try {
      const r = await send(pool(s.origin), get());
      assert.equal(r.error, null);
      assert.equal(r.status, 201);
      assert.equal(r.statusText, 'Made It');
      assert.equal(header(r, 'x-one'), 'a b');
      assert.equal(r.body.toString(), 'hello');
      assert.equal(r.complete, true);
    } finally {
      await s.close();
    }
  });

  it('chunked with extensions and trailers, whole and dribbled across reads', async () => {
    const response =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '5;name=value\r\nhello\r\n' + '6 ; a="b;c"\r\n world\r\n' + 'A\r\n0123456789\r\n' + '0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n';
    const s = await rawServer((socket, _head, index) => {
      if (index === 0) socket.write(response, 'latin1');
      else void dribble(socket, response);
    });
    try {
      const p = pool(s.origin);
      for (let i = 0; i < 2; i++) {
        const r = await send(p, get());
        assert.equal(r.error, null, `request ${i}`);
        assert.equal(r.body.toString(), 'hello world0123456789');
        assert.deepEqual(
          (r.trailers ?? []).map((b) => b.toString()),
          ['X-Checksum', 'abc', 'X-Other', '1'],
        );
      }
      assert.equal(s.accepted, 1, 'both responses on one connection');
    } finally {
      await s.close();
    }
  });

  it('a head dribbled across many reads, then a Content-Length body', async () => {
    const s = await rawServer((socket) => void dribble(socket, 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 4\r\n\r\nabcd', 2));
    try {
      const r = await send(pool(s.origin), get());
      assert.equal(r.error, null);
      assert.equal(header(r, 'x-a'), '1');
      assert.equal(r.body.toString(), 'abcd');
    } finally {
      await s.close();
    }
  });

  it('a close-delimited body ends with the connection, which is not reused', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\nuntil the end');
      setTimeout(() => socket.end(), 20);
    });
    try {
      const p = pool(s.origin);
      const r = await send(p, get());
      assert.equal(r.error, null);
      assert.equal(r.complete, true);
      assert.equal(r.body.toString(), 'until the end');
      const r2 = await send(p, get());
      assert.equal(r2.body.toString(), 'until the end');
      assert.equal(s.accepted, 2);
    } finally {
      await s.close();
    }
  });

  it('HEAD, 204 and 304 have no body, whatever length they announce; the connection carries on', async () => {
    const s = await rawServer((socket, head) => {
      if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      else if (head.startsWith('GET /204')) socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n');
      else if (head.startsWith('GET /304')) socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    try {
      const p = pool(s.origin, { headersTimeout: 2000, bodyTimeout: 2000 });
      const started = Date.now();
      const h = await send(p, { ...get(), method: 'HEAD' });
      assert.equal(h.error, null);
      assert.equal(header(h, 'content-length'), '100');
      assert.equal(h.body.length, 0);
      const n = await send(p, get('/204'));
      assert.equal(n.status, 204);
      assert.equal(n.complete, true);
      const m = await send(p, get('/304'));
      assert.equal(m.status, 304);
      assert.equal(m.complete, true);
      const last = await send(p, get('/x'));
      assert.equal(last.body.toString(), 'ok');
      assert.ok(Date.now() - started < 1500, 'no wait for a body that never comes');
      assert.equal(s.accepted, 1);
    } finally {
      await s.close();
    }
  });

  it('1xx interim responses are skipped; only the final head reaches the handler', async () => {
    const s = await rawServer((socket) =>
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    try {
      const r = await send(pool(s.origin), get());
      assert.equal(r.error, null);
      assert.equal(r.headCalls, 1);
      assert.equal(r.status, 200);
      assert.equal(header(r, 'link'), undefined);
      assert.equal(r.body.toString(), 'ok');
    } finally {
      await s.close();
    }
  });
});

// ------------------------------------------------------------------ requests

describe('h1 client: request writing', () => {
  it('head and a Buffer body in one write with Content-Length; Host added when absent; POST without body says length 0', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(Buffer.from(chunk));
        const text = Buffer.concat(received).toString('latin1');
        const answered = text.split('HTTP/1.1\r\n').length - 1;
        if ((answered === 1 && text.endsWith('abc')) || (answered === 2 && text.endsWith('\r\n\r\n'))) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    const port = (server.address() as AddressInfo).port;
    try {
      const p = pool(`http://${LOOPBACK}:${port}`);
      const r = await send(p, { path: '/up?q=1', method: 'POST', headers: ['x-a', '1', 'content-length', '3'], body: Buffer.from('abc') });
      assert.equal(r.error, null);
      assert.equal(r.bodySent, 3);
      assert.equal(received.length, 1, 'one write');
      assert.equal(received[0]?.toString('latin1'), `POST /up?q=1 HTTP/1.1\r\nx-a: 1\r\nhost: ${LOOPBACK}:${port}\r\ncontent-length: 3\r\n\r\nabc`);
      const r2 = await send(p, { path: '/e', method: 'POST', headers: ['host', 'h'], body: null });
      assert.equal(r2.error, null);
      assert.ok(Buffer.concat(received).toString('latin1').endsWith('POST /e HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n'));
    } finally {
      server.close();
    }
  });

  it('a Readable body without a length goes chunked; with a declared length it goes as is', async () => {
    const seen: Array<{ te: string | undefined; cl: string | undefined; body: string }> = [];
    const s = await httpServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        seen.push({ te: req.headers['transfer-encoding'], cl: req.headers['content-length'], body: Buffer.concat(parts).toString() });
        res.end('ok');
      });
    });
    try {
      const p = pool(s.origin);
      const a = await send(p, { path: '/', method: 'PUT', headers: ['host', 'h'], body: Readable.from([Buffer.from('one '), Buffer.from('two')]) });
      assert.equal(a.error, null);
      assert.equal(a.bodySent, 7);
      const b = await send(p, { path: '/', method: 'PUT', headers: ['host', 'h', 'content-length', '7'], body: Readable.from([Buffer.from('one '), Buffer.from('two')]) });
      assert.equal(b.error, null);
      assert.deepEqual(seen, [
        { te: 'chunked', cl: undefined, body: 'one two' },
        { te: undefined, cl: '7', body: 'one two' },
      ]);
      const short = await send(p, { path: '/', method: 'PUT', headers: ['host', 'h', 'content-length', '9'], body: Readable.from([Buffer.from('one two')]) });
      assert.equal(short.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    } finally {
      await s.close();
    }
  });

  it('requests undici would refuse fail with UND_ERR_INVALID_ARG before any connection', async () => {
    const s = await rawServer(() => {});
    try {
      const p = pool(s.origin);
      for (const bad of [
        { ...get(), path: '/a b' },
        { ...get(), headers: ['x-a', 'v\r\nInjected: 1'] },
        { ...get(), headers: ['bad name', 'v'] },
        { ...get(), method: 'G T' },
        { ...get(), headers: ['connection', 'upgrade'] },
        { ...get(), headers: ['host', 'a', 'host', 'b'] },
        { ...get(), headers: ['upgrade', 'websocket'] },
      ]) {
        const r = await send(p, bad as Dispatcher.DispatchOptions);
        assert.equal(r.error?.code, 'UND_ERR_INVALID_ARG', JSON.stringify(bad));
      }
      assert.equal(s.accepted, 0);
    } finally {
      await s.close();
    }
  });
});

// ------------------------------------------------------------------ the pool

describe('h1 client: connections', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const s = await httpServer((_req, res) => res.end('x'));
    try {
      const p = pool(s.origin);
      for (let i = 0; i < 20; i++) {
        const r = await send(p, get());
        assert.equal(r.body.toString(), 'x');
      }
      assert.equal(s.accepted, 1);
    } finally {
      await s.close();
    }
  });

  it('smax caps the connections; requests beyond wait their turn, never pipelined', async () => {
    let inFlight = 0;
    let peakInFlight = 0;
    const s = await httpServer((_req, res) => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 20);
    });
    try {
      const p = pool(s.origin, { connections: 2 });
      const replies = await Promise.all(Array.from({ length: 10 }, () => send(p, get())));
      assert.deepEqual(
        replies.map((r) => r.status),
        Array(10).fill(200),
      );
      assert.equal(s.accepted, 2);
      assert.equal(s.peak, 2);
      assert.equal(peakInFlight, 2, 'one request per connection at a time');
    } finally {
      await s.close();
    }
  });

  it('closes a connection idle for the keep-alive time (ttl)', async () => {
    const s = await httpServer((_req, res) => res.end('ok'));
    try {
      const p = pool(s.origin, { keepAliveTimeout: 200, keepAliveMaxTimeout: 200 });
      await send(p, get());
      const done = Date.now();
      await waitFor(() => s.closedAt.length === 1, 3000, 'the idle connection to close');
      const idle = (s.closedAt[0] as number) - done;
      assert.ok(idle >= 150 && idle < 1500, `closed after ${idle} ms`);
      assert.equal(p.connectionCount, 0);
    } finally {
      await s.close();
    }
  });

  it('connection: close asked by the caller is not sent as a header but ends the connection after the response', async () => {
    const heads: string[] = [];
    const s = await rawServer((socket, head) => {
      heads.push(head);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    try {
      const p = pool(s.origin);
      for (let i = 0; i < 2; i++) assert.equal((await send(p, { ...get(), headers: ['host', 'h', 'connection', 'close'] })).body.toString(), 'ok');
      assert.equal(s.accepted, 2);
      assert.ok(heads.every((h) => !/connection/i.test(h)), heads.join('|'));
      const e = await send(p, { ...get(), headers: ['host', 'h', 'expect', '100-continue'] });
      assert.equal(e.error?.code, 'UND_ERR_NOT_SUPPORTED');
    } finally {
      await s.close();
    }
  });

  it('Connection: close from the node: the next request gets a new connection', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'));
    try {
      const p = pool(s.origin);
      for (let i = 0; i < 3; i++) assert.equal((await send(p, get())).body.toString(), 'ok');
      assert.equal(s.accepted, 3);
    } finally {
      await s.close();
    }
  });

  it('close() lets running requests finish; destroy() fails them with UND_ERR_DESTROYED', async () => {
    const s = await httpServer((_req, res) => setTimeout(() => res.end('late'), 50));
    try {
      const p = pool(s.origin);
      const running = send(p, get());
      await new Promise((r) => setTimeout(r, 10));
      const closed = p.close();
      const refused = await send(p, get());
      assert.equal(refused.error?.code, 'UND_ERR_CLOSED');
      assert.equal((await running).body.toString(), 'late');
      await closed;
      assert.equal(p.connectionCount, 0);

      const q = pool(s.origin);
      const cut = send(q, get());
      await new Promise((r) => setTimeout(r, 10));
      await q.destroy();
      assert.equal((await cut).error?.code, 'UND_ERR_DESTROYED');
    } finally {
      await s.close();
    }
  });

  it('abort() from the handler ends the request with that error and drops the connection', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    try {
      const p = pool(s.origin);
      const reason = Object.assign(new Error('client went away'), { code: 'ERR_TEST_ABORT' });
      const r = await send(p, get(), { onHeaders: (abort) => setTimeout(() => abort(reason), 20) });
      assert.equal(r.error, reason);
      assert.equal(r.complete, false);
      await waitFor(() => p.connectionCount === 0, 2000, 'the connection to go');
    } finally {
      await s.close();
    }
  });
});

// ------------------------------------------------------------------ big bodies

describe('h1 client: large bodies with backpressure', () => {
  const SIZE = 64 * 1024 * 1024;

  /** Deterministic bytes: a 1 MiB pattern repeated. */
  function pattern(): Buffer {
    const b = Buffer.allocUnsafe(1024 * 1024);
    for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
    return b;
  }
  function expectedHash(block: Buffer, total: number): string {
    const h = createHash('sha256');
    for (let sent = 0; sent < total; sent += block.length) h.update(block);
    return h.digest('hex');
  }
  function source(block: Buffer, total: number): Readable {
    let sent = 0;
    return new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (sent >= total) {
          this.push(null);
          return;
        }
        sent += block.length;
        // Small pieces: the socket pushes back long before the body is out.
        for (let o = 0; o < block.length; o += 64 * 1024) this.push(block.subarray(o, o + 64 * 1024));
      },
    });
  }

  it('64 MiB down (Content-Length and chunked) with the handler pausing, bytes intact', async () => {
    const block = pattern();
    const want = expectedHash(block, SIZE);
    const s = await httpServer((req, res) => {
      if (req.url === '/cl') res.setHeader('content-length', SIZE);
      const src = source(block, SIZE);
      src.pipe(res);
    });
    try {
      const p = pool(s.origin);
      for (const path of ['/cl', '/chunked']) {
        const r = await send(p, get(path), { hashOnly: true, pauseEvery: 7 }, 60_000);
        assert.equal(r.error, null, path);
        assert.equal(r.complete, true);
        assert.equal(r.hash, want, `${path}: bytes intact`);
      }
      assert.equal(s.accepted, 1);
    } finally {
      await s.close();
    }
  });

  it('64 MiB up (chunked and with a length), bytes intact at the node', async () => {
    const block = pattern();
    const want = expectedHash(block, SIZE);
    const s = await httpServer((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        h.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ n, hash: h.digest('hex') })));
    });
    try {
      const p = pool(s.origin);
      for (const headers of [['host', 'h'], ['host', 'h', 'content-length', String(SIZE)]]) {
        const r = await send(p, { path: '/up', method: 'POST', headers, body: source(block, SIZE) }, {}, 60_000);
        assert.equal(r.error, null);
        assert.deepEqual(JSON.parse(r.body.toString()), { n: SIZE, hash: want });
        assert.equal(r.bodySent, SIZE);
      }
    } finally {
      await s.close();
    }
  });
});

// ------------------------------------------------------------------ errors

describe('h1 client: failures', () => {
  it('connection refused: ECONNREFUSED', async () => {
    const s = await rawServer(() => {});
    const origin = s.origin;
    await s.close();
    const r = await send(pool(origin), get());
    assert.equal(r.error?.code, 'ECONNREFUSED');
  });

  it('reset before any response byte on a fresh connection: a connection-level error', async () => {
    const s = await rawServer((socket) => socket.resetAndDestroy());
    try {
      const r = await send(pool(s.origin), get());
      assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(r.error?.code ?? ''), String(r.error?.code));
      assert.equal(r.complete, false);
    } finally {
      await s.close();
    }
  });

  it('a kept-alive connection reset or closed before the response: an idempotent request goes again on a fresh connection, others fail with UND_ERR_SOCKET', async () => {
    for (const end of ['reset', 'close'] as const) {
      const s = await rawServer((socket, _head, index) => {
        if (index === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else if (end === 'reset') socket.resetAndDestroy();
        else socket.end();
      });
      try {
        const p = pool(s.origin);
        assert.equal((await send(p, get())).body.toString(), 'ok');
        const again = await send(p, get());
        assert.equal(again.error, null, end);
        assert.equal(again.body.toString(), 'ok', `${end}: answered on a fresh connection`);
        assert.equal(s.accepted, 2);
        const post = await send(p, { path: '/p', method: 'POST', headers: ['host', 'h'], body: Buffer.from('x') });
        assert.equal(post.error?.code, 'UND_ERR_SOCKET', `${end}: a POST is not sent twice`);
        assert.equal(s.accepted, 2);
      } finally {
        await s.close();
      }
    }
  });

  it('reset or close in the middle of a body (Content-Length, chunked): an error, never a complete short body', async () => {
    const cases = [
      { head: 'Content-Length: 100', body: 'only ten..', end: 'reset' },
      { head: 'Content-Length: 100', body: 'only ten..', end: 'close' },
      { head: 'Transfer-Encoding: chunked', body: '64\r\nonly ten..', end: 'reset' },
      { head: 'Transfer-Encoding: chunked', body: '5\r\nhello\r\n', end: 'close' },
    ];
    for (const c of cases) {
      const s = await rawServer((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\n${c.head}\r\n\r\n${c.body}`);
        setTimeout(() => (c.end === 'reset' ? socket.resetAndDestroy() : socket.end()), 30);
      });
      try {
        const r = await send(pool(s.origin), get());
        assert.equal(r.complete, false, JSON.stringify(c));
        assert.ok(r.error !== null && typeof r.error.code === 'string', JSON.stringify(c));
        assert.equal(r.status, 200);
      } finally {
        await s.close();
      }
    }
  });

  it('malformed status lines and headers: HPE_INVALID_RESPONSE', async () => {
    const bad = [
      'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n',
      'ICY 200 OK\r\n\r\n',
      'HTTP/2.0 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ];
    for (const response of bad) {
      const s = await rawServer((socket) => socket.write(response, 'latin1'));
      try {
        const r = await send(pool(s.origin), get());
        assert.equal(r.error?.code, 'HPE_INVALID_RESPONSE', JSON.stringify(response));
        assert.equal(r.complete, false);
      } finally {
        await s.close();
      }
    }
  });

  it('ResponseFieldSize (maxHeaderSize) bounds the response head', async () => {
    const s = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300)}\r\nContent-Length: 2\r\n\r\nok`));
    try {
      const small = await send(pool(s.origin, { maxHeaderSize: 256 }), get());
      assert.equal(small.error?.code, 'UND_ERR_HEADERS_OVERFLOW');
      const large = await send(pool(s.origin, { maxHeaderSize: 1024 }), get());
      assert.equal(large.error, null);
      assert.equal(large.body.toString(), 'ok');
    } finally {
      await s.close();
    }
  });

  it('a head larger than 64 KiB: UND_ERR_HEADERS_OVERFLOW', async () => {
    const s = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`));
    try {
      const r = await send(pool(s.origin), get());
      assert.equal(r.error?.code, 'UND_ERR_HEADERS_OVERFLOW');
    } finally {
      await s.close();
    }
  });

  it('no head in time: UND_ERR_HEADERS_TIMEOUT; a body that stalls: UND_ERR_BODY_TIMEOUT', async () => {
    const s = await rawServer((socket, head) => {
      if (head.startsWith('GET /body')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    try {
      const p = pool(s.origin, { headersTimeout: 150, bodyTimeout: 150 });
      let started = Date.now();
      const h = await send(p, get('/head'));
      assert.equal(h.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
      assert.ok(Date.now() - started >= 140, 'not before the timeout');
      started = Date.now();
      const b = await send(p, get('/body'));
      assert.equal(b.status, 200);
      assert.equal(b.error?.code, 'UND_ERR_BODY_TIMEOUT');
      assert.ok(Date.now() - started >= 140);
    } finally {
      await s.close();
    }
  });

  it('a paused response is not cut by the body timeout', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab');
      setTimeout(() => socket.write('cd'), 20);
    });
    try {
      const p = pool(s.origin, { bodyTimeout: 100 });
      let resume: (() => void) | null = null;
      const outcome = await new Promise<string>((resolve) => {
        p.dispatch(get(), {
          onConnect() {},
          onHeaders(_s, _h, r) {
            resume = r;
            return true;
          },
          onData() {
            setTimeout(() => resume?.(), 300);
            return false;
          },
          onComplete() {
            resolve('complete');
          },
          onError(err) {
            resolve((err as { code?: string }).code ?? 'error');
          },
        });
      });
      assert.equal(outcome, 'complete');
    } finally {
      await s.close();
    }
  });
});

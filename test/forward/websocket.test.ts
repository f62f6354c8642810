// WebSocket tunnelling through real forwarding threads (MCMP.md §5.12, §7.1
// EnableWsTunnel/WSUpgradeHeader): uWS back ends on loopback, undici WebSocket
// clients, raw upgrade requests where the status of a refused upgrade matters.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { WebSocket, type CloseEvent, type MessageEvent } from 'undici';
import { loadUws } from '../../native-bindings/uws';
import type { NodeRow } from '../../src/slots/rows';
import { NodeFlag } from '../../src/slots/counters';
import { closeCodeForNode, closeForClient, nodeTunnels, offeredProtocols } from '../../src/forward/websocket/tunnel';
import { sendRaw } from '../helpers/raw-http';
import { nodeRow, startBackend, startHarness, waitFor, type Backend, type Harness } from './fixtures';

const WS_NODE: Partial<NodeRow> = { type: 'ws', upgrade: 'websocket' };

// ------------------------------------------------------------ the back end

interface UpgradeSeen {
  url: string;
  headers: Record<string, string>;
}

interface WsBackend {
  readonly name: string;
  readonly port: number;
  readonly upgrades: UpgradeSeen[];
  readonly plain: UpgradeSeen[];
  /** Close frames received from the proxy. */
  readonly closes: Array<{ code: number; reason: string }>;
  open: number;
  close(): void;
}

const HEADERS_SEEN = ['host', 'cookie', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'sec-websocket-protocol', 'origin'];

function seen(req: { getUrl(): string; getQuery(): string | undefined; getHeader(name: string): string }): UpgradeSeen {
  const headers: Record<string, string> = {};
  for (const name of HEADERS_SEEN) headers[name] = req.getHeader(name);
  const q = req.getQuery();
  return { url: q === undefined || q === '' ? req.getUrl() : `${req.getUrl()}?${q}`, headers };
}

/**
 * A uWS WebSocket echo server. Text `who` answers the server's name; text
 * `close:CODE:REASON` makes it close; `flood:N:SIZE` sends N binary messages
 * of SIZE bytes at once; a path under /refuse answers 403 to the
 * upgrade. The protocol chosen is `superchat` when offered, else the first one.
 */
async function startWsBackend(name: string): Promise<WsBackend> {
  const uws = loadUws();
  const app: TemplatedApp = uws.App();
  let listen: us_listen_socket | null = null;
  const backend: WsBackend = {
    name,
    port: 0,
    upgrades: [],
    plain: [],
    closes: [],
    open: 0,
    close() {
      if (listen !== null) uws.us_listen_socket_close(listen);
      listen = null;
      (app as TemplatedApp & { close(): void }).close();
    },
  };
  app.any('/*', (res, req) => {
    backend.plain.push(seen(req));
    res.end(`plain ${name}`);
  });
  app.ws<{ name: string }>('/*', {
    maxPayloadLength: 4 * 1024 * 1024,
    // The flood must reach the proxy, not be dropped here.
    maxBackpressure: 256 * 1024 * 1024,
    upgrade: (res, req, context) => {
      const s = seen(req);
      backend.upgrades.push(s);
      if (s.url.startsWith('/app/refuse')) {
        res.writeStatus('403 Forbidden').end('no');
        return;
      }
      const offered = offeredProtocols(s.headers['sec-websocket-protocol'] ?? '');
      const chosen = offered.includes('superchat') ? 'superchat' : (offered[0] ?? '');
      res.upgrade({ name }, req.getHeader('sec-websocket-key'), chosen, req.getHeader('sec-websocket-extensions'), context);
    },
    open: () => {
      backend.open++;
    },
    message: (ws, message, isBinary) => {
      if (!isBinary) {
        const text = Buffer.from(message).toString('utf8');
        if (text === 'who') {
          ws.send(name, false);
          return;
        }
        const flood = /^flood:(\d+):(\d+)$/.exec(text);
        if (flood !== null) {
          const chunk = Buffer.alloc(Number(flood[2]), 1);
          for (let i = 0; i < Number(flood[1]); i++) ws.send(chunk, true);
          return;
        }
        const m = /^close:(\d+):(.*)$/.exec(text);
        if (m !== null) {
          ws.end(Number(m[1]), m[2]);
          return;
        }
      }
      ws.send(message, isBinary);
    },
    close: (_ws, code, message) => {
      backend.open--;
      backend.closes.push({ code, reason: Buffer.from(message).toString('utf8') });
    },
  });
  await new Promise<void>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket) => {
      if (socket === false) reject(new Error('ws back end cannot listen'));
      else {
        listen = socket;
        resolve();
      }
    }),
  );
  return Object.assign(backend, { port: uws.us_socket_local_port(listen as unknown as us_socket) });
}

// ------------------------------------------------------------- the client

interface Client {
  readonly ws: WebSocket;
  next(): Promise<string | ArrayBuffer>;
  closed: Promise<CloseEvent>;
}

const STEP_MS = 3000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), STEP_MS).unref())]);
}

/** Opens a WebSocket through the proxy; rejects when it closes before opening. */
async function connect(h: Harness, path: string, init: { protocols?: string[]; cookie?: string } = {}): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}${path}`, {
    protocols: init.protocols ?? [],
    headers: init.cookie !== undefined ? { cookie: init.cookie } : {},
  });
  ws.binaryType = 'arraybuffer';
  const queue: Array<string | ArrayBuffer> = [];
  const waiters: Array<(d: string | ArrayBuffer) => void> = [];
  ws.onmessage = (ev: MessageEvent) => {
    const data = ev.data as string | ArrayBuffer;
    const w = waiters.shift();
    if (w !== undefined) w(data);
    else queue.push(data);
  };
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', (ev) => resolve(ev)));
  await within(
    new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('close', (ev) => reject(new Error(`closed before open: ${ev.code}`)));
      // undici 6 fires only 'error' when the handshake fails before a socket exists.
      ws.addEventListener('error', (ev) => reject(new Error(`failed before open: ${ev.message}`)));
    }),
    `open ${path}`,
  );
  return {
    ws,
    closed,
    next: () => {
      const d = queue.shift();
      if (d !== undefined) return Promise.resolve(d);
      return within(new Promise((resolve) => waiters.push(resolve)), 'message');
    },
  };
}

function upgradeRequest(path: string, extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function assertIdle(h: Harness, nodes: number[], contexts: number[]): Promise<void> {
  return waitFor(
    () => nodes.every((n) => h.counters.busy(n) === 0) && contexts.every((c) => h.counters.contextRequests(c) === 0),
    STEP_MS,
    'counters back to zero',
  );
}

// ------------------------------------------------------------------ tests

describe('websocket tunnel helpers', () => {
  it('tunnels only ws/wss nodes whose token is * or the requested protocol', () => {
    const row = (over: Partial<NodeRow>): NodeRow => nodeRow(0, 'n', 1, over);
    assert.equal(nodeTunnels(row({ type: 'ws', upgrade: 'websocket' }), 'WebSocket'), true);
    assert.equal(nodeTunnels(row({ type: 'wss', upgrade: '*' }), 'websocket'), true);
    assert.equal(nodeTunnels(row({ type: 'ws', upgrade: 'other' }), 'websocket'), false);
    assert.equal(nodeTunnels(row({ type: 'ws', upgrade: '' }), 'websocket'), false);
    assert.equal(nodeTunnels(row({ type: 'http', upgrade: 'websocket' }), 'websocket'), false);
  });

  it('maps close codes to what each side may send', () => {
    assert.equal(closeCodeForNode(1000), 1000);
    assert.equal(closeCodeForNode(4321), 4321);
    assert.equal(closeCodeForNode(1005), undefined);
    assert.equal(closeCodeForNode(1001), 1000);
    assert.equal(closeForClient(1005), 'empty');
    assert.equal(closeForClient(1006), 'abort');
    assert.equal(closeForClient(1011), 1011);
    assert.equal(closeForClient(4000), 4000);
    assert.deepEqual(offeredProtocols(' chat, superchat ,,x'), ['chat', 'superchat', 'x']);
  });
});

describe('websocket tunnel through the proxy', () => {
  let h: Harness;
  let a: WsBackend;
  let b: WsBackend;
  before(async () => {
    [h, a, b] = await Promise.all([startHarness({ threads: 2 }), startWsBackend('node0'), startWsBackend('node1')]);
    h.addNode(0, a, [[0, '/app']], WS_NODE);
    h.addNode(1, b, [[1, '/app']], WS_NODE);
  });
  after(async () => {
    await h.close();
    a.close();
    b.close();
  });

  it('echoes text and binary messages, keeps the frame type, forwards X-Forwarded-* and counts the tunnel', async () => {
    const upgradesBefore = a.upgrades.length + b.upgrades.length;
    const c = await connect(h, '/app/echo?x=1');
    const node = a.open === 1 ? 0 : 1;
    const backend = node === 0 ? a : b;
    assert.equal(a.open + b.open, 1);
    assert.equal(h.counters.busy(node), 1);
    assert.equal(h.counters.contextRequests(node), 1);
    const read0 = h.counters.read(node);
    const sent0 = h.counters.transferred(node);

    c.ws.send('héllo');
    assert.equal(await c.next(), 'héllo');
    c.ws.send(new Uint8Array([0, 1, 2, 255]));
    const bin = await c.next();
    assert.ok(bin instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(bin)], [0, 1, 2, 255]);
    const big = Buffer.alloc(200_000, 7);
    c.ws.send(big);
    const bigBack = await c.next();
    assert.ok(bigBack instanceof ArrayBuffer);
    assert.equal(Buffer.compare(Buffer.from(bigBack), big), 0);

    // Byte counters are published at the end of the forwarding thread's event-loop turn (slots/turn-batch.ts).
    const tunnelled = BigInt(6 + 4 + 200_000);
    await waitFor(() => h.counters.read(node) - read0 >= tunnelled && h.counters.transferred(node) - sent0 >= tunnelled, STEP_MS, 'tunnel bytes counted');
    assert.equal(h.counters.read(node) - read0, tunnelled);
    assert.equal(h.counters.transferred(node) - sent0, tunnelled);
    assert.equal(a.upgrades.length + b.upgrades.length, upgradesBefore + 1);
    const up = backend.upgrades[backend.upgrades.length - 1] as UpgradeSeen;
    assert.equal(up.url, '/app/echo?x=1');
    assert.equal(up.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(up.headers['x-forwarded-proto'], 'http');
    assert.equal(up.headers['x-forwarded-host'], `127.0.0.1:${h.port}`);
    assert.equal(up.headers['host'], `127.0.0.1:${h.port}`);

    c.ws.close(1000, 'done');
    const ev = await within(c.closed, 'close');
    assert.equal(ev.code, 1000);
    await assertIdle(h, [0, 1], [0, 1]);
  });

  it('relays the subprotocol the node selects', async () => {
    const c = await connect(h, '/app/proto', { protocols: ['chat', 'superchat'] });
    assert.equal(c.ws.protocol, 'superchat');
    const backend = a.open === 1 ? a : b;
    assert.equal(backend.upgrades[backend.upgrades.length - 1]?.headers['sec-websocket-protocol'], 'chat, superchat');
    c.ws.close();
    await within(c.closed, 'close');
    await assertIdle(h, [0, 1], [0, 1]);
  });

  it('relays close codes and reasons both ways', async () => {
    const c1 = await connect(h, '/app/c1');
    const closesBefore = a.closes.length + b.closes.length;
    c1.ws.close(4001, 'client bye');
    await within(c1.closed, 'client close');
    await waitFor(() => a.closes.length + b.closes.length > closesBefore, STEP_MS, 'node sees the close');
    const last = [...a.closes, ...b.closes].find((x) => x.code === 4001);
    assert.deepEqual(last, { code: 4001, reason: 'client bye' });

    const c2 = await connect(h, '/app/c2');
    c2.ws.send('close:4002:node bye');
    const ev = await within(c2.closed, 'node close');
    assert.equal(ev.code, 4002);
    assert.equal(ev.reason, 'node bye');

    const c3 = await connect(h, '/app/c3');
    c3.ws.send('close:1011:oops');
    const ev3 = await within(c3.closed, 'node close 1011');
    assert.equal(ev3.code, 1011);
    assert.equal(ev3.reason, 'oops');
    await assertIdle(h, [0, 1], [0, 1]);
  });

  it('keeps a session on its node: the sticky cookie routes the upgrade', async () => {
    for (const route of ['node1', 'node0', 'node1']) {
      const c = await connect(h, '/app/sticky', { cookie: `JSESSIONID=abc.${route}` });
      c.ws.send('who');
      assert.equal(await c.next(), route);
      const backend = route === 'node0' ? a : b;
      assert.equal(backend.upgrades[backend.upgrades.length - 1]?.headers['cookie'], `JSESSIONID=abc.${route}`);
      c.ws.close();
      await within(c.closed, 'close');
    }
    await assertIdle(h, [0, 1], [0, 1]);
  });

  it('answers the node refusal status when the node answers the handshake without switching', async () => {
    const r = await sendRaw(h.port, upgradeRequest('/app/refuse'), { expect: 1, timeoutMs: STEP_MS });
    assert.equal(r.responses[0]?.status, 403);
    assert.equal(h.counters.flags(0) & NodeFlag.InError, 0);
    assert.equal(h.counters.flags(1) & NodeFlag.InError, 0);
    await assertIdle(h, [0, 1], [0, 1]);
  });
});

describe('websocket upgrade to nodes that do not tunnel', () => {
  let h: Harness;
  let a: Backend;
  before(async () => {
    [h, a] = await Promise.all([startHarness({ threads: 1 }), startBackend('plain0')]);
  });
  after(async () => {
    await h.close();
    await a.close();
  });

  it('forwards the upgrade request as plain HTTP to an http node, without Upgrade', async () => {
    h.addNode(0, a, [[0, '/app']], { type: 'http', upgrade: '' });
    const r = await sendRaw(h.port, upgradeRequest('/app/x'), { expect: 1, timeoutMs: STEP_MS });
    assert.equal(r.responses[0]?.status, 200);
    const echoed = JSON.parse(r.responses[0]?.body.toString() ?? '') as { backend: string; url: string; headers: Record<string, string> };
    assert.equal(echoed.backend, 'plain0');
    assert.equal(echoed.url, '/app/x');
    assert.equal(echoed.headers['upgrade'], undefined);
    // A WebSocket client sees a failed handshake, not a hang.
    await assert.rejects(connect(h, '/app/x'), /before open/);
    await assertIdle(h, [0], [0]);
  });

  it('does not tunnel to a ws node whose token names another protocol', async () => {
    h.addNode(0, a, [[0, '/app']], { type: 'ws', upgrade: 'other' });
    const r = await sendRaw(h.port, upgradeRequest('/app/y'), { expect: 1, timeoutMs: STEP_MS });
    assert.equal(r.responses[0]?.status, 200);
    assert.equal((a.seen[a.seen.length - 1]?.headers ?? {})['upgrade'], undefined);
    await assertIdle(h, [0], [0]);
  });

  it('answers a request outside every context like a plain one (404)', async () => {
    const r = await sendRaw(h.port, upgradeRequest('/nowhere'), { expect: 1, timeoutMs: STEP_MS });
    assert.equal(r.responses[0]?.status, 404);
  });
});

describe('websocket node failures and thread stop', () => {
  it('puts a refusing node in error and answers 503', async () => {
    const h = await startHarness({ threads: 1 });
    try {
      const port = await closedPort();
      h.addNode(0, { port }, [[0, '/app']], WS_NODE);
      const r = await sendRaw(h.port, upgradeRequest('/app/ws'), { expect: 1, timeoutMs: STEP_MS });
      assert.equal(r.responses[0]?.status, 503);
      assert.notEqual(h.counters.flags(0) & NodeFlag.InError, 0);
      assert.equal(h.counters.elected(0), 0);
      await assertIdle(h, [0], [0]);
    } finally {
      await h.close();
    }
  });

  it('fails over to another ws node when the first refuses', async () => {
    const [h, b] = await Promise.all([startHarness({ threads: 1 }), startWsBackend('good')]);
    try {
      const port = await closedPort();
      // Both idle: the tie goes to the first worker, the refusing one.
      h.addNode(0, { port }, [[0, '/app']], WS_NODE);
      h.addNode(1, b, [[1, '/app']], WS_NODE);
      const c = await connect(h, '/app/ws');
      c.ws.send('who');
      assert.equal(await c.next(), 'good');
      assert.notEqual(h.counters.flags(0) & NodeFlag.InError, 0);
      c.ws.close();
      await within(c.closed, 'close');
      await assertIdle(h, [0, 1], [0, 1]);
    } finally {
      await h.close();
      b.close();
    }
  });

  it('closes a tunnel whose client does not read once the proxy holds too much for it (1013)', async () => {
    const [h, b] = await Promise.all([startHarness({ threads: 1 }), startWsBackend('flood')]);
    const socket = net.connect(h.port, '127.0.0.1');
    try {
      h.addNode(0, b, [[0, '/app']], WS_NODE);
      socket.write(upgradeRequest('/app/flood'));
      const head = await within(
        new Promise<string>((resolve) => {
          let got = '';
          const onData = (d: Buffer): void => {
            got += d.toString('latin1');
            if (got.includes('\r\n\r\n')) {
              socket.off('data', onData);
              // From here on the client reads nothing.
              socket.pause();
              resolve(got);
            }
          };
          socket.on('data', onData);
        }),
        '101',
      );
      assert.match(head, /^HTTP\/1\.1 101 /);
      // A masked text frame "flood:48:1048576" (48 MiB, well past MAX_BUFFERED_BYTES + socket buffers).
      const payload = Buffer.from(`flood:48:${1024 * 1024}`);
      const mask = Buffer.from([1, 2, 3, 4]);
      const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((c, i) => c ^ (mask[i % 4] as number))]);
      socket.write(frame);
      await waitFor(() => b.closes.length === 1, 10_000, 'the node side closed');
      assert.deepEqual(b.closes[0], { code: 1000, reason: 'client too slow' });
      await assertIdle(h, [0], [0]);
    } finally {
      socket.destroy();
      await h.close();
      b.close();
    }
  });

  it('closes open tunnels with 1001 when the threads stop, and releases the counters', async () => {
    const [h, b] = await Promise.all([startHarness({ threads: 2 }), startWsBackend('stopping')]);
    try {
      h.addNode(0, b, [[0, '/app']], WS_NODE);
      const clients = await Promise.all([connect(h, '/app/1'), connect(h, '/app/2'), connect(h, '/app/3')]);
      assert.equal(h.counters.busy(0), 3);
      assert.equal(b.open, 3);
      const started = Date.now();
      await h.close();
      // Tunnels do not hold the drain (2 s in the harness).
      assert.ok(Date.now() - started < 1500, `stop took ${Date.now() - started} ms`);
      for (const c of clients) assert.equal((await within(c.closed, 'stop close')).code, 1001);
      await waitFor(() => b.open === 0, STEP_MS, 'node sides closed');
      assert.ok(b.closes.every((x) => x.code === 1000 && x.reason === 'proxy stopping'));
      assert.equal(h.counters.busy(0), 0);
      assert.equal(h.counters.contextRequests(0), 0);
    } finally {
      b.close();
    }
  });
});

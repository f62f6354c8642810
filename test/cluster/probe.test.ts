// Probes against real loopback servers: an HTTP server, a closed port, a TCP
// server speaking CPONG, one answering garbage, one that never answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { CPING, CPONG, NetProber, probeOnce } from '../../src/cluster/probe';
import { FlushPackets, type NodeRow, type NodeType } from '../../src/slots/rows';
import { closedPort } from '../mcmp/harness';

function node(type: NodeType, port: number, pingMs = 2000, host = '127.0.0.1'): NodeRow {
  return {
    id: 0,
    route: 'n',
    balancer: 'mycluster',
    domain: '',
    host,
    port,
    type,
    upgrade: '',
    ajpSecret: '',
    reversed: false,
    flushPackets: FlushPackets.Off,
    flushWaitUs: 10_000,
    pingUs: pingMs * 1000,
    ttlUs: 60_000_000,
    timeoutUs: 0,
    smax: -1,
    responseFieldSize: 0,
    removed: false,
  };
}

interface RawServer {
  port: number;
  received: Buffer[];
  connections: number;
  close: () => Promise<void>;
}

/** A TCP server whose reaction to each chunk is scripted. */
async function rawServer(onData: (socket: net.Socket, chunk: Buffer) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const state = { received: [] as Buffer[], connections: 0 };
  const server = net.createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      state.received.push(chunk);
      onData(s, chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get received() {
      return state.received;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('http probe: OPTIONS * HTTP/1.1 with a Host header; any answer is success', async (t) => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} HTTP/${req.httpVersion} host=${req.headers.host}`);
    res.statusCode = 503; // any status counts
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  assert.equal(await probeOnce(node('http', port)), true);
  assert.equal(await probeOnce(node('ws', port)), true);
  assert.deepEqual(seen, [`OPTIONS * HTTP/1.1 host=127.0.0.1:${port}`, `OPTIONS * HTTP/1.1 host=127.0.0.1:${port}`]);
});

test('http probe of a closed port fails fast', async () => {
  const port = await closedPort();
  const started = Date.now();
  assert.equal(await probeOnce(node('http', port, 5000)), false);
  assert.ok(Date.now() - started < 2000);
});

test('http probe of a server that accepts and never answers fails after the node\'s ping', async (t) => {
  const silent = await rawServer(() => undefined);
  t.after(() => silent.close());
  const started = Date.now();
  assert.equal(await probeOnce(node('http', silent.port, 300)), false);
  const took = Date.now() - started;
  assert.ok(took >= 280 && took < 3000, `took ${took} ms`);
  assert.match(Buffer.concat(silent.received).toString('latin1'), /^OPTIONS \* HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
});

test('http probe of a server that closes without a byte fails', async (t) => {
  const rude = await rawServer((s) => s.destroy());
  t.after(() => rude.close());
  assert.equal(await probeOnce(node('http', rude.port)), false);
});

test('ajp probe: CPING 12 34 00 01 0A answered by CPONG 41 42 00 01 09 is success, even split in two writes', async (t) => {
  const cpong = await rawServer((s) => {
    s.write(CPONG.subarray(0, 2));
    setTimeout(() => s.write(CPONG.subarray(2)), 20);
  });
  t.after(() => cpong.close());
  assert.equal(await probeOnce(node('ajp', cpong.port)), true);
  assert.deepEqual(Buffer.concat(cpong.received), CPING);
});

test('ajp probe answered with other bytes fails', async (t) => {
  const wrong = await rawServer((s) => s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
  t.after(() => wrong.close());
  assert.equal(await probeOnce(node('ajp', wrong.port)), false);
});

test('ajp probe of a server that never answers times out', async (t) => {
  const silent = await rawServer(() => undefined);
  t.after(() => silent.close());
  assert.equal(await probeOnce(node('ajp', silent.port, 200)), false);
});

test('https and wss probes speak TLS (the server sees a TLS handshake record)', async (t) => {
  const tlsSeen = await rawServer((s) => s.destroy());
  t.after(() => tlsSeen.close());
  assert.equal(await probeOnce(node('https', tlsSeen.port)), false);
  assert.equal(await probeOnce(node('wss', tlsSeen.port)), false);
  assert.equal(tlsSeen.received.length, 2);
  for (const first of tlsSeen.received) assert.deepEqual([...first.subarray(0, 2)], [0x16, 0x03]);
});

test('a bracketed IPv6 host is connected without its brackets', async (t) => {
  const server = net.createServer((s) => s.on('data', () => s.end('HTTP/1.1 200 OK\r\n\r\n')));
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => resolve(true));
  });
  if (!listening) {
    // No IPv6 loopback on this machine: the bracket handling is still checked on a refused connect.
    assert.equal(await probeOnce(node('http', await closedPort(), 1000, '[::1]')), false);
    return;
  }
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  assert.equal(await probeOnce(node('http', (server.address() as net.AddressInfo).port, 1000, '[::1]')), true);
});

test('EnableOptions Off: http-type nodes pass without a connection; ajp nodes are still probed', async (t) => {
  const counter = await rawServer((s) => s.destroy());
  t.after(() => counter.close());
  const prober = new NetProber({ enableOptions: false, maxConcurrent: 4 });
  for (const type of ['http', 'https', 'ws', 'wss'] as const) assert.equal(await prober.probe(node(type, counter.port)), true);
  assert.equal(counter.connections, 0);
  assert.equal(await prober.probe(node('ajp', counter.port)), false);
  assert.equal(counter.connections, 1);
});

/** Runs `count` ajp probes against a server that holds each for `holdMs`; returns the results and the peak of concurrent probes. */
async function probeConcurrently(t: { after(fn: () => unknown): void }, maxConcurrent: number, count: number, holdMs: number): Promise<{ results: boolean[]; peak: number; prober: NetProber }> {
  let open = 0;
  let peak = 0;
  const slow = await rawServer((s) => {
    open++;
    peak = Math.max(peak, open);
    setTimeout(() => {
      open--;
      s.end(CPONG);
    }, holdMs);
  });
  t.after(() => slow.close());
  const prober = new NetProber({ enableOptions: true, maxConcurrent });
  const results = await Promise.all(Array.from({ length: count }, () => prober.probe(node('ajp', slow.port))));
  return { results, peak, prober };
}

test('at most maxConcurrent probes run at once; the others wait their turn', async (t) => {
  const { results, peak, prober } = await probeConcurrently(t, 2, 5, 100);
  assert.deepEqual(results, [true, true, true, true, true]);
  assert.equal(peak, 2);
  assert.equal(prober.active, 0);
});

test('ModProxyClusterThreadCount 0 means one probe at a time', async (t) => {
  const { peak } = await probeConcurrently(t, 0, 3, 50);
  assert.equal(peak, 1);
});

// Issue 13, "a node that accepts connections and never answers": a request
// that times out on a node counts against it (MCMP.md §5.9.5: in error,
// NOTOK, avoided), an idempotent request not yet answered goes to another
// node, and a STATUS whose probe succeeds brings the node back. The nodes here
// send no Timeout in CONFIG: the proxy's default (--node-timeout) applies.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

/** An HTTP node that can be switched to "hung": it keeps accepting and reading, and never answers anything again. */
async function switchableNode(name: string): Promise<{ port: number; hang(on: boolean): void; close(): Promise<void> }> {
  let hung = false;
  const server = http.createServer((req, res) => {
    if (hung) return; // the request is read and left without an answer
    req.resume();
    req.on('end', () => res.end(name));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    hang: (on) => {
      hung = on;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function mcmp(proxy: ProxyProcess, method: string, body = ''): Promise<{ status: number; body: string; state: string }> {
  const r = (await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1, timeoutMs: 20_000 })).responses[0];
  const text = r?.body.toString('latin1') ?? '';
  return { status: r?.status ?? 0, body: text, state: /&State=([A-Z]+)/.exec(text)?.[1] ?? '' };
}

async function get(port: number, method = 'GET', timeoutMs = 20_000): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const body = method === 'POST' ? 'x' : '';
  const head = `${method} /app/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${method === 'POST' ? 'Content-Length: 1\r\n' : ''}\r\n${body}`;
  const r = (await sendRaw(port, head, { expect: 1, timeoutMs })).responses[0];
  return { status: r?.status ?? 0, body: r?.body.toString('latin1') ?? '', ms: Date.now() - started };
}

test('a hung node is put in error after one timed-out request, avoided, and brought back by a STATUS whose probe succeeds', { timeout: 120_000 }, async () => {
  const [a, b] = await Promise.all([switchableNode('a'), switchableNode('b')]);
  const proxy = await startProxy(['--threads', '2', '--log-level', 'warn', '--node-timeout', '1']);
  try {
    for (const [route, node] of [['a', a], ['b', b]] as const) {
      assert.equal((await mcmp(proxy, 'CONFIG', `JVMRoute=${route}&Host=127.0.0.1&Port=${node.port}&Type=http&Ping=1`)).status, 200);
      assert.equal((await mcmp(proxy, 'ENABLE-APP', `JVMRoute=${route}&Alias=localhost&Context=/app`)).status, 200);
      assert.equal((await mcmp(proxy, 'STATUS', `JVMRoute=${route}&Load=50`)).state, 'OK');
    }
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await get(proxy.listenPort)).body);
    assert.deepEqual([...seen].sort(), ['a', 'b'], 'both nodes take traffic before the hang');

    a.hang(true);
    // Idempotent requests: every one is answered 200 by b; those that went to a first waited ~1 s (the Timeout).
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await get(proxy.listenPort));
    assert.deepEqual(
      results.map((r) => `${r.status} ${r.body}`),
      results.map(() => '200 b'),
    );
    const slow = results.filter((r) => r.ms >= 900);
    assert.ok(slow.length >= 1 && slow.length <= 2, `one timed-out attempt per thread at most, got ${slow.length} slow requests`);
    // The node is NOTOK on the status page and in INFO's view of the flags.
    const page = (await sendRaw(proxy.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 20_000 })).responses[0];
    assert.match(page?.body.toString('latin1') ?? '', /Node a [^<]*<\/h1>\n[^\n]*\n[^\n]*Status: NOTOK/);

    // A STATUS while the node still hangs: the probe (Ping=1) fails, the node stays avoided.
    assert.equal((await mcmp(proxy, 'STATUS', 'JVMRoute=a&Load=50')).state, 'NOTOK');
    for (let i = 0; i < 4; i++) assert.equal((await get(proxy.listenPort)).body, 'b');

    // The node recovers: the next STATUS probes it successfully and it takes traffic again.
    a.hang(false);
    assert.equal((await mcmp(proxy, 'STATUS', 'JVMRoute=a&Load=50')).state, 'OK');
    const after = new Set<string>();
    for (let i = 0; i < 20 && after.size < 2; i++) after.add((await get(proxy.listenPort)).body);
    assert.deepEqual([...after].sort(), ['a', 'b']);

    // A POST is not replayed: a hung node answers it 504 after the Timeout, and is put in error.
    a.hang(true);
    b.hang(true);
    const post = await get(proxy.listenPort, 'POST');
    assert.equal(post.status, 504);
    assert.ok(post.ms >= 900 && post.ms < 10_000, `504 after ${post.ms} ms`);
  } finally {
    a.hang(false);
    b.hang(false);
    await proxy.stop('SIGTERM');
    await Promise.all([a.close(), b.close()]);
  }
});

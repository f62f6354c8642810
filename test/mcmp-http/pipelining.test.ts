import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpResponse } from '../../src/mcmp/http/server';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startServer, talk, waitFor } from './helpers';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('pipelined requests in one packet are answered in order even when later handlers finish first', async () => {
  const n = 12;
  // Request i settles after (n - i) * 8 ms: the last one is ready first.
  const s = await startServer({
    handler: async (req): Promise<HttpResponse> => {
      const i = Number(req.target.slice(1));
      await delay((n - i) * 8);
      return { status: 200, body: `reply ${i}` };
    },
  });
  try {
    const payload = Array.from({ length: n }, (_, i) => mcmpRequest('STATUS', `JVMRoute=n${i}&Load=${i}`, `/${i}`)).join('');
    const ex = await sendRaw(s.port, payload, { expect: n });
    assert.deepEqual(ex.responses.map((r) => r.body.toString()), Array.from({ length: n }, (_, i) => `reply ${i}`));
    assert.equal(ex.closed, false);
  } finally {
    await s.close();
  }
});

test('mixing sync and async handlers keeps the order', async () => {
  const s = await startServer({
    handler: (req): HttpResponse | Promise<HttpResponse> => {
      const i = Number(req.target.slice(1));
      const res = { status: 200, body: `r${i}` };
      return i % 2 === 0 ? delay(20 - i).then(() => res) : res;
    },
  });
  try {
    const ex = await sendRaw(s.port, Array.from({ length: 8 }, (_, i) => mcmpRequest('INFO', '', `/${i}`)).join(''), { expect: 8 });
    assert.deepEqual(ex.responses.map((r) => r.body.toString()), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
  } finally {
    await s.close();
  }
});

test('a pipelined stream split at every byte boundary (each half in its own segment) gets the same replies', async () => {
  const s = await startServer({
    handler: async (req): Promise<HttpResponse> => {
      await delay(req.methodUpper === 'CONFIG' ? 3 : 0);
      return { status: 200, body: `${req.methodUpper} ${req.target} ${req.body.toString('latin1')}` };
    },
  });
  try {
    const stream = mcmpRequest('CONFIG', 'JVMRoute=node1&Host=10.0.0.2&Port=8009&Type=ajp')
      + 'ENABLE-APP / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nE\r\nJVMRoute=node1\r\n0\r\n\r\n'
      + mcmpRequest('STATUS', 'JVMRoute=node1&Load=50', '/*');
    const expected = ['CONFIG / JVMRoute=node1&Host=10.0.0.2&Port=8009&Type=ajp', 'ENABLE-APP / JVMRoute=node1', 'STATUS /* JVMRoute=node1&Load=50'];
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    // Bounded concurrency: a handful of connections at a time.
    for (let i = 0; i < cuts.length; i += 16) {
      const batch = cuts.slice(i, i + 16);
      const results = await Promise.all(batch.map((cut) => talk(s.port, [stream.slice(0, cut), stream.slice(cut)], { gapMs: 5, expect: 3, timeoutMs: 3000 })));
      results.forEach((ex, k) => {
        assert.deepEqual(ex.responses.map((r) => r.body.toString()), expected, `cut at ${batch[k]}`);
      });
    }
    const byteByByte = await talk(s.port, [...stream], { gapMs: 0, expect: 3, timeoutMs: 3000 });
    assert.deepEqual(byteByByte.responses.map((r) => r.body.toString()), expected);
  } finally {
    await s.close();
  }
});

test('maxPipelined: reading stops while that many replies are pending, and resumes in order', async () => {
  const releases: Array<() => void> = [];
  const s = await startServer({
    maxPipelined: 3,
    handler: (req) => new Promise<HttpResponse>((resolve) => {
      releases.push(() => resolve({ status: 200, body: req.target }));
    }),
  });
  try {
    const n = 10;
    const pending = talk(s.port, [Array.from({ length: n }, (_, i) => mcmpRequest('PING', '', `/${i}`)).join('')], { expect: n, timeoutMs: 5000 });
    assert.ok(await waitFor(() => s.seen.length === 3));
    await delay(50);
    assert.equal(s.seen.length, 3, 'no more than maxPipelined requests reach the handler');
    // Release out of order: the third first. Nothing may be sent before the first.
    (releases[2] as () => void)();
    await delay(20);
    assert.equal(s.seen.length, 3);
    (releases[0] as () => void)();
    assert.ok(await waitFor(() => s.seen.length === 4));
    for (let i = 0; i < n; i++) {
      assert.ok(await waitFor(() => releases.length > i), `request ${i} reached the handler`);
      (releases[i] as () => void)();
    }
    const ex = await pending;
    assert.deepEqual(ex.responses.map((r) => r.body.toString()), Array.from({ length: n }, (_, i) => `/${i}`));
  } finally {
    await s.close();
  }
});

test('a client that pipelines but never reads stops being read once the socket buffer is full', async () => {
  const big = 'y'.repeat(256 * 1024);
  const s = await startServer({ handler: () => ({ status: 200, body: big }), maxPipelined: 1000 });
  try {
    const net = await import('node:net');
    const socket = net.connect({ port: s.port, host: '127.0.0.1' });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.pause(); // never read
    const one = mcmpRequest('INFO');
    socket.write(one.repeat(200));
    await delay(300);
    // Each reply is 256 KiB: without back-pressure all 200 (50 MiB) would be queued in memory.
    assert.ok(s.seen.length < 200, `handler ran ${s.seen.length} times`);
    socket.destroy();
  } finally {
    await s.close();
  }
});

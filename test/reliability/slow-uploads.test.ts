// Issue 13, stalled uploads: uWS 20.30 closes a connection whose request body
// brings less than 160 KB per 10 s (8–12 s on its 4 s tick), without an
// answer. The proxy keeps that timer from firing (request/upload-watch.ts)
// and applies --receive-timeout instead: a 20 s pause in an upload, buffered,
// streamed or chunked, is survived and the node gets every byte; a slow steady
// sender is never cut; past --receive-timeout the client gets 408 and the
// node's request is abandoned.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startProxy } from '../helpers/proxy-process';
import { parseResponses } from '../helpers/raw-http';
import { registerNode, startNode, type TestNode } from './node';

interface Seen {
  /** Body bytes the node read, per request path, and how the request ended there. */
  readonly bytes: Map<string, number>;
  readonly ended: Map<string, 'complete' | 'aborted'>;
}

async function recordingNode(): Promise<TestNode & Seen> {
  const bytes = new Map<string, number>();
  const ended = new Map<string, 'complete' | 'aborted'>();
  const node = await startNode((req, res) => {
    const path = req.url ?? '';
    bytes.set(path, 0);
    req.on('data', (d: Buffer) => bytes.set(path, (bytes.get(path) ?? 0) + d.length));
    req.on('end', () => {
      ended.set(path, 'complete');
      res.end(`received=${bytes.get(path) ?? 0}`);
    });
    req.on('close', () => {
      if (!ended.has(path)) ended.set(path, 'aborted');
    });
  });
  return Object.assign(node, { bytes, ended });
}

interface Upload {
  status: number;
  body: string;
  /** ms from the first byte sent until the answer (or the close). */
  ms: number;
  closedWithoutAnswer: boolean;
}

/**
 * Sends a request head and then `parts` of its body, each after its delay
 * (ms since the previous part); resolves with the answer or the close.
 */
function upload(port: number, head: string, parts: Array<[delayMs: number, bytes: Buffer]>): Promise<Upload> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let data = Buffer.alloc(0);
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (u: Omit<Upload, 'ms'>): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve({ ...u, ms: Date.now() - started });
    };
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const r = parseResponses(data, false).responses[0];
      if (r !== undefined) finish({ status: r.status, body: r.body.toString('latin1'), closedWithoutAnswer: false });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish({ status: 0, body: '', closedWithoutAnswer: true }));
    socket.write(head);
    let at = 0;
    for (const [delay, bytes] of parts) {
      at += delay;
      timers.push(setTimeout(() => socket.writable && socket.write(bytes), at));
    }
  });
}

function lengthHead(path: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\n\r\n`;
}

function chunk(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

/** `total` bytes at `bytesPerSecond`, in parts every 250 ms. */
function steady(total: number, bytesPerSecond: number): Array<[number, Buffer]> {
  const step = Math.floor(bytesPerSecond / 4);
  const parts: Array<[number, Buffer]> = [];
  for (let sent = 0; sent < total; sent += step) parts.push([250, Buffer.alloc(Math.min(step, total - sent), 0x62)]);
  return parts;
}

test('a 20 s pause in an upload (buffered, streamed, chunked) is survived and a 4–16 KB/s sender is never cut: the node gets every byte', { timeout: 180_000 }, async (t) => {
  const node = await recordingNode();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn']);
  try {
    await registerNode(proxy, node.port);
    const port = proxy.listenPort;
    const small = 40 * 1024;
    const big = 2 * 1024 * 1024;
    const a = Buffer.alloc(big, 0x61);
    const [buffered, streamed, chunked, steady16, steady4] = await Promise.all([
      upload(port, lengthHead('/app/buffered', small), [[0, a.subarray(0, 10_000)], [20_000, a.subarray(10_000, small)]]),
      upload(port, lengthHead('/app/streamed', big), [[0, a.subarray(0, 300_000)], [20_000, a.subarray(300_000, big)]]),
      upload(port, `POST /app/chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n`, [
        [0, chunk(a.subarray(0, 100_000))],
        [20_000, Buffer.concat([chunk(a.subarray(0, 50_000)), Buffer.from('0\r\n\r\n')])],
      ]),
      upload(port, lengthHead('/app/steady16', 320 * 1024), steady(320 * 1024, 16 * 1024)),
      upload(port, lengthHead('/app/steady4', 80 * 1024), steady(80 * 1024, 4 * 1024)),
    ]);
    t.diagnostic(`buffered ${JSON.stringify(buffered)}; streamed ${streamed.status} in ${streamed.ms} ms; chunked ${chunked.status} in ${chunked.ms} ms; 16 KB/s ${steady16.status} in ${steady16.ms} ms; 4 KB/s ${steady4.status} in ${steady4.ms} ms`);
    assert.equal(buffered.status, 200, 'buffered body after a 20 s pause');
    assert.equal(buffered.body, `received=${small}`);
    assert.equal(streamed.status, 200, 'streamed body after a 20 s pause');
    assert.equal(streamed.body, `received=${big}`);
    assert.equal(chunked.status, 200, 'chunked body after a 20 s pause');
    assert.equal(chunked.body, 'received=150000');
    assert.ok(buffered.ms >= 20_000 && streamed.ms >= 20_000 && chunked.ms >= 20_000, 'the pauses happened');
    assert.equal(steady16.body, `received=${320 * 1024}`, '16 KB/s sender');
    assert.equal(steady4.body, `received=${80 * 1024}`, '4 KB/s sender');
  } finally {
    await proxy.stop('SIGTERM');
    await node.close();
  }
});

test('--receive-timeout: an upload that stops gets 408 after it (not uWS’s silent close at 8–12 s) and the node’s request is abandoned', { timeout: 120_000 }, async (t) => {
  const node = await recordingNode();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--receive-timeout', '15']);
  try {
    await registerNode(proxy, node.port);
    const port = proxy.listenPort;
    const a = Buffer.alloc(1024 * 1024, 0x61);
    const [buffered, streamed] = await Promise.all([
      upload(port, lengthHead('/app/stop-buffered', 40 * 1024), [[0, a.subarray(0, 10_000)]]),
      upload(port, lengthHead('/app/stop-streamed', a.length), [[0, a.subarray(0, 300_000)]]),
    ]);
    t.diagnostic(`buffered: ${buffered.status} after ${buffered.ms} ms; streamed: ${streamed.status} after ${streamed.ms} ms`);
    for (const [name, u] of [['buffered', buffered], ['streamed', streamed]] as const) {
      assert.equal(u.status, 408, `${name}: 408, not a silent close`);
      // Kept past uWS's own 8–12 s; answered once 15 s passed without a byte (3 s tick, loaded machine).
      assert.ok(u.ms >= 14_000 && u.ms < 60_000, `${name}: answered after ${u.ms} ms`);
    }
    // The buffered body never reached the node; the streamed one was on its way and is abandoned there.
    assert.equal(node.ended.get('/app/stop-buffered'), undefined);
    const deadline = Date.now() + 10_000;
    while (node.ended.get('/app/stop-streamed') !== 'aborted' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(node.ended.get('/app/stop-streamed'), 'aborted', 'the node saw its request abandoned');
    // Two refusals from one address within a minute: one log line.
    assert.equal(proxy.logs.filter((l) => l['msg'] === 'request body stalled past --receive-timeout: 408').length, 1);
  } finally {
    await proxy.stop('SIGTERM');
    await node.close();
  }
});

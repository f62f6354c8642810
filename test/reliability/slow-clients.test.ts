// Issue 13, "a client that stops reading for more than ≈10 s": uWS 20.30
// closes a connection whose writes stay blocked for its 10 s idle timeout; the
// proxy keeps a stalled client for --send-timeout (re-arming uWS's timer: from
// the bytes it holds back for a Content-Length body, by pause()+resume() for a
// chunked one) and drops it after that. A steady slow reader is never cut.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { registerNode, startNode, type TestNode } from './node';
import { establishedOnPort } from '../../src/forward/accept-governor';

const BIG = 30 * 1024 * 1024;

function backend(): Promise<TestNode> {
  const body = Buffer.alloc(BIG, 0x61);
  return startNode((req, res) => {
    req.resume();
    const size = Number(/\/app\/(?:chunked\/)?(\d+)/.exec(req.url ?? '')?.[1] ?? BIG);
    if (!(req.url ?? '').startsWith('/app/chunked/')) {
      res.writeHead(200, { 'content-length': String(size) });
      res.end(body.subarray(0, size));
      return;
    }
    // No length: the proxy relays it chunked. Written in 64 KiB pieces with backpressure.
    res.writeHead(200);
    let at = 0;
    const more = (): void => {
      while (at < size) {
        const piece = body.subarray(at, Math.min(size, at + 65536));
        at += piece.length;
        if (!res.write(piece)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
}

const register = (proxy: ProxyProcess, port: number): Promise<void> => registerNode(proxy, port);

interface Download {
  /** Bytes received (head and body). */
  received: number;
  closedAt: number;
  socket: net.Socket;
}

/** Requests `path`, reads `first` bytes, pauses `pauseMs`, then reads on until the server closes or `total` bytes came. */
function pausingDownload(port: number, path: string, first: number, pauseMs: number, total: number, opened: net.Socket[] = []): Promise<Download> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    opened.push(socket);
    const d: Download = { received: 0, closedAt: 0, socket };
    let paused = false;
    socket.on('data', (chunk: Buffer) => {
      d.received += chunk.length;
      if (d.received >= total) {
        socket.destroy();
        return;
      }
      if (!paused && d.received >= first) {
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs).unref();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      d.closedAt = Date.now();
      resolve(d);
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

/** Reads at `bytesPerSecond` (every 100 ms a tenth) until `total` bytes or close. */
function steadyDownload(port: number, path: string, bytesPerSecond: number, total: number): Promise<Download> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const d: Download = { received: 0, closedAt: 0, socket };
    let allowance = 0;
    socket.pause();
    const timer = setInterval(() => {
      allowance += bytesPerSecond / 10;
      let chunk: Buffer | null;
      while (allowance > 0 && (chunk = socket.read(Math.min(Math.floor(allowance), 65536)) as Buffer | null) !== null) {
        d.received += chunk.length;
        allowance -= chunk.length;
      }
      if (d.received >= total) socket.destroy();
    }, 100);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      d.closedAt = Date.now();
      resolve(d);
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

test('a 20 s pause in a 30 MB download is survived (uWS alone cuts at 8–12 s); a steady 16 KB/s reader gets every byte', { timeout: 180_000 }, async (t) => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn']);
  try {
    await register(proxy, node.port);
    const started = Date.now();
    const [paused, steady] = await Promise.all([
      pausingDownload(proxy.listenPort, '/app/big', 1024 * 1024, 20_000, Infinity),
      steadyDownload(proxy.listenPort, '/app/327680', 16 * 1024, Infinity),
    ]);
    t.diagnostic(`paused reader: ${paused.received} bytes in ${paused.closedAt - started} ms; steady reader: ${steady.received} bytes in ${steady.closedAt - started} ms`);
    // Head and body: the connection is closed by the proxy only after the last byte (Connection: close).
    assert.ok(paused.received > BIG, `the paused reader got ${paused.received} bytes of a ${BIG}-byte body`);
    assert.ok(steady.received > 327_680, `the steady reader got ${steady.received} bytes of a 327680-byte body`);
  } finally {
    await proxy.stop('SIGTERM');
    await node.close();
  }
});

test('--send-timeout: a client that reads nothing is dropped after it, not kept for ever', { timeout: 120_000 }, async (t) => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--send-timeout', '30']);
  try {
    await register(proxy, node.port);
    const started = Date.now();
    const opened: net.Socket[] = [];
    const stalled = pausingDownload(proxy.listenPort, '/app/big', 1024 * 1024, 600_000, Infinity, opened);
    // A paused client sees the close only once it reads again, so the proxy's side of the
    // connection is watched instead: it leaves ESTABLISHED when the proxy closes it.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(establishedOnPort(proxy.listenPort), 1, 'the download is running');
    while (establishedOnPort(proxy.listenPort) > 0 && Date.now() - started < 100_000) await new Promise((r) => setTimeout(r, 250));
    const after = Date.now() - started;
    t.diagnostic(`dropped after ${after} ms`);
    // Kept well past uWS's own 8–12 s, dropped once 30 s passed without progress (3 s tick, loaded machine).
    assert.ok(after >= 25_000 && after < 90_000, `dropped after ${after} ms`);
    for (const socket of opened) socket.destroy();
    await stalled;
  } finally {
    await proxy.stop('SIGTERM');
    await node.close();
  }
});

/** The chunked body as the client sees it: every chunk's data, framing removed; -1 if the framing is broken or incomplete. */
function dechunkedLength(raw: Buffer): number {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return -1;
  let at = headEnd + 4;
  let total = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) return -1;
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return -1;
    if (size === 0) return total;
    total += size;
    at = lineEnd + 2 + size + 2;
    if (at > raw.length) return -1;
  }
}

test('chunked responses: a 20 s pause in a 30 MB download is survived, a steady 16 KB/s reader gets every byte, --send-timeout drops a reader of nothing', { timeout: 180_000 }, async (t) => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--send-timeout', '30']);
  try {
    await register(proxy, node.port);
    const started = Date.now();
    const keep = (port: number, path: string, pauseMs: number): Promise<{ raw: Buffer; closedAt: number }> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let received = 0;
        let paused = false;
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          received += d.length;
          if (!paused && received >= 1024 * 1024) {
            paused = true;
            socket.pause();
            setTimeout(() => socket.resume(), pauseMs).unref();
          }
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve({ raw: Buffer.concat(chunks), closedAt: Date.now() }));
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      });
    const opened: net.Socket[] = [];
    const [paused, steady] = await Promise.all([
      keep(proxy.listenPort, `/app/chunked/${BIG}`, 20_000),
      steadyDownload(proxy.listenPort, '/app/chunked/327680', 16 * 1024, Infinity),
      (async () => {
        // Reads 1 MB, then nothing: dropped after --send-timeout (30 s) without progress.
        const stalled = pausingDownload(proxy.listenPort, `/app/chunked/${BIG}`, 1024 * 1024, 600_000, Infinity, opened);
        await new Promise((r) => setTimeout(r, 2000));
        const from = Date.now();
        // The two other downloads end before; the stalled one is the last connection left.
        while (establishedOnPort(proxy.listenPort) > 0 && Date.now() - from < 100_000) await new Promise((r) => setTimeout(r, 250));
        const after = Date.now() - started;
        t.diagnostic(`stalled chunked reader dropped after ${after} ms`);
        assert.ok(after >= 25_000 && after < 90_000, `dropped after ${after} ms`);
        for (const socket of opened) socket.destroy();
        await stalled;
      })(),
    ]);
    t.diagnostic(`paused chunked reader: ${paused.raw.length} bytes in ${paused.closedAt - started} ms; steady chunked reader: ${steady.received} bytes in ${steady.closedAt - started} ms`);
    assert.equal(dechunkedLength(paused.raw), BIG, 'the paused reader got the whole chunked body');
    assert.ok(paused.closedAt - started >= 20_000, 'the pause happened');
    assert.ok(steady.received > 327_680, `the steady reader got ${steady.received} bytes of a 327680-byte body (plus framing)`);
  } finally {
    await proxy.stop('SIGTERM');
    await node.close();
  }
});

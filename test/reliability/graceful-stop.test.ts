// Issue 13, "SIGTERM under keep-alive load": during the drain every response
// says Connection: close, so no client sends a request on a connection that is
// about to close; 32 busy keep-alive loops lose no request. The log says how
// the process ended and how long the drain took. The MCMP listener closes its
// idle connections at once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { registerNode, startNode, type TestNode } from './node';
import { mcmpRequest, parseResponses, sendRaw } from '../helpers/raw-http';

function backend(): Promise<TestNode> {
  return startNode((req, res) => {
    req.resume();
    const delay = req.url === '/app/slow' ? 1500 : req.url === '/app/slow20' ? 20_000 : Math.floor(Math.random() * 4);
    setTimeout(() => res.end('ok'), delay);
  }, 60_000);
}

const register = (proxy: ProxyProcess, port: number): Promise<void> => registerNode(proxy, port);

interface LoopStats {
  answered: number;
  /** Requests written on a connection that then closed without answering them. */
  lost: number;
  /** Responses that said Connection: close. */
  toldToClose: number;
  /** New connections refused once the proxy stopped listening. */
  refused: number;
}

/** One keep-alive connection at a time, one request after the other; reconnects when told to close. */
async function keepAliveLoop(port: number, stats: LoopStats, until: () => boolean): Promise<void> {
  while (!until()) {
    const socket = net.connect(port, '127.0.0.1');
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (!opened) {
      stats.refused++;
      socket.destroy();
      return;
    }
    let buffered: Buffer = Buffer.alloc(0);
    let closed = false;
    let wake: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      wake?.();
    });
    socket.on('close', () => {
      closed = true;
      wake?.();
    });
    socket.on('error', () => undefined);
    let reconnect = false;
    while (!until() && !reconnect) {
      socket.write('GET /app/x HTTP/1.1\r\nHost: localhost\r\n\r\n');
      for (;;) {
        const { responses, rest } = parseResponses(buffered, false);
        if (responses.length > 0) {
          buffered = rest;
          stats.answered++;
          if ((responses[0]?.headers['connection'] ?? '').toLowerCase() === 'close') {
            stats.toldToClose++;
            reconnect = true;
          }
          break;
        }
        if (closed) {
          stats.lost++;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    }
    socket.destroy();
  }
}

test('SIGTERM with 32 busy keep-alive loops loses no request; every response of the drain says Connection: close', { timeout: 60_000 }, async () => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '2', '--log-level', 'info', '--drain-timeout', '10']);
  let exitCode: number | null = null;
  try {
    await register(proxy, node.port);
    const stats: LoopStats = { answered: 0, lost: 0, toldToClose: 0, refused: 0 };
    let stopLoops = false;
    const deadline = Date.now() + 30_000;
    const loops = Array.from({ length: 32 }, () => keepAliveLoop(proxy.listenPort, stats, () => stopLoops || Date.now() > deadline));
    while (stats.answered < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const before = stats.answered;
    assert.equal(stats.toldToClose, 0, 'no Connection: close before the stop');

    // An idle MCMP keep-alive connection: closed at once when the stop begins.
    const mcmpSocket = net.connect(proxy.managerPort, '127.0.0.1');
    await new Promise<void>((resolve) => mcmpSocket.once('connect', () => resolve()));
    mcmpSocket.write(mcmpRequest('PING'));
    await new Promise<void>((resolve) => mcmpSocket.once('data', () => resolve()));
    const mcmpClosed = new Promise<number>((resolve) => mcmpSocket.once('close', () => resolve(Date.now())));
    mcmpSocket.on('error', () => undefined);

    const signalled = Date.now();
    exitCode = await proxy.stop('SIGTERM');
    stopLoops = true;
    await Promise.all(loops);
    assert.equal(exitCode, 0);
    assert.ok(stats.answered > before, 'requests were answered during the drain');
    assert.equal(stats.lost, 0, `${stats.lost} requests lost on kept-alive connections (${stats.answered} answered, ${stats.toldToClose} told to close, ${stats.refused} refused)`);
    assert.ok(stats.toldToClose >= 1, 'the drain said Connection: close');
    assert.ok((await mcmpClosed) - signalled < 5000, 'the idle MCMP connection was closed');
    const exitLine = proxy.logs.find((l) => l['msg'] === 'mcmp-edge exiting');
    assert.ok(exitLine !== undefined, 'the exit is logged');
    assert.equal(exitLine['exitCode'], 0);
    assert.equal(exitLine['signal'], 'SIGTERM');
    assert.ok(typeof exitLine['drainMs'] === 'number' && exitLine['drainMs'] < 10_000, `drainMs ${String(exitLine['drainMs'])}`);
  } finally {
    if (exitCode === null) await proxy.stop('SIGKILL');
    await node.close();
  }
});

test('a request on an idle keep-alive connection during the drain is served, with Connection: close', { timeout: 60_000 }, async () => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--drain-timeout', '10']);
  try {
    await register(proxy, node.port);
    const idle = net.connect(proxy.listenPort, '127.0.0.1');
    let data: Buffer = Buffer.alloc(0);
    idle.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    idle.on('error', () => undefined);
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    idle.write('GET /app/first HTTP/1.1\r\nHost: localhost\r\n\r\n');
    while (parseResponses(data, false).responses.length < 1) await new Promise((r) => setTimeout(r, 5));
    assert.equal(parseResponses(data, false).responses[0]?.headers['connection'], undefined);
    // The software is not named on every response (uWS's `uWebSockets: 20` is switched off).
    assert.equal(parseResponses(data, false).responses[0]?.headers['uwebsockets'], undefined);
    // A slow request keeps the drain going.
    const slow = sendRaw(proxy.listenPort, 'GET /app/slow HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const exited = proxy.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    idle.write('GET /app/second HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (parseResponses(data, false).responses.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const second = parseResponses(data, false).responses[1];
    assert.equal(second?.status, 200);
    assert.equal(second?.headers['connection'], 'close');
    const slowReply = (await slow).responses[0];
    assert.equal(slowReply?.status, 200);
    assert.equal(slowReply?.headers['connection'], 'close');
    assert.equal(await exited, 0);
    idle.destroy();
  } finally {
    await proxy.stop('SIGKILL');
    await node.close();
  }
});

// uWS.js 20.30 gives no handle on an idle HTTP connection (no open/close hook for HTTP, response objects
// are dead once answered, no client port), so the drain cannot close idle keep-alive connections at the
// signal. What bounds them: uWS's own keep-alive timeout (10 s after the last response, on a 4 s tick), or
// the end of the drain, whichever comes first. This measures that bound with a drain held open by a 20 s request.
test('during a long drain an idle keep-alive connection is closed by uWS’s idle timeout (≈10 s after its last response), before the drain ends', { timeout: 90_000 }, async (t) => {
  const node = await backend();
  const proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--drain-timeout', '40']);
  try {
    await register(proxy, node.port);
    const idle = net.connect(proxy.listenPort, '127.0.0.1');
    let data: Buffer = Buffer.alloc(0);
    let idleClosedAt = 0;
    idle.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    idle.on('close', () => (idleClosedAt = Date.now()));
    idle.on('error', () => undefined);
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    idle.write('GET /app/first HTTP/1.1\r\nHost: localhost\r\n\r\n');
    while (parseResponses(data, false).responses.length < 1) await new Promise((r) => setTimeout(r, 5));
    const answeredAt = Date.now();
    const slow = sendRaw(proxy.listenPort, 'GET /app/slow20 HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1, timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const exited = proxy.stop('SIGTERM');
    const slowReply = (await slow).responses[0];
    const slowAt = Date.now();
    t.diagnostic(`idle connection closed ${idleClosedAt - answeredAt} ms after its last response; the 20 s request answered after ${slowAt - answeredAt} ms`);
    assert.equal(slowReply?.status, 200);
    assert.equal(slowReply?.headers['connection'], 'close');
    assert.ok(idleClosedAt > 0 && idleClosedAt < slowAt, 'the idle connection closed before the drain ended');
    assert.ok(idleClosedAt - answeredAt >= 6000 && idleClosedAt - answeredAt < 17_000, `closed ${idleClosedAt - answeredAt} ms after its last response`);
    assert.equal(await exited, 0);
  } finally {
    await proxy.stop('SIGKILL');
    await node.close();
  }
});

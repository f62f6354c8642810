import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { HttpParseError, RequestParser } from '../../src/mcmp/http/parser';
import type { HttpResponse } from '../../src/mcmp/http/server';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { closedWithin, MCMP_METHODS, startServer, talk, waitFor, WARN } from './helpers';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  mcmpRequest('CONFIG', 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp'),
  mcmpRequest('ENABLE-APP', 'JVMRoute=node1&Alias=localhost%2C127.0.0.1&Context=%2Fmyapp'),
  mcmpRequest('STATUS', 'JVMRoute=node1&Load=87'),
  'INFO / HTTP/1.0\r\nHost: h\r\n\r\n',
  'CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nJVMRo\r\n9\r\nute=node1\r\n0\r\nT: v\r\n\r\n',
  'GET /mod_cluster_manager?nonce=x&Cmd=INFO HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n',
];
const TOKENS = ['\r\n', '\n', '\r', ' ', ':', '\t', '\x00', '*', 'chunked', 'Content-Length: ', 'Transfer-Encoding: ', '0\r\n\r\n', 'HTTP/1.1', '99999999999999999', 'Host: x\r\n', ';', ','];

function mutate(rand: () => number, input: Buffer): Buffer {
  const bytes = [...input];
  const ops = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 5)) {
      case 0: bytes.splice(at, 1 + Math.floor(rand() * 8)); break;
      case 1: bytes[at] = Math.floor(rand() * 256); break;
      case 2: bytes.splice(at, 0, ...Buffer.from(TOKENS[Math.floor(rand() * TOKENS.length)] as string, 'latin1')); break;
      case 3: bytes.splice(at, 0, ...bytes.slice(Math.floor(rand() * bytes.length)).slice(0, 40)); break;
      default: bytes.length = Math.min(bytes.length, at); break; // truncate
    }
  }
  return Buffer.from(bytes.map((b) => b & 0xff));
}

function fuzzInput(rand: () => number, i: number): Buffer {
  if (i % 10 === 0) return Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
  const seed = Buffer.from(SEEDS[Math.floor(rand() * SEEDS.length)] as string, 'latin1');
  const twice = rand() < 0.3 ? Buffer.concat([seed, Buffer.from(SEEDS[Math.floor(rand() * SEEDS.length)] as string, 'latin1')]) : seed;
  return mutate(rand, twice);
}

test('request timeout: a request that stalls in its head or its body gets 408 + close', async () => {
  const s = await startServer({ requestTimeoutMs: 150 });
  try {
    for (const partial of ['CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Le', 'CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc']) {
      const ex = await talk(s.port, [partial], { timeoutMs: 3000 });
      assert.equal(ex.closed, true);
      assert.equal(ex.responses[0]?.statusLine, 'HTTP/1.1 408 Request Timeout');
      assert.equal(ex.responses[0]?.headers.connection, 'close');
      assert.ok(ex.elapsedMs >= 140 && ex.elapsedMs < 2000, `took ${ex.elapsedMs} ms`);
    }
    // Trickling bytes does not extend the deadline: it runs from the first byte.
    const trickle = Array.from('CONFIG / HTTP/1.1\r\nHost: h\r\nX-Slow: 0123456789\r\n');
    const ex = await talk(s.port, trickle, { gapMs: 15, timeoutMs: 3000 });
    assert.equal(ex.responses[0]?.status, 408);
    assert.equal(s.seen.length, 0);
    assert.ok(s.logs.some((l) => l.level === WARN && l.status === 408 && l.peer?.startsWith('127.0.0.1:')));
  } finally {
    await s.close();
  }
});

test('the request timeout does not count time spent waiting for our own replies', async () => {
  const s = await startServer({ requestTimeoutMs: 100, handler: async () => { await delay(300); return { status: 200, body: 'slow' }; } });
  try {
    const ex = await talk(s.port, [mcmpRequest('INFO'), mcmpRequest('INFO')], { expect: 2, timeoutMs: 3000 });
    assert.deepEqual(ex.responses.map((r) => r.status), [200, 200]);
  } finally {
    await s.close();
  }
});

test('idle keep-alive connections are closed silently after keepAliveTimeoutMs, before or after a request', async () => {
  const s = await startServer({ keepAliveTimeoutMs: 150, requestTimeoutMs: 5000 });
  try {
    const quiet = await talk(s.port, [], { timeoutMs: 3000 });
    assert.equal(quiet.closed, true);
    assert.equal(quiet.responses.length, 0);
    assert.equal(quiet.rest.length, 0, 'nothing is written on an idle close');
    assert.ok(quiet.elapsedMs >= 140, `closed after ${quiet.elapsedMs} ms`);
    const after = await talk(s.port, [mcmpRequest('PING')], { timeoutMs: 3000 });
    assert.equal(after.closed, true);
    assert.equal(after.responses.length, 1);
    assert.equal(after.responses[0]?.status, 200);
    assert.equal(after.rest.length, 0);
  } finally {
    await s.close();
  }
});

/**
 * Sends `first`, waits 20 ms (read, timer armed), sends `rest`, then stalls
 * this loop 300 ms with `rest` waiting unread, so the timers phase that
 * follows fires a 100 ms deadline before any read. Returns what came back.
 */
async function replyAfterStall(port: number, first: string, rest: string): Promise<{ reply: string; closed: boolean; socket: net.Socket }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const seen = { reply: '', closed: false, socket };
  socket.on('data', (d: Buffer) => { seen.reply += d.toString('latin1'); });
  socket.on('close', () => { seen.closed = true; });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  if (first !== '') socket.write(first);
  await delay(20);
  socket.write(rest);
  const until = Date.now() + 300;
  while (Date.now() < until);
  await waitFor(() => seen.reply.includes('\r\n\r\n') || seen.closed, 5000);
  return seen;
}

test('a request that arrived before the idle deadline is answered even when the loop runs the timer first', async () => {
  const s = await startServer({ keepAliveTimeoutMs: 100 });
  try {
    const { reply, closed, socket } = await replyAfterStall(s.port, '', mcmpRequest('PING'));
    assert.match(reply, /^HTTP\/1\.1 200 /, `got ${JSON.stringify(reply)}, closed=${closed}`);
    assert.equal(await closedWithin(socket, 5000), true, 'then closed once idle');
  } finally {
    await s.close();
  }
});

test('the rest of a request that arrived before the request deadline is answered even when the loop runs the timer first', async () => {
  const s = await startServer({ requestTimeoutMs: 100 });
  try {
    const request = mcmpRequest('PING');
    const { reply, socket } = await replyAfterStall(s.port, request.slice(0, 10), request.slice(10));
    assert.match(reply, /^HTTP\/1\.1 200 /, `got ${JSON.stringify(reply)}`);
    socket.destroy();
  } finally {
    await s.close();
  }
});

test('a connection in use is not closed by the idle timer', async () => {
  // 30 requests 100 ms apart span twice the 1.5 s idle timeout; a gap may
  // stretch 15× on a loaded machine (server and client share this process,
  // so one long stall runs both timers) before the idle timer could win.
  const s = await startServer({ keepAliveTimeoutMs: 1500 });
  try {
    const socket = net.connect({ port: s.port, host: '127.0.0.1' });
    let replies = 0;
    socket.on('data', (d: Buffer) => { replies += d.toString().split('HTTP/1.1 200').length - 1; });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    for (let i = 0; i < 30; i++) {
      socket.write(mcmpRequest('STATUS', 'JVMRoute=n&Load=1'));
      await delay(100);
    }
    await waitFor(() => replies === 30, 15_000);
    assert.equal(replies, 30);
    assert.equal(socket.destroyed, false);
    assert.equal(await closedWithin(socket, 15_000), true, 'closed once idle');
  } finally {
    await s.close();
  }
});

test('a head over maxHeaderSize gets 431 + close', async () => {
  const s = await startServer({ maxHeaderSize: 512 });
  try {
    const ex = await sendRaw(s.port, mcmpRequest('INFO', '', '/', [`X-Big: ${'b'.repeat(600)}`]));
    assert.equal(ex.closed, true);
    assert.equal(ex.responses[0]?.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.equal(ex.responses[0]?.headers.connection, 'close');
    const streaming = await talk(s.port, ['INFO / HTTP/1.1\r\nHost: h\r\nX-Big: ', 'b'.repeat(1000)], { gapMs: 10, timeoutMs: 3000 });
    assert.equal(streaming.responses[0]?.status, 431);
    assert.equal(s.seen.length, 0);
  } finally {
    await s.close();
  }
});

test('a client that sends its request and half-closes still gets the reply; a truncated request is dropped silently', async () => {
  const s = await startServer({ handler: async () => { await delay(30); return { status: 200, body: 'ok' }; } });
  try {
    const ex = await talk(s.port, [mcmpRequest('INFO')], { halfClose: true, timeoutMs: 3000 });
    assert.equal(ex.closed, true);
    assert.equal(ex.responses.length, 1);
    assert.equal(ex.responses[0]?.headers.connection, 'close');
    const truncated = await talk(s.port, [mcmpRequest('PING'), 'CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\nJVM'], { halfClose: true, timeoutMs: 3000 });
    assert.equal(truncated.closed, true);
    assert.deepEqual(truncated.responses.map((r) => r.status), [200]);
    assert.equal(s.seen.length, 2);
  } finally {
    await s.close();
  }
});

test('clients that reset mid-request or while their reply is pending do not hurt the server', async () => {
  let release: (() => void) | null = null;
  const s = await startServer({
    handler: (req) => (req.target === '/hold' ? new Promise<HttpResponse>((r) => { release = () => r({ status: 200, body: 'late' }); }) : { status: 200, body: 'ok' }),
  });
  try {
    for (const payload of ['CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nJVMRoute=', mcmpRequest('INFO', '', '/hold')]) {
      const socket = net.connect({ port: s.port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(payload);
      await delay(30);
      socket.resetAndDestroy();
    }
    assert.ok(await waitFor(() => release !== null));
    assert.ok(await waitFor(() => s.server.connections === 0));
    (release as unknown as () => void)();
    await delay(20);
    const ex = await sendRaw(s.port, mcmpRequest('INFO'), { expect: 1 });
    assert.equal(ex.responses[0]?.body.toString(), 'ok');
  } finally {
    await s.close();
  }
});

test('parser fuzz: 20000 mutated or random inputs, fed whole and in pieces, only ever fail with HttpParseError', () => {
  const rand = prng(0x5eed);
  const methods = new Set([...MCMP_METHODS, 'GET']);
  for (let i = 0; i < 20000; i++) {
    const input = fuzzInput(rand, i);
    const parser = new RequestParser({ maxHeaderSize: 512, maxBodySize: 256, methods, remoteAddress: '127.0.0.1', remotePort: 1, onRequest: (req) => {
      assert.ok(req.body.length <= 256);
      assert.ok(MCMP_METHODS.includes(req.methodUpper) || req.methodUpper === 'GET', req.methodUpper);
    } });
    try {
      let at = 0;
      while (at < input.length) {
        const n = 1 + Math.floor(rand() * 64);
        parser.push(input.subarray(at, at + n));
        at += n;
      }
    } catch (err) {
      if (!(err instanceof HttpParseError)) assert.fail(`input ${i} (${JSON.stringify(input.toString('latin1'))}) threw ${String(err)}`);
      assert.ok([400, 431, 501, 505].includes(err.status), `status ${err.status}`);
    }
  }
});

test('server fuzz: 2000 mutated requests over real connections; the server stays up and answers a valid request', async () => {
  const s = await startServer({ requestTimeoutMs: 300, keepAliveTimeoutMs: 300, maxHeaderSize: 512, maxBodySize: 256 });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => { uncaught.push(err); };
  process.on('uncaughtException', onUncaught);
  try {
    const rand = prng(0xf00d);
    const statuses = new Map<number, number>();
    const total = 2000;
    const parallel = 25;
    for (let i = 0; i < total; i += parallel) {
      const batch = Array.from({ length: Math.min(parallel, total - i) }, (_, k) => fuzzInput(rand, i + k));
      const results = await Promise.all(batch.map((input, k) => {
        // A third reset instead of closing politely; the rest half-close so incomplete requests end.
        if ((i + k) % 3 === 0) {
          return new Promise<null>((resolve) => {
            const c = net.connect({ port: s.port, host: '127.0.0.1' });
            c.on('error', () => resolve(null));
            c.on('connect', () => { c.write(input); setTimeout(() => { c.resetAndDestroy(); resolve(null); }, 2); });
          });
        }
        return talk(s.port, [input], { halfClose: true, timeoutMs: 3000 });
      }));
      for (const ex of results) {
        if (ex === null) continue;
        assert.equal(ex.closed, true, 'every fuzzed connection ends');
        for (const r of ex.responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }
    for (const status of statuses.keys()) assert.ok([200, 400, 408, 431, 501, 505].includes(status), `unexpected status ${status}`);
    assert.ok((statuses.get(400) ?? 0) > 100, 'the fuzz produces malformed requests');
    assert.ok((statuses.get(200) ?? 0) > 50, 'the fuzz also produces valid requests');
    const ok = await sendRaw(s.port, mcmpRequest('CONFIG', 'JVMRoute=after-fuzz'), { expect: 1 });
    assert.equal(ok.responses[0]?.body.toString(), 'CONFIG / JVMRoute=after-fuzz');
    assert.ok(await waitFor(() => s.server.connections <= 1, 5000), `connections left open: ${s.server.connections}`);
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await s.close();
  }
});

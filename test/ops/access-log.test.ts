// --access-log end to end: the real proxy (two forwarding threads) in front of
// a real uWS node on loopback, real requests, then the file (or standard
// output) is read. Combined lines must parse with a regex of httpd's format;
// json lines with JSON.parse; SIGUSR1 after a rename (what logrotate does)
// must move new lines to a new file and lose none; a graceful stop writes
// what was buffered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { WebSocket, type MessageEvent } from 'undici';
import { loadUws } from '../../native-bindings/uws';
import { CLI, startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

/** httpd's combined format: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i". */
const COMBINED = /^(\S+) (\S+) (\S+) \[(\d{2})\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

interface Combined {
  client: string;
  time: string;
  request: string;
  status: number;
  bytes: string;
  referer: string;
  userAgent: string;
}

function parseCombined(line: string): Combined {
  const m = COMBINED.exec(line);
  assert.ok(m !== null, `not a combined line: ${line}`);
  assert.equal(m[2], '-', 'identd is never known');
  assert.equal(m[3], '-', 'no user is ever authenticated by the proxy');
  return { client: m[1] as string, time: `${m[4]}/${m[5]}/${m[6]}:${m[7]}:${m[8]}:${m[9]} ${m[10]}`, request: m[11] as string, status: Number(m[12]), bytes: m[13] as string, referer: m[14] as string, userAgent: m[15] as string };
}

/** A loopback port nobody listens on (a node that is down). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-access-log-'));
let node: { port: number; close(): void };

/** A uWS node: `hello <url>` for plain requests (bodies read first), a WebSocket echo for upgrades. */
async function startNode(): Promise<{ port: number; close(): void }> {
  const uws = loadUws();
  const app: TemplatedApp = uws.App();
  app.any('/*', (res, req) => {
    const url = req.getUrl();
    let aborted = false;
    res.onAborted(() => (aborted = true));
    res.onData((_chunk, isLast) => {
      if (isLast && !aborted) res.cork(() => res.end(`hello ${url}\n`));
    });
  });
  app.ws('/*', {
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary);
    },
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s === false ? reject(new Error('node did not listen')) : resolve(s))),
  );
  return {
    port: uws.us_socket_local_port(socket as unknown as us_socket),
    close: () => {
      uws.us_listen_socket_close(socket);
      (app as TemplatedApp & { close(): void }).close();
    },
  };
}

async function mcmp(proxy: ProxyProcess, method: string, body: string): Promise<void> {
  const r = (await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 })).responses[0];
  assert.equal(r?.status, 200, `${method} ${body}: ${r?.body.toString('latin1') ?? ''}`);
}

/** n1 serves /app (HTTP and WebSocket); n2 is registered for /down on a port nobody listens on (a session of n2 fails over). */
async function register(proxy: ProxyProcess, deadPort: number): Promise<void> {
  await mcmp(proxy, 'CONFIG', `JVMRoute=n1&Host=127.0.0.1&Port=${node.port}&Type=http&StickySessionForce=No`);
  await mcmp(proxy, 'ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app');
  await mcmp(proxy, 'STATUS', 'JVMRoute=n1&Load=50');
  await mcmp(proxy, 'CONFIG', `JVMRoute=n2&Host=127.0.0.1&Port=${deadPort}&Type=http&StickySessionForce=No`);
  await mcmp(proxy, 'ENABLE-APP', 'JVMRoute=n2&Alias=localhost&Context=/down');
  await mcmp(proxy, 'STATUS', 'JVMRoute=n2&Load=50');
}

async function request(port: number, raw: string): Promise<number> {
  const r = await sendRaw(port, raw, { expect: 1, timeoutMs: 10_000, headOnly: new Set(raw.startsWith('HEAD ') ? [0] : []) });
  return r.responses[0]?.status ?? 0;
}

const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`;

/** Lines of a file, once it holds at least `count` (the threads flush at least once a second). */
async function linesOf(file: string, count: number, timeoutMs = 15_000, enough = (lines: string[]): boolean => lines.length >= count): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
    if (enough(lines) || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The one WebSocket round trip: open through the proxy, one message echoed, closed by the client. */
async function webSocketRoundTrip(port: number, message: string): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/ws`, { headers: { host: 'localhost' } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => ws.send(message);
    ws.onmessage = (ev: MessageEvent) => {
      assert.equal(ev.data, message);
      ws.close(1000);
    };
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket through the proxy failed'));
  });
}

before(async () => {
  node = await startNode();
});

after(() => {
  node?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('--access-log FILE (combined)', () => {
  const file = path.join(tmp, 'access.log');
  let proxy: ProxyProcess;

  before(async () => {
    proxy = await startProxy(['--threads', '2', '--access-log', file, '--set', 'EnableOptions=Off', '--set', 'WSUpgradeHeader=websocket']);
    await register(proxy, await freePort());
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
  });

  test('every request is one line in httpd\'s combined format, refusals and tunnels included', async () => {
    const port = proxy.listenPort;
    assert.equal(await request(port, get('/app/./ok?x=1', 'Referer: http://ref.example/a "b"\r\nUser-Agent: agent\\1\r\n')), 200);
    assert.equal(await request(port, `HEAD /app/head HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`), 200);
    assert.equal(await request(port, `POST /app/post HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`), 200);
    assert.equal(await request(port, get('/nothing-here')), 404, 'no context: the proxy answers');
    assert.equal(await request(port, get('/down/x')), 503, 'the only node of /down is down');
    assert.equal(await request(port, `GET /app/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`), 400, 'two Host fields');
    assert.equal(await request(port, get('/app/a%2Fb')), 404, 'an encoded slash (AllowEncodedSlashes Off)');
    assert.equal(await request(port, get('/app/big', `X-Big: ${'y'.repeat(17 * 1024)}\r\n`)), 431, 'a head above 16 KiB');
    await webSocketRoundTrip(port, 'ping through the tunnel');

    const lines = await linesOf(file, 9);
    assert.equal(lines.length, 9, lines.join('\n'));
    const parsed = lines.map(parseCombined);
    const byRequest = new Map(parsed.map((p) => [p.request, p]));
    const line = (request: string): Combined => {
      const p = byRequest.get(request);
      assert.ok(p !== undefined, `no line for "${request}" in:\n${lines.join('\n')}`);
      return p;
    };
    const ok = line('GET /app/./ok?x=1 HTTP/1.1');
    assert.equal(ok.client, '127.0.0.1');
    assert.equal(ok.status, 200);
    assert.equal(ok.bytes, String('hello /app/ok\n'.length), 'the node saw the normalised path; %b counts its body');
    assert.equal(ok.referer, 'http://ref.example/a \\"b\\"', 'quotes escaped as httpd does');
    assert.equal(ok.userAgent, 'agent\\\\1', 'a backslash escaped as httpd does');
    assert.match(ok.time, /^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/);
    assert.equal(line('HEAD /app/head HTTP/1.1').bytes, '-', 'no body: %b is -');
    assert.equal(line('POST /app/post HTTP/1.1').status, 200);
    assert.equal(line('POST /app/post HTTP/1.1').userAgent, '-', 'no User-Agent: "-"');
    const notFound = line('GET /nothing-here HTTP/1.1');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.bytes, String('404 Not Found\n'.length));
    assert.equal(line('GET /down/x HTTP/1.1').status, 503);
    assert.equal(line('GET /app/x HTTP/1.1').status, 400);
    assert.equal(line('GET /app/a%2Fb HTTP/1.1').status, 404);
    assert.equal(line('GET /app/big HTTP/1.1').status, 431);
    const tunnel = line('GET /app/ws HTTP/1.1');
    assert.equal(tunnel.status, 101, 'a tunnel is logged once it ends, with the upgrade status');
    assert.equal(tunnel.bytes, String('ping through the tunnel'.length), 'the bytes the node sent the client');
  });

  test('two threads under concurrent load: every line whole, none lost', async () => {
    const port = proxy.listenPort;
    const before = (await linesOf(file, 0)).length;
    const agent = `load-${'a'.repeat(3000)}`;
    const total = 240;
    for (let batch = 0; batch < total / 24; batch++) {
      const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => request(port, get(`/app/load-${batch * 24 + i}`, `User-Agent: ${agent}\r\n`))));
      assert.ok(statuses.every((st) => st === 200), statuses.join(','));
    }
    const lines = (await linesOf(file, before + total)).slice(before);
    assert.equal(lines.length, total);
    const seen = new Set(lines.map((l) => {
      const p = parseCombined(l);
      assert.equal(p.userAgent, agent, 'a line cut or mixed with another');
      return p.request;
    }));
    assert.equal(seen.size, total, 'each request exactly once');
  });

  test('SIGUSR1 after a rename: new lines go to a new file, none is lost (logrotate)', async () => {
    const port = proxy.listenPort;
    const before = (await linesOf(file, 0)).length;
    for (let i = 0; i < 5; i++) assert.equal(await request(port, get(`/app/before-${i}`)), 200);
    await linesOf(file, before + 5);
    const rotated = `${file}.1`;
    fs.renameSync(file, rotated);
    // Between the rename and the signal the threads still hold the old file: those lines land there.
    for (let i = 0; i < 3; i++) assert.equal(await request(port, get(`/app/between-${i}`)), 200);
    proxy.child.kill('SIGUSR1');
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.existsSync(file), 'SIGUSR1 opened the file again by its name');
    // Both threads answer the reopen; give the slower one time on a loaded machine.
    await new Promise((r) => setTimeout(r, 2000));
    for (let i = 0; i < 5; i++) assert.equal(await request(port, get(`/app/after-${i}`)), 200);
    // Lines still buffered at the signal (some "between" ones) go to the new file too: wait for the five "after" ones.
    const fresh = await linesOf(file, 5, 15_000, (lines) => lines.filter((l) => l.includes('/app/after-')).length >= 5);
    const targets = (lines: string[]): string[] => lines.map((l) => parseCombined(l).request.split(' ')[1] as string);
    assert.deepEqual(targets(fresh).filter((t) => t.startsWith('/app/after-')).sort(), [0, 1, 2, 3, 4].map((i) => `/app/after-${i}`));
    const old = await linesOf(rotated, before + 5);
    const all = [...targets(old), ...targets(fresh)];
    for (const phase of ['before', 'between', 'after']) {
      const n = phase === 'between' ? 3 : 5;
      for (let i = 0; i < n; i++) assert.equal(all.filter((t) => t === `/app/${phase}-${i}`).length, 1, `/app/${phase}-${i} logged exactly once`);
    }
    assert.ok(!targets(old).some((t) => t.startsWith('/app/after-')), 'no line after the reopen went to the rotated file');
    assert.ok(proxy.logs.some((l) => l.msg === 'access log reopened'));
  });

  test('a graceful stop writes what is still buffered', async () => {
    const port = proxy.listenPort;
    const count = (await linesOf(file, 0)).length;
    for (let i = 0; i < 3; i++) assert.equal(await request(port, get(`/app/last-${i}`)), 200);
    assert.equal(await proxy.stop('SIGTERM'), 0);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, count + 3, 'the lines buffered at the stop are in the file once the process has exited');
  });
});

describe('--access-log - --access-log-format json', () => {
  let proxy: ProxyProcess;

  before(async () => {
    proxy = await startProxy(['--threads', '2', '--access-log', '-', '--access-log-format', 'json', '--set', 'EnableOptions=Off', '--set', 'WSUpgradeHeader=websocket', '--set', 'Maxsessionid=0']);
    await register(proxy, await freePort());
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
  });

  test('one JSON object per line on standard output, with the node, timings and the sticky facts', async () => {
    const port = proxy.listenPort;
    assert.equal(await request(port, get('/app/./j?q=1', 'User-Agent: json-test\r\n')), 200);
    // A session of n2, which does not serve /app: served by n1, so the session failed over.
    assert.equal(await request(port, get('/app/sticky', 'Cookie: JSESSIONID=abc.n2\r\n')), 200);
    assert.equal(await request(port, get('/down/y')), 503);
    assert.equal(await request(port, get('/app/%zz')), 400, 'a malformed escape');
    await webSocketRoundTrip(port, 'json tunnel');
    const deadline = Date.now() + 15_000;
    while (proxy.stdout.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(proxy.stdout.length, 5, proxy.stdout.join('\n'));
    const entries = proxy.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    const byTarget = new Map(entries.map((e) => [e.target, e]));

    const j = byTarget.get('/app/./j?q=1');
    assert.ok(j !== undefined, proxy.stdout.join('\n'));
    assert.equal(j.path, '/app/j?q=1', 'the normalised path the node got');
    assert.equal(j.method, 'GET');
    assert.equal(j.client, '127.0.0.1');
    assert.equal(j.host, 'localhost');
    assert.equal(j.status, 200);
    assert.equal(j.bytes, 'hello /app/j\n'.length);
    assert.equal(j.node, 'n1');
    assert.equal(j.tries, 1);
    assert.equal(j.failover, false);
    assert.equal(j.sticky, null);
    assert.equal(j.userAgent, 'json-test');
    assert.equal(j.referer, null);
    assert.equal(typeof j.upstreamMs, 'number');
    assert.equal(typeof j.totalMs, 'number');
    assert.ok((j.upstreamMs as number) >= 0 && (j.upstreamMs as number) <= (j.totalMs as number), JSON.stringify(j));
    assert.ok(Math.abs(Date.parse(j.time as string) - Date.now()) < 60_000, `time ${String(j.time)}`);

    const sticky = byTarget.get('/app/sticky');
    assert.equal(sticky?.sticky, 'n2');
    assert.equal(sticky?.node, 'n1');
    assert.equal(sticky?.failover, true);
    assert.equal(sticky?.tries, 1, 'n2 does not serve /app: n1 was the only node tried');

    const down = byTarget.get('/down/y');
    assert.equal(down?.status, 503);
    assert.equal(down?.node, null, 'refused by the proxy: no node');
    assert.equal(down?.upstreamMs, null);

    const bad = byTarget.get('/app/%zz');
    assert.equal(bad?.status, 400);
    assert.equal(bad?.node, null);

    const tunnel = byTarget.get('/app/ws');
    assert.equal(tunnel?.status, 101);
    assert.equal(tunnel?.node, 'n1');
    assert.equal(tunnel?.bytes, 'json tunnel'.length);
  });
});

describe('bad values', () => {
  const run = (...args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stderr: r.stderr };
  };

  for (const [args, expected] of [
    [['--access-log-format', 'xml', '--access-log', '-'], /^mcmp-edge: --access-log-format: bad value "xml"; expected combined or json\n$/],
    [['--access-log', path.join(tmp, 'no-such-dir', 'a.log')], /^mcmp-edge: --access-log: cannot open ".*no-such-dir\/a\.log" for appending \(ENOENT\); expected a writable file path or - for standard output\n$/],
    [['--access-log', tmp], /^mcmp-edge: --access-log: cannot open ".*" for appending \(EISDIR\)/],
    [['--access-log-format', 'json'], /^mcmp-edge: --access-log-format: needs --access-log PATH\|- \(or the AccessLog directive\)\n$/],
    [['--set', 'AccessLogFormat=xml'], /^mcmp-edge: --set: AccessLogFormat: bad value "xml"; expected combined, json\n$/],
    [['--access-log'], /^mcmp-edge: --access-log: needs a value/],
  ] as Array<[string[], RegExp]>) {
    test(`${args.join(' ')}: one line, exit 2`, () => {
      const r = run(...args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }

  test('--help lists both flags and both directives with their defaults', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    assert.match(r.stdout, /--access-log PATH\|- .*\(default: none\)/);
    assert.match(r.stdout, /--access-log-format FMT .*\(default combined\)/);
    assert.match(r.stdout, /^ {2}AccessLog {2,}.*\(default none\)$/m);
    assert.match(r.stdout, /^ {2}AccessLogFormat {2,}.*\(default Combined\)$/m);
  });
});

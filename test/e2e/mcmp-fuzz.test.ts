// Malformed MCMP never crashes the primary and never changes the tables.
// Every generated message is built so that it must be rejected (a random
// prefix, then a field no valid message can carry), while still exercising the
// HTTP parser and the body grammar with random bytes, truncation, oversized
// fields, bad percent-encoding and missing values. MCMP_EDGE_SOAK=1 runs longer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { prng } from '../helpers/prng';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

const SOAK = process.env.MCMP_EDGE_SOAK === '1';
const ROUNDS = SOAK ? 20000 : 1500;


const METHODS = ['CONFIG', 'ENABLE-APP', 'DISABLE-APP', 'STOP-APP', 'REMOVE-APP', 'STATUS', 'PING', 'config', 'Enable-App'];
const NAMES = ['JVMRoute', 'Balancer', 'Domain', 'Host', 'Port', 'Type', 'Alias', 'Context', 'Load', 'ping', 'ttl', 'flushwait', 'Timeout', 'smax', 'StickySession', 'Scheme', '', 'x'];
const VALUES = ['', 'node1', '%', '%4', '%zz', '%3C', '%0d%0a', '/app', 'a,,b', ',', '-1', '101', 'abc', '9'.repeat(300), 'é', '%FF%FE', 'x'.repeat(270), '<', '"', "'", '&', '=', '+'];
const TOO_LONG_ROUTE = `JVMRoute=${'r'.repeat(65)}`;

function randomBody(rnd: () => number): string {
  const parts: string[] = [];
  const n = Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    const name = NAMES[Math.floor(rnd() * NAMES.length)] ?? '';
    const value = VALUES[Math.floor(rnd() * VALUES.length)] ?? '';
    const r = rnd();
    parts.push(r < 0.1 ? name : r < 0.15 ? `${name}=${value}=${value}` : `${name}=${value}`);
  }
  let body = parts.join('&');
  if (rnd() < 0.3) body += randomBytes(Math.floor(rnd() * 40)).toString('latin1');
  return body;
}

function malformed(rnd: () => number): string | Buffer {
  const kind = Math.floor(rnd() * 7);
  const method = METHODS[Math.floor(rnd() * METHODS.length)] ?? 'CONFIG';
  switch (kind) {
    case 0: // random bytes
      return randomBytes(1 + Math.floor(rnd() * 300));
    case 1: {
      // a valid-looking request cut short (the server must time out or answer 400, never apply it)
      const full = mcmpRequest('CONFIG', 'JVMRoute=cut&Host=127.0.0.1&Port=1&Type=http');
      return full.slice(0, Math.floor(rnd() * (full.length - 1)));
    }
    case 2: {
      // A random body that ends with a field no message may carry. Not PING: it stops at the
      // first empty name (MCMP.md §2.5), so "&JVMRoute=…" after an empty body is a valid PING.
      const m = method === 'PING' ? 'STATUS' : method;
      return mcmpRequest(m, `${randomBody(rnd)}&${TOO_LONG_ROUTE}`);
    }
    case 3: // oversized body
      return mcmpRequest(method, `JVMRoute=big&Alias=${'a'.repeat(20000)}&Context=/x`);
    case 4: // a forbidden character somewhere in an otherwise valid CONFIG
      return mcmpRequest('CONFIG', `JVMRoute=evil&Host=127.0.0.1&Port=2&Type=http&Domain=${['%3C', '%3E', '%22', '%27', '%0A', '%0D'][Math.floor(rnd() * 6)]}`);
    case 5: {
      // broken HTTP framing around a body that would otherwise be valid
      const frames = [
        'CONFIG / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nJVMRoute=x',
        'CONFIG / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        'CONFIG / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nJVMRoute=x\r\n0\r\n\r\n',
        'CONFIG / HTTP/1.1\r\nContent-Length: -4\r\n\r\n',
        'CONFIG / HTTP/9.9\r\nContent-Length: 0\r\n\r\n',
        'CONFIG * HTTP/1.1\r\nContent-Length: 10\r\n\r\nJVMRoute=x',
        `CONFIG / HTTP/1.1\r\nX: ${'h'.repeat(20000)}\r\n\r\n`,
        'CONFIG / HTTP/1.1\nContent-Length: 0\n\n',
        'CON FIG / HTTP/1.1\r\n\r\n',
      ];
      return frames[Math.floor(rnd() * frames.length)] ?? '';
    }
    default: {
      // semantic errors on the existing node: conflicts, bad loads, unknown routes
      const cases: Array<[string, string]> = [
        ['CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=1&Type=http'],
        ['STATUS', 'JVMRoute=node1&Load=101'],
        ['STATUS', 'JVMRoute=node1&Load=-2'],
        ['STATUS', 'JVMRoute=node1&Load=x'],
        ['ENABLE-APP', 'JVMRoute=ghost&Alias=a&Context=/b'],
        ['ENABLE-APP', 'JVMRoute=node1&Alias=&Context=/b'],
        ['STOP-APP', 'JVMRoute=node1&Alias=a&Context='],
        ['PING', 'Scheme=gopher&Host=h&Port=1'],
        ['CONFIG', 'JVMRoute=node1&Port=0&Type=http&Host=x'],
        ['CONFIG', 'JVMRoute=node9&Type=udp'],
        ['REMOVE-APP', 'JVMRoute=ghost'],
      ];
      const [m, body] = cases[Math.floor(rnd() * cases.length)] ?? ['STATUS', ''];
      return mcmpRequest(m, body, m === 'REMOVE-APP' ? '/*' : '/');
    }
  }
}

let proxy: ProxyProcess;
let backend: http.Server;
let backendPort: number;

before(async () => {
  backend = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
  proxy = await startProxy(['--threads', '1', '--log-level', 'error']);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await new Promise((r) => backend.close(r));
});

async function tablesText(): Promise<string> {
  const dump = await sendRaw(proxy.managerPort, mcmpRequest('DUMP'), { expect: 1 });
  const info = await sendRaw(proxy.managerPort, mcmpRequest('INFO'), { expect: 1 });
  // INFO's statistics may move (probes read bytes); the rows may not.
  const infoRows = (info.responses[0]?.body.toString('latin1') ?? '').replace(/,Elected: .*$/gm, '');
  return `${dump.responses[0]?.body.toString('latin1')}\n${infoRows}`;
}

test(`${ROUNDS} malformed MCMP messages change nothing and the primary keeps answering`, { timeout: SOAK ? 3_600_000 : 300_000 }, async () => {
  const ok = async (method: string, body: string): Promise<void> => {
    const r = await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 });
    assert.equal(r.responses[0]?.status, 200, `${method} ${body}`);
  };
  await ok('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backendPort}&Type=http`);
  await ok('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app');
  await ok('STATUS', 'JVMRoute=node1&Load=80');
  const before = await tablesText();
  const seed = Number(process.env.MCMP_EDGE_FUZZ_SEED ?? Date.now() % 100000);
  const rnd = prng(seed);
  const statuses = new Map<string, number>();
  const batch = 25;
  for (let i = 0; i < ROUNDS; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, ROUNDS - i) }, async () => {
        const payload = malformed(rnd);
        const r = await sendRaw(proxy.managerPort, payload, { timeoutMs: 300 });
        const key = r.responses.map((x) => x.status).join('+') || (r.closed ? 'closed' : 'pending');
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        for (const res of r.responses) assert.notEqual(res.status, 200, `seed ${seed}: accepted ${JSON.stringify(payload.toString().slice(0, 200))}`);
      }),
    );
    assert.equal(proxy.child.exitCode, null, `seed ${seed}: the proxy exited`);
  }
  assert.equal(await tablesText(), before, `seed ${seed}: the tables changed`);
  await ok('STATUS', 'JVMRoute=node1&Load=90');
  const { responses } = await sendRaw(proxy.listenPort, 'GET /app/ HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
  assert.equal(responses[0]?.status, 200, 'traffic still flows');
  assert.ok((statuses.get('500') ?? 0) > ROUNDS / 10, `few MCMP errors: ${JSON.stringify([...statuses])}`);
  assert.ok((statuses.get('400') ?? 0) > 0, `no HTTP-level rejections: ${JSON.stringify([...statuses])}`);
});

// Issue 7: random and mutated requests on the traffic port of the real proxy.
// No thread crashes (no error in the log, the process up, traffic still
// served), nothing reaches the node outside the ENABLED context /app (read
// the most permissive way a container may), everything the node gets passes
// its strict parser, and the process's memory stays bounded.
// MCMP_EDGE_SOAK=1 runs 20 000 requests instead of 600; MCMP_EDGE_FUZZ_SEED
// reproduces a run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { prng } from '../helpers/prng';
import { sendRaw } from '../helpers/raw-http';
import { insideApp, startCluster, type Cluster } from './cluster';

const SOAK = process.env.MCMP_EDGE_SOAK === '1';
const ROUNDS = SOAK ? 20_000 : 600;
const CONCURRENCY = 24;
/** uWS keeps a connection it cannot parse open until its idle timeout: the client gives up sooner. */
const WAIT_MS = 700;
const SEED = Number(process.env.MCMP_EDGE_FUZZ_SEED ?? Date.now() % 1_000_000);


const SEEDS = [
  'GET /app/x HTTP/1.1\r\nHost: localhost\r\n\r\n',
  'GET /app/a/b;jsessionid=abc.node1?q=1 HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=abc.node1\r\n\r\n',
  'POST /app/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello',
  'POST /app/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET /app/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  'GET /stopped/x HTTP/1.1\r\nHost: localhost\r\n\r\n',
  'PUT /app/%2e%2e/secret HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n',
];
const PATH_PIECES = ['..', '.', '%2e', '%2E%2e', '%2f', '%2F', ';', ';x=y', '..;', '//', '/', '%00', '%5c', '\\', '%c0%ae', '%e0%80%ae', '%ef%bc%8e', '\u2025', '?', '#', '%', '%%', '%zz', 'secret', 'stopped', 'app'];
const BYTES = ['\r', '\n', '\r\n', '\0', ' ', '\t', ':', ',', '\x7f', '\xff', '\x80', 'é', '0', 'f'];
const HEADERS = ['Content-Length: 3', 'Content-Length: -1', 'Content-Length: 99999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip', 'Host: evil', 'Host:', 'Connection: close, host', 'Expect: 100-continue', 'Upgrade: h2c', `X-Big: ${'b'.repeat(5000)}`, ' folded'];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function mutate(rnd: () => number, request: string): string {
  let s = request;
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (s.length + 1));
    switch (Math.floor(rnd() * 6)) {
      case 0: {
        // a path piece inside the target
        const start = s.indexOf(' ') + 1;
        const end = Math.max(start, s.indexOf(' ', start));
        const p = start + Math.floor(rnd() * (end - start + 1));
        s = s.slice(0, p) + (rnd() < 0.5 ? '/' : '') + pick(rnd, PATH_PIECES) + s.slice(p);
        break;
      }
      case 1:
        s = s.slice(0, at) + pick(rnd, BYTES) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 3));
        break;
      case 3: {
        const line = s.indexOf('\r\n') + 2;
        s = s.slice(0, line) + pick(rnd, HEADERS) + '\r\n' + s.slice(line);
        break;
      }
      case 4: {
        // a line repeated
        const lines = s.split('\r\n');
        const k = Math.floor(rnd() * lines.length);
        lines.splice(k, 0, lines[k] ?? '');
        s = lines.join('\r\n');
        break;
      }
      default:
        s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(at + 1);
    }
  }
  return s;
}

function generate(rnd: () => number): Buffer {
  const r = rnd();
  if (r < 0.1) return randomBytes(1 + Math.floor(rnd() * 200));
  if (r < 0.2) {
    const target = `/${Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => pick(rnd, PATH_PIECES)).join(rnd() < 0.7 ? '/' : '')}`;
    return Buffer.from(`${pick(rnd, ['GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE'])} ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1');
  }
  return Buffer.from(mutate(rnd, pick(rnd, SEEDS)), 'latin1');
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.close();
});

test(`${ROUNDS} random and mutated requests (seed ${SEED}): no crash, nothing outside /app reaches the node, memory bounded`, { timeout: SOAK ? 3_600_000 : 300_000 }, async () => {
  const rnd = prng(SEED);
  const { proxy, node } = cluster;
  const pid = proxy.child.pid as number;
  // Warm up, then take the baseline.
  for (let i = 0; i < 50; i++) await sendRaw(proxy.listenPort, SEEDS[0] as string, { expect: 1 });
  const rssBefore = rssBytes(pid);
  node.reset();
  let answered = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ROUNDS) {
      next++;
      const r = await sendRaw(proxy.listenPort, generate(rnd), { timeoutMs: WAIT_MS });
      if (r.responses.length > 0) answered++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await new Promise((resolve) => setTimeout(resolve, 200));

  const outside = node.requests.filter((s) => !insideApp(s.url)).map((s) => s.url);
  assert.deepEqual(outside, [], `seed ${SEED}: requests outside /app reached the node`);
  // A body cut short by the client or uWS ends the node's message early; nothing else may fail its strict parser.
  const malformed = node.parseErrors.filter((e) => !e.startsWith('HPE_INVALID_EOF_STATE'));
  assert.deepEqual(malformed, [], `seed ${SEED}: the node's strict parser refused what it got`);
  const errors = proxy.logs.filter((l) => typeof l.level === 'number' && l.level >= 50);
  assert.deepEqual(errors, [], `seed ${SEED}: errors in the proxy log`);
  assert.equal(proxy.child.exitCode, null);
  const ok = await sendRaw(proxy.listenPort, SEEDS[0] as string, { expect: 1 });
  assert.equal(ok.responses[0]?.status, 200);
  const rssAfter = rssBytes(pid);
  const growth = rssAfter - rssBefore;
  console.log(`# seed ${SEED}: ${ROUNDS} requests, ${answered} answered, ${node.requests.length} reached the node; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(growth < 96 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
});

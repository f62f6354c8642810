// Replays every raw exchange of ../shared/reference/httpd-mcmp-responses.txt
// (captured from httpd 2.4.71 + mod_proxy_cluster 2.0.0.Dev) against the real
// mcmp-edge, in order, and compares status code, Type/Mess headers and body.
// Exceptions are listed in EXCEPTIONS with the decision (MCMP.md §11.0) or the
// reason; httpd's HTML error pages are not compared (only that a body exists).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sendRaw, type RawResponse } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { loadCapture, type Exchange } from './capture';

const CAPTURE_BACKEND_PORT = '17010';
const CAPTURE_TRAFFIC_PORT = '17000';

/** Exchanges whose expected reply differs from httpd's by a decision of MCMP.md §11.0, and why. */
const EXCEPTIONS: Record<number, { why: string; expect: (ours: RawResponse) => void }> = {
  17: {
    why: 'D2: Type must be ajp, http or https; httpd stored "udp". The node is then registered as ajp so slot numbers stay as in the capture.',
    expect: (ours) => {
      assert.equal(ours.status, 500);
      assert.equal(ours.headers.type, 'SYNTAX');
      assert.match(ours.headers.mess ?? '', /Type/);
    },
  },
  26: {
    why: 'MCMP on the traffic port: uWebSockets.js closes connections that use unknown methods; httpd answers 501.',
    expect: (ours) => assert.ok(ours === undefined || ours.status === 501 || ours.status === 400 || ours.status === 405),
  },
  54: {
    why: 'D5: STOP-APP answers the legacy one-line reply with Requests= so that Java workers can drain.',
    expect: (ours) => {
      assert.equal(ours.status, 200);
      assert.equal(ours.body.toString(), 'Type=STOP-APP-RSP&JvmRoute=node1&Alias=localhost,127.0.0.1&Context=/app&Requests=0\n');
    },
  },
  72: {
    why: 'GET / on the MCMP port: httpd serves its DocumentRoot on the MCMP virtual host; mcmp-edge serves only MCMP and the status page there (--docroot is for the traffic port).',
    expect: (ours) => assert.equal(ours.status, 404),
  },
};

/** Differences no decision covers but that cannot be equal: counters of bytes and the start-time id. */
function normalise(body: string): string {
  return body
    .replace(/id=\d{10,}/g, 'id=<start-time>')
    .replace(/(Read|Transfered|Transferred): \d+/g, '$1: <bytes>')
    .replace(/<(Read|Transfered)>\d+<\/\1>/g, '<$1><bytes></$1>')
    // D2: the node httpd stored as udp is registered as ajp here (see exchange 17).
    .replace(/Type: udp/g, 'Type: ajp')
    .replace(/udp:\/\//g, 'ajp://');
}

let proxy: ProxyProcess;
let backend: http.Server;
let backendPort: string;
let docroot: string;

before(async () => {
  backend = http.createServer((req, res) => {
    const body = `hello from backend ${backendPort} ${req.url}\n`;
    res.writeHead(200, { 'Content-type': 'text/html', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = String((backend.address() as AddressInfo).port);
  docroot = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-docroot-'));
  fs.writeFileSync(path.join(docroot, 'index.html'), '<html><body>proxy-root</body></html>\n');
  proxy = await startProxy([
    '--threads', '2',
    '--log-level', 'warn',
    '--manager-path', '/mod_cluster_manager',
    '--docroot', docroot,
    // The capture's httpd had WSUpgradeHeader set (http nodes show as ws) and CheckNonce off.
    '--set', 'WSUpgradeHeader=websocket',
    '--set', 'CheckNonce=Off',
  ]);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await new Promise((r) => backend.close(r));
});

/** The capture's request with its ports mapped to this run's, Content-Length fixed. */
function requestFor(ex: Exchange): { port: number; bytes: string } {
  const toTraffic = ex.request.includes(`Host: 127.0.0.1:${CAPTURE_TRAFFIC_PORT}\r\n`);
  let req = ex.request.split(CAPTURE_BACKEND_PORT).join(backendPort);
  const sep = req.indexOf('\r\n\r\n');
  const body = req.slice(sep + 4);
  if (/\r\nContent-Length: \d+/.test(req)) req = req.replace(/\r\nContent-Length: \d+/, `\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return { port: toTraffic ? proxy.listenPort : proxy.managerPort, bytes: req };
}

test('every exchange of the httpd capture, replayed in order', { timeout: 120_000 }, async (t) => {
  const exchanges = loadCapture();
  assert.equal(exchanges.length, 77);
  let slept = false;
  for (const ex of exchanges) {
    // The capture waited 12 s once (before #73) to show the REMOVED placeholders (D16: at 10 s, freed at 20 s).
    if (/12s after/.test(ex.title) && !slept) {
      slept = true;
      await new Promise((r) => setTimeout(r, 12_000));
    }
    const { port, bytes } = requestFor(ex);
    const head = ex.request.startsWith('HEAD ');
    const { responses } = await sendRaw(port, bytes, { timeoutMs: 5000, headOnly: head ? new Set([0]) : undefined });
    const ours = responses[0];
    const label = `#${ex.n} ${ex.title}`;
    const exception = EXCEPTIONS[ex.n];
    await t.test(label, () => {
      if (exception !== undefined) {
        exception.expect(ours as RawResponse);
        return;
      }
      assert.ok(ours !== undefined, `${label}: no response`);
      const want = ex.response;
      assert.equal(ours.status, want.status, label);
      for (const h of ['type', 'mess']) assert.equal(ours.headers[h], want.headers[h], `${label}: ${h} header`);
      if (want.status >= 400) {
        assert.ok(ours.body.length > 0, `${label}: error without a body`);
        return;
      }
      const expected = normalise(want.body.split(CAPTURE_BACKEND_PORT).join(backendPort));
      assert.equal(normalise(ours.body.toString('latin1')), expected, label);
    });
    if (ex.n === 17) {
      // Keep the capture's slot numbering: register probe-udp with an accepted type.
      const fix = 'JVMRoute=probe-udp&Host=127.0.0.1&Port=17096&Type=ajp';
      const r = await sendRaw(proxy.managerPort, `CONFIG / HTTP/1.1\r\nHost: x\r\nContent-Length: ${fix.length}\r\n\r\n${fix}`, { expect: 1 });
      assert.equal(r.responses[0]?.status, 200);
    }
  }
});

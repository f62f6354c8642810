// ProxyAddHeaders (httpd's directive, default On): On adds X-Forwarded-For,
// -Proto, -Port and -Host for an http node; Off adds none, passes the client's
// own For/Host as sent, and does not read the client's address at all unless
// something needs it (an AJP node's remote_addr, the access log). Seen by real
// nodes: a node:http server through the real proxy process configured from an
// httpd file, and the AJP fake container (real AJP bytes) through the threads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startBackend, startHarness, type Backend, type Harness } from './fixtures';
import { CPONG, decodeForward, END_KEEP, isCping, startFakeContainer, type FakeContainer } from './ajp/fake-container';
import { capturedPacket } from './ajp/captures';

/** An httpd configuration: the MCMP virtual host on an ephemeral port, and ProxyAddHeaders as given (none: the default). */
function httpdConfig(addHeaders: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-addheaders-'));
  const file = path.join(dir, 'httpd.conf');
  fs.writeFileSync(
    file,
    [
      'LoadModule proxy_cluster_module modules/mod_proxy_cluster.so',
      ...(addHeaders === undefined ? [] : [`ProxyAddHeaders ${addHeaders}`]),
      'Listen 127.0.0.1:0',
      '<VirtualHost 127.0.0.1:0>',
      '  EnableMCMPReceive',
      '  <Location />',
      '    Require ip 127.0.0.1',
      '  </Location>',
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  return file;
}

/** Registers `backend` as node n1 serving /app, with a load so that it is chosen. */
async function register(p: ProxyProcess, backend: Backend): Promise<void> {
  for (const [method, body] of [
    ['CONFIG', `JVMRoute=n1&Host=127.0.0.1&Port=${backend.port}&Type=http`],
    ['ENABLE-APP', 'JVMRoute=n1&Alias=localhost,shop.example&Context=/app'],
    ['STATUS', 'JVMRoute=n1&Load=50'],
  ] as const) {
    const r = await sendRaw(p.managerPort, mcmpRequest(method, body), { expect: 1 });
    assert.equal(r.responses[0]?.status, 200, `${method}: ${r.responses[0]?.body.toString()}`);
  }
}

const REQUEST =
  'GET /app/x HTTP/1.1\r\nHost: shop.example:8443\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: front.example\r\n' +
  'X-Forwarded-Proto: https\r\nX-Forwarded-Port: 1\r\nConnection: close\r\n\r\n';

/** What the node saw of one request through a proxy started with `config`. */
async function seenThrough(config: string, backend: Backend): Promise<Record<string, string | string[] | undefined>> {
  const p = await startProxy(['--threads', '1', '--config', config]);
  try {
    await register(p, backend);
    backend.seen.length = 0;
    const r = await sendRaw(p.listenPort, REQUEST, { expect: 1 });
    assert.equal(r.responses[0]?.status, 200, r.responses[0]?.body.toString());
    assert.equal(backend.seen.length, 1);
    return backend.seen[0]?.headers ?? {};
  } finally {
    await p.stop();
  }
}

describe('ProxyAddHeaders through the real process (httpd --config)', () => {
  let backend: Backend;
  before(async () => {
    backend = await startBackend('n1');
  });
  after(async () => {
    await backend.close();
  });

  it('On (the default): For/Host appended to, Proto/Port set by the proxy', async () => {
    for (const config of [httpdConfig(undefined), httpdConfig('On')]) {
      const hd = await seenThrough(config, backend);
      assert.equal(hd['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
      assert.equal(hd['x-forwarded-host'], 'front.example, shop.example:8443');
      assert.equal(hd['x-forwarded-proto'], 'http');
      assert.match(String(hd['x-forwarded-port']), /^[1-9]\d*$/);
      assert.notEqual(hd['x-forwarded-port'], '1', "the client's own X-Forwarded-Port never passes");
      assert.equal(hd.host, 'shop.example:8443');
    }
  });

  it('Off: nothing added; the client\'s For/Host pass as sent, its Proto/Port never', async () => {
    const hd = await seenThrough(httpdConfig('Off'), backend);
    assert.equal(hd['x-forwarded-for'], '10.0.0.1');
    assert.equal(hd['x-forwarded-host'], 'front.example');
    assert.equal(hd['x-forwarded-proto'], undefined);
    assert.equal(hd['x-forwarded-port'], undefined);
    assert.equal(hd.host, 'shop.example:8443');
  });
});

describe('ProxyAddHeaders Off, AJP node', () => {
  let h: Harness;
  let fake: FakeContainer;
  const seen: Buffer[] = [];

  before(async () => {
    const head = capturedPacket(41, 10);
    const body = capturedPacket(41, 11);
    fake = await startFakeContainer(async (conn) => {
      for (;;) {
        const p = await conn.next();
        if (isCping(p)) {
          conn.send(CPONG);
          continue;
        }
        seen.push(p);
        conn.send(head, body, END_KEEP);
      }
    });
    h = await startHarness({ threads: 1, addHeaders: false });
    h.addNode(0, { port: fake.port }, [[0, '/app']], { type: 'ajp', route: 'fake', timeoutUs: 2_000_000, pingUs: 1_000_000 });
  });
  after(async () => {
    await h.close();
    await fake.close();
  });

  it('remote_addr is still the client\'s address (read when the AJP request is built)', async () => {
    const r = await sendRaw(h.port, 'GET /app/a HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.2.3\r\nConnection: close\r\n\r\n', { expect: 1 });
    assert.equal(r.responses[0]?.status, 200);
    const f = decodeForward(seen[0] as Buffer);
    assert.equal(f.remoteAddr, '127.0.0.1');
    assert.deepEqual(f.headers.filter(([n]) => n.startsWith('x-forwarded-')), [['x-forwarded-for', '10.1.2.3']]);
  });
});

// STATUS probes shared between STATUS of one node, through the real proxy
// (README "STATUS probes"): a burst of STATUS costs the node one probe, and
// once a client request found the node dead the next STATUS probes again and
// answers NOTOK, without waiting for StatusProbeReuse.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startProxy } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

test('a STATUS burst costs one probe; a node found dead by a request is NOTOK at the next STATUS', async () => {
  const probes: string[] = [];
  const backend = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') probes.push(req.url ?? '');
    res.end('ok\n');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  // A long reuse window: only the request's failure can make the STATUS after it probe again.
  const p = await startProxy(['--threads', '1', '--set', 'StatusProbeReuse=60000']);
  const status = async (): Promise<string> => {
    const { responses } = await sendRaw(p.managerPort, mcmpRequest('STATUS', 'JVMRoute=node1&Load=100'), { expect: 1 });
    assert.equal(responses[0]?.status, 200);
    return responses[0]?.body.toString() ?? '';
  };
  try {
    for (const [method, body] of [
      ['CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http`],
      ['ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app'],
    ]) {
      const { responses } = await sendRaw(p.managerPort, mcmpRequest(method as string, body), { expect: 1 });
      assert.equal(responses[0]?.status, 200, `${method}`);
    }
    assert.match(await status(), /State=OK/);
    assert.equal(probes.length, 1);
    const burst = await Promise.all(Array.from({ length: 30 }, () => status()));
    assert.ok(burst.every((b) => /State=OK/.test(b)), burst.join(''));
    assert.equal(probes.length, 1, '30 STATUS on 30 connections within the window: no new probe');

    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
    const served = await sendRaw(p.listenPort, 'GET /app/ HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
    assert.ok((served.responses[0]?.status ?? 0) >= 500, `the request to the dead node: ${served.responses[0]?.statusLine}`);
    const after = await Promise.all(Array.from({ length: 20 }, () => status()));
    assert.ok(after.every((b) => /State=NOTOK/.test(b)), after.join(''));
  } finally {
    await p.stop();
    if (backend.listening) await new Promise((r) => backend.close(r));
  }
});

// The status page as JSON, from the real process: ?format=json and
// Accept: application/json, with nodes, balancers, vhosts, contexts, states
// and counters.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startProxy } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

test('the status page as JSON', async () => {
  const backend = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  const p = await startProxy(['--threads', '1', '--set', 'EnableOptions=Off']);
  try {
    const mcmp = async (method: string, body: string): Promise<void> => {
      const { responses } = await sendRaw(p.managerPort, mcmpRequest(method, body), { expect: 1 });
      assert.equal(responses[0]?.status, 200, `${method} ${body}`);
    };
    await mcmp('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${port}&Type=http&Balancer=shop`);
    await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost,www.example.com&Context=/app');
    await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost,www.example.com&Context=/admin');
    await mcmp('STOP-APP', 'JVMRoute=node1&Alias=localhost,www.example.com&Context=/admin');
    await mcmp('STATUS', 'JVMRoute=node1&Load=80');
    const served = await sendRaw(p.listenPort, 'GET /app/ HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
    assert.equal(served.responses[0]?.status, 200);

    const byQuery = await sendRaw(p.managerPort, 'GET /mod_cluster-manager?format=json HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
    const byAccept = await sendRaw(p.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n', { expect: 1 });
    const html = await sendRaw(p.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n', { expect: 1 });
    assert.match(html.responses[0]?.headers['content-type'] ?? '', /^text\/html/);
    for (const r of [byQuery.responses[0], byAccept.responses[0]]) {
      assert.equal(r?.status, 200);
      assert.equal(r?.headers['content-type'], 'application/json');
      const view = JSON.parse(r?.body.toString() ?? '') as {
        balancers: Array<{ name: string; stickySessionCookie: string }>;
        nodes: Array<{ route: string; balancer: string; state: string; load: number; elected: number; url: string; requests: Record<string, number> }>;
        vhosts: Array<{ node: string; aliases: string[] }>;
        contexts: Array<{ node: string; path: string; state: string }>;
      };
      assert.deepEqual(view.balancers.map((b) => [b.name, b.stickySessionCookie]), [['shop', 'JSESSIONID']]);
      const node = view.nodes[0];
      assert.equal(node?.route, 'node1');
      assert.equal(node?.balancer, 'shop');
      assert.equal(node?.state, 'ok');
      assert.equal(node?.load, 80);
      assert.equal(node?.url, `http://127.0.0.1:${port}`);
      assert.equal(node?.requests['2xx'], 1);
      assert.ok((node?.elected ?? 0) >= 1);
      // As httpd stores them (the INFO capture): each alias of one ENABLE-APP in a vhost of its own.
      assert.deepEqual(view.vhosts, [
        { node: 'node1', vhost: 1, aliases: ['localhost'] },
        { node: 'node1', vhost: 2, aliases: ['www.example.com'] },
      ]);
      assert.deepEqual([...new Set(view.contexts.map((c) => `${c.node} ${c.path} ${c.state}`))].sort(), ['node1 /admin stopped', 'node1 /app enabled']);
    }
  } finally {
    await p.stop();
    await new Promise((r) => backend.close(r));
  }
});

// Stale kept-alive connections are retried once on a new connection (RFC 9112
// §9.3.1) and /metrics counts those retries per node. The node is a raw TCP
// server that answers the first request of each connection and closes the
// connection when a second one arrives on it: exactly what a node that timed
// out an idle connection while the proxy was reusing it looks like.
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

let proxy: ProxyProcess;
let node: net.Server;
let connections = 0;

before(async () => {
  node = net.createServer((socket) => {
    connections++;
    let requests = 0;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok');
        else socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy(['--threads', '1', '--set', 'EnableOptions=Off']);
  const port = (node.address() as AddressInfo).port;
  for (const [method, body] of [
    ['CONFIG', `JVMRoute=n1&Host=127.0.0.1&Port=${port}&Type=http`],
    ['ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app'],
    ['STATUS', 'JVMRoute=n1&Load=50'],
  ] as const) {
    assert.equal((await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 })).responses[0]?.status, 200);
  }
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await new Promise((resolve) => node?.close(resolve));
});

async function get(port: number, target: string): Promise<{ status: number; body: string }> {
  const r = (await sendRaw(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, { expect: 1, timeoutMs: 10_000 })).responses[0];
  return { status: r?.status ?? 0, body: r?.body.toString('latin1') ?? '' };
}

test('a request that meets a stale kept-alive connection is sent again on a new one and counted', async () => {
  for (let i = 0; i < 3; i++) assert.deepEqual(await get(proxy.listenPort, `/app/${i}`), { status: 200, body: 'ok' }, `request ${i}`);
  // Requests 2 and 3 each met the connection their predecessor left idle.
  assert.equal(connections, 3);
  const metrics = (await sendRaw(proxy.managerPort, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', { expect: 1 })).responses[0];
  assert.equal(metrics?.status, 200);
  const text = metrics?.body.toString('utf8') ?? '';
  assert.match(text, /^# TYPE mcmp_edge_upstream_retries_total counter$/m);
  assert.match(text, /^mcmp_edge_upstream_retries_total\{node="n1"\} 2$/m);
  assert.match(text, /^mcmp_edge_failovers_total\{node="n1"\} 0$/m, 'a retry on the same node is not a failover');
  assert.match(text, /^mcmp_edge_upstream_errors_total\{node="n1",kind="connect"\} 0$/m, 'nor a connection error');
});

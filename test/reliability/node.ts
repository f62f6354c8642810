// The node the reliability tests put behind the real proxy: a Node http server
// on loopback, registered as n1 for localhost/app over real MCMP.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import type { ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

export interface TestNode {
  readonly port: number;
  close(): Promise<void>;
}

export async function startNode(handler: http.RequestListener, keepAliveTimeoutMs?: number): Promise<TestNode> {
  const server = http.createServer(handler);
  if (keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** CONFIG (with `configExtra`, e.g. `&smax=16`), ENABLE-APP /app, STATUS: each must answer 200. */
export async function registerNode(proxy: ProxyProcess, port: number, configExtra = ''): Promise<void> {
  const steps: Array<[string, string]> = [
    ['CONFIG', `JVMRoute=n1&Host=127.0.0.1&Port=${port}&Type=http${configExtra}`],
    ['ENABLE-APP', 'JVMRoute=n1&Alias=localhost&Context=/app'],
    ['STATUS', 'JVMRoute=n1&Load=50'],
  ];
  for (const [method, body] of steps) {
    const r = (await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 })).responses[0];
    assert.equal(r?.status, 200, `${method}: ${r?.body.toString('latin1') ?? ''}`);
  }
}

// Run inside a test's network namespace: a back end (plain HTTP, answers
// `node=<route>`) and the scripted Java worker for it, with no proxyList, so
// proxies are found only through advertisements. Argument: JSON of
// { route, group, port, securityKey?, periodMs }. Events are JSON lines.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JavaWorker } from '../helpers/java-worker';

const o = JSON.parse(process.argv[2] ?? '{}') as { route: string; group: string; port: number; securityKey?: string; periodMs: number };
const emit = (event: Record<string, unknown>): boolean => process.stdout.write(`${JSON.stringify(event)}\n`);

const server = http.createServer((_req, res) => res.end(`node=${o.route}`));
server.listen(0, '127.0.0.1', () => {
  const worker = new JavaWorker({
    jvmRoute: o.route,
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    contexts: [{ path: '/demo', aliases: ['localhost'] }],
    advertise: { group: o.group, port: o.port, securityKey: o.securityKey, interfaceAddress: '127.0.0.1' },
    periodMs: o.periodMs,
    socketTimeoutMs: 5000,
  });
  worker.on('proxy', (address: string) => emit({ event: 'proxy', address }));
  worker.on('digest-mismatch', (server: string) => emit({ event: 'digest-mismatch', server }));
  worker.on('exchange', (e: Record<string, unknown>) => emit({ event: 'exchange', ...e }));
  worker.start().then(
    () => emit({ event: 'listening' }),
    (err: unknown) => {
      emit({ event: 'error', message: String(err) });
      process.exit(1);
    },
  );
  process.on('SIGTERM', () => {
    worker.close();
    server.close(() => process.exit(0));
  });
});

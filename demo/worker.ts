// One demo worker: a plain node:http server that joins the cluster with
// ClusterAgent — the whole integration is the `new ClusterAgent(...)` and
// `agent.start()` below. Started by demo/run.ts (it talks to it over IPC:
// "busy", "stop"); in your own code it is `import { ClusterAgent } from
// 'mcmp-edge/agent'`.
import http from 'node:http';
import { ClusterAgent, defaultNodeMetrics, type LoadMetric } from '../src/agent';

const [name = 'worker', proxyAddress = '127.0.0.1:6666', intervalText = '1000'] = process.argv.slice(2);

// A metric of our own next to the built-in ones (event loop, requests in flight, CPU, heap):
// the demo flips it to say "I am busy"; a real service might report a queue length.
let busy = 0;
const busyMetric: LoadMetric = { name: 'busy', weight: 45, load: () => busy };

let agent: ClusterAgent | undefined;

const server = http.createServer((req, res) => {
  if (req.url === '*') return void res.end(); // the proxy's OPTIONS * probe
  const session = agent?.sessions.adopt(req, res) ?? (req.url?.startsWith('/app/login') === true ? agent?.sessions.set(res) : undefined);
  const slowMs = /[?&]slow=(\d+)/.exec(req.url ?? '')?.[1];
  const answer = (): void => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name}${session === undefined ? '' : ` session=${session}`}\n`);
  };
  if (slowMs === undefined) answer();
  else setTimeout(answer, Number(slowMs));
});

server.listen(0, '127.0.0.1', async () => {
  agent = new ClusterAgent({
    server,
    route: name,
    proxies: [proxyAddress],
    contexts: ['/app'],
    aliases: ['localhost', '127.0.0.1'],
    statusInterval: Number(intervalText),
    load: { metrics: [...defaultNodeMetrics(() => agent?.inFlight ?? 0), busyMetric] },
  });
  agent.on('load', (load) => process.send?.({ event: 'load', load }));
  await agent.start();
  process.send?.({ event: 'ready', route: agent.route, port: (server.address() as { port: number }).port, proxies: agent.proxies.map((p) => p.state) });
});

process.on('message', async (msg: { cmd: string; value?: number }) => {
  if (msg.cmd === 'busy') busy = msg.value ?? 0;
  if (msg.cmd === 'stop') {
    // Graceful: DISABLE-APP, STOP-APP until the proxy counts no request in flight here, REMOVE-APP.
    const drained = (await agent?.stop({ timeout: 15_000 })) ?? true;
    server.close();
    process.send?.({ event: 'stopped', drained, inFlight: agent?.inFlight ?? 0 }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

// A worker process for the SIGTERM test: an agent with handleSignals, nothing else keeping the process alive.
import http from 'node:http';
import { ClusterAgent } from '../../src/agent';

const server = http.createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => {
  const agent = new ClusterAgent({ server, route: 'sig1', proxies: [`127.0.0.1:${process.argv[2]}`], handleSignals: true });
  void agent.start().then(() => process.stdout.write('ready\n'));
});

// Runs inside a private network namespace (advertise.test.ts starts it with
// `unshare -n`): loopback up with multicast and a 224.0.0.0/4 route, real
// mcmp-edge processes, advertise datagrams built by the shared datagram module
// (the bytes mod_advertise sends) and then a proxy advertising itself
// (ServerAdvertise), and one agent that must find every proxy, drop what Java
// drops and register. Prints one line per step; exits 1 on the
// first failed check.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import { buildAdvertisement } from '../../src/advertise/datagram';
import { ClusterAgent } from '../../src/agent';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

const GROUP = '224.0.1.105';
const PORT = 23364;
const KEY = 'secret';

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main(): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  execFileSync('ip', ['link', 'set', 'lo', 'multicast', 'on']);
  execFileSync('ip', ['route', 'add', '224.0.0.0/4', 'dev', 'lo']);
  const proxies: ProxyProcess[] = [await startProxy(['--threads', '1', '--log-level', 'warn'], 60_000), await startProxy(['--threads', '1', '--log-level', 'warn'], 60_000)];
  const server = http.createServer((req, res) => res.end(req.url === '*' ? '' : 'adv1'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dropped: string[] = [];
  const agent = new ClusterAgent({ server, route: 'adv1', contexts: ['/app'], statusInterval: 250, advertise: { securityKey: KEY, interface: '127.0.0.1' } });
  agent.on('advertiseDropped', (reason) => dropped.push(reason));
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
  sender.setMulticastInterface('127.0.0.1');
  let sequence = 0;
  const advertise = async (proxy: ProxyProcess, server: string, opts: { key?: string; status?: 200 | 403 } = {}): Promise<void> => {
    const status = opts.status ?? 200;
    const packet = buildAdvertisement({
      status,
      date: new Date(),
      sequence: ++sequence,
      server,
      securityKey: opts.key ?? KEY,
      manager: status === 200 ? { address: `127.0.0.1:${proxy.managerPort}`, url: `/${server}`, protocol: 'http', host: 'localhost' } : undefined,
    });
    await new Promise<void>((r, j) => sender.send(packet, PORT, GROUP, (err) => (err ? j(err) : r())));
  };
  const via = async (p: ProxyProcess): Promise<string> => (await fetch(`http://127.0.0.1:${p.listenPort}/app/`).catch(() => undefined))?.text() ?? '';
  try {
    await agent.start();
    assert.equal(agent.proxies.length, 0, 'no proxy before an advertisement');

    await advertise(proxies[0]!, 'aaaaaaaa-0000-4000-8000-000000000001', { key: 'wrong' });
    await until(() => dropped.length > 0, 'the datagram with a wrong digest dropped');
    assert.match(dropped[0]!, /bad digest/);
    assert.equal(agent.proxies.length, 0);
    console.log('ok wrong-digest-dropped');

    await advertise(proxies[0]!, 'aaaaaaaa-0000-4000-8000-000000000001');
    await until(() => agent.proxies[0]?.state === 'ok', 'registered with the advertised proxy');
    await until(async () => (await via(proxies[0]!)) === 'adv1', 'traffic through the first proxy');
    console.log('ok first-proxy-registered');

    await advertise(proxies[0]!, 'aaaaaaaa-0000-4000-8000-000000000001');
    await advertise(proxies[0]!, 'aaaaaaaa-0000-4000-8000-000000000001', { status: 403 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(agent.proxies.length, 1, 'the same server again, and its 403, change nothing');
    assert.equal(agent.proxies[0]?.state, 'ok');
    console.log('ok repeats-and-403-ignored');

    await advertise(proxies[1]!, 'bbbbbbbb-0000-4000-8000-000000000002');
    await until(() => agent.proxies.length === 2 && agent.proxies.every((p) => p.state === 'ok'), 'the second proxy found and registered');
    await until(async () => (await via(proxies[1]!)) === 'adv1', 'traffic through the second proxy');
    console.log('ok second-proxy-registered');

    // mcmp-edge's own advertise sender (ServerAdvertise), with the same key.
    proxies.push(await startProxy(['--threads', '1', '--log-level', 'warn', '--set', 'ServerAdvertise=On', '--set', 'AdvertiseFrequency=0.500', '--set', `AdvertiseSecurityKey=${KEY}`], 60_000));
    await until(() => agent.proxies.length === 3 && agent.proxies.every((p) => p.state === 'ok'), 'the proxy that advertises itself found and registered');
    await until(async () => (await via(proxies[2]!)) === 'adv1', 'traffic through the advertising proxy');
    console.log('ok real-sender-registered');

    assert.equal(await agent.stop(), true);
    for (const p of proxies) assert.notEqual(await via(p), 'adv1', 'removed from both at stop');
    console.log('ok stopped');
  } finally {
    sender.close();
    server.close();
    await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.log(`FAILED ${err.message}`);
    process.exit(1);
  },
);

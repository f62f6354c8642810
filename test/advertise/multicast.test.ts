// The proxy advertising for real, inside network namespaces the tests make
// (loopback only, a multicast route on it): a receiver checks each datagram the
// way the Java listener does (MCMP.md §4.4) and measures the period; a
// scripted Java worker with no proxyList finds the proxies from their
// advertisements and registers with each.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { after, test } from 'node:test';
import { parseAdvertisement, verifyAdvertisementDigest, type Advertisement } from '../../src/advertise/datagram';
import { CLI, startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { Netns, until } from './netns';

const RECEIVER = path.join(__dirname, 'receiver-main.js');
const WORKER = path.join(__dirname, 'worker-main.js');
const KEY = 'k3y-for-tests';

const probe = Netns.create();
const skip = typeof probe === 'string' ? probe : false;
if (typeof probe !== 'string') void probe.destroy();

const namespaces: Netns[] = [];
const proxies: ProxyProcess[] = [];

after(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
  await Promise.all(namespaces.map((n) => n.destroy()));
});

function netns(options?: { multicastRoute?: boolean }): Netns {
  const ns = Netns.create(options);
  if (typeof ns === 'string') throw new Error(ns);
  namespaces.push(ns);
  return ns;
}

async function proxyIn(ns: Netns, args: string[]): Promise<ProxyProcess> {
  const p = await startProxy(['--threads', '1', '--log-level', 'warn', ...args], 20_000, ns.wrap);
  proxies.push(p);
  return p;
}

interface Received {
  readonly t: number;
  readonly from: string;
  readonly bytes: Buffer;
}

async function receiver(ns: Netns, group: string): Promise<Received[]> {
  const got: Received[] = [];
  let listening = false;
  ns.node(RECEIVER, [group], (e) => {
    if (e.event === 'listening') listening = true;
    else got.push({ t: e.t as number, from: e.from as string, bytes: Buffer.from(e.data as string, 'base64') });
  });
  await until('the receiver to join the group', () => listening);
  return got;
}

const DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('advertising inside a namespace: every field, the digest as Java checks it, the period, 403 and 410 on stop', { skip, timeout: 60_000 }, async (t) => {
  const ns = netns();
  const got = await receiver(ns, '224.0.1.105:23364');
  const started = Date.now();
  const p = await proxyIn(ns, ['--set', 'ServerAdvertise=On', '--set', 'AdvertiseFrequency=1.500', '--set', `AdvertiseSecurityKey=${KEY}`, '--set', 'AllowDisplay=On']);
  const readyAt = Date.now();
  await until('five advertisements', () => got.length >= 5);
  const ads: Advertisement[] = got.slice(0, 5).map((r) => parseAdvertisement(r.bytes));
  const server = ads[0]!.server;
  assert.match(server, UUID);
  ads.forEach((ad, i) => {
    const bytes = got[i]!.bytes;
    assert.ok(bytes.length < 512, 'fits the Java listener buffer');
    assert.deepEqual(
      bytes.toString('latin1').split('\r\n').map((l) => l.split(': ')[0]),
      ['HTTP/1.0 200 OK', 'Date', 'Sequence', 'Digest', 'Server', 'X-Manager-Address', 'X-Manager-Url', 'X-Manager-Protocol', 'X-Manager-Host', '', ''],
      'mod_advertise field order, CRLF, an empty line at the end',
    );
    assert.equal(ad.status, 200);
    assert.equal(ad.reason, 'OK');
    assert.match(ad.date!, DATE);
    assert.ok(Math.abs(Date.parse(ad.date!) - got[i]!.t) < 5000, 'Date is the sending time');
    assert.equal(ad.sequence, String(i + 1), 'Sequence starts at 1 and counts every packet');
    assert.equal(ad.server, server, 'one Server UUID per run');
    assert.ok(verifyAdvertisementDigest(ad, KEY), 'digest verifies with AdvertiseSecurityKey');
    assert.ok(!verifyAdvertisementDigest(ad, 'another-key'), 'and not with another key');
    assert.ok(!verifyAdvertisementDigest(ad, undefined), 'nor without a key');
    assert.equal(ad.managerAddress, `127.0.0.1:${p.managerPort}`, 'X-Manager-Address derived from --manager');
    assert.equal(ad.managerUrl, `/${server}`);
    assert.equal(ad.managerProtocol, 'http');
    assert.equal(ad.managerHost, '127.0.0.1');
    assert.equal(got[i]!.from.split(':')[1], '23364', 'sent from the default AdvertiseBindAddress port');
  });
  assert.ok(got[0]!.t >= started && got[0]!.t - readyAt < 1400, 'Sequence 1 is sent at start, not after a period');
  const gaps = got.slice(1, 5).map((r, i) => r.t - got[i]!.t);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  // A timer never fires early, but one late arrival shortens the next gap; a loaded machine makes all of them late.
  for (const g of gaps) assert.ok(g >= 600, `period gap ${g} ms`);
  assert.ok(mean >= 1350 && mean < 7500, `mean period ${mean} ms for AdvertiseFrequency 1.500`);
  t.diagnostic(`advertise period gaps (ms): ${gaps.join(', ')}`);

  // The status page shows what httpd's shows for an advertising server (whole seconds, as apr_time_sec).
  const page = ns.run('curl', ['-s', `http://127.0.0.1:${p.managerPort}/mod_cluster-manager`]);
  assert.ok(
    page.includes(
      `mod_advertise.c: OK<br/>Server: 127.0.0.1 VirtualHost: 127.0.0.1:${p.managerPort} Advertising on Group 224.0.1.105 Port 23364 for http://127.0.0.1:${p.managerPort} every 1 seconds<br/>end of "httpd.conf" configuration`,
    ),
    page,
  );

  const before = got.length;
  assert.equal(await p.stop('SIGTERM'), 0);
  await until('the stop packets', () => got.slice(before).some((r) => parseAdvertisement(r.bytes).status === 410), 10_000);
  const last = got.slice(before).map((r) => parseAdvertisement(r.bytes));
  const tail = last.slice(-2);
  assert.deepEqual(tail.map((a) => `${a.status} ${a.reason}`), ['403 Forbidden', '410 Gone']);
  for (const a of tail) {
    assert.equal(a.server, server);
    assert.equal(a.parameters.size, 0, 'no X-Manager-* on a stop packet');
    assert.ok(verifyAdvertisementDigest(a, KEY));
  }
  assert.equal(Number(tail[1]!.sequence), Number(tail[0]!.sequence) + 1);
});

test('group, bind address, interface and an explicit ServerAdvertise address are used as configured', { skip, timeout: 60_000 }, async () => {
  // No multicast route here: the datagram leaves only because AdvertiseInterface names loopback.
  const ns = netns({ multicastRoute: false });
  const got = await receiver(ns, '239.255.7.7:23999');
  const p = await proxyIn(ns, [
    '--set', 'ServerAdvertise=On https://proxy.example:7443',
    '--set', 'AdvertiseGroup=239.255.7.7:23999',
    '--set', 'AdvertiseBindAddress=127.0.0.1:23900',
    '--set', 'AdvertiseInterface=lo',
    '--set', 'AdvertiseTTL=1',
    '--set', 'AdvertiseManagerUrl=/cluster-manager',
    '--set', 'AdvertiseFrequency=0.500',
  ]);
  await until('six advertisements', () => got.length >= 6);
  assert.equal(got[0]!.from, '127.0.0.1:23900');
  const ad = parseAdvertisement(got[0]!.bytes);
  assert.equal(ad.managerAddress, 'proxy.example:7443');
  assert.equal(ad.managerProtocol, 'https');
  assert.equal(ad.managerHost, 'proxy.example');
  assert.equal(ad.managerUrl, '/cluster-manager');
  assert.ok(verifyAdvertisementDigest(ad, undefined), 'no key: the zero salt');
  // Arrival times carry the receiver's scheduling noise: the mean of five gaps, not one.
  const mean = (got[5]!.t - got[0]!.t) / 5;
  assert.ok(mean >= 350 && mean < 5000, `AdvertiseFrequency 0.500 is half a second (mean gap ${mean} ms)`);
  await p.stop();
  await until('the stop packets of the first proxy', () => got.some((r) => parseAdvertisement(r.bytes).status === 410));

  // The control: the same namespace without AdvertiseInterface has no route to the group.
  const before = got.length;
  const q = await proxyIn(ns, ['--log-level', 'warn', '--set', 'ServerAdvertise=On', '--set', 'AdvertiseGroup=239.255.7.7:23999', '--set', 'AdvertiseFrequency=0.200']);
  await until('the send failure to be logged', () => q.logs.some((l) => l.msg === 'cannot send the advertisement; retrying every period'));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got.length, before, 'nothing arrives without a route or an interface');
  assert.equal(q.logs.filter((l) => l.msg === 'cannot send the advertisement; retrying every period').length, 1, 'one warning, not one per period');
  await q.stop();
});

test('a scripted Java worker with no proxyList finds two advertising proxies and registers with both; a wrong key is ignored', { skip, timeout: 90_000 }, async () => {
  const ns = netns();
  const events: Array<Record<string, unknown>> = [];
  let listening = false;
  ns.node(WORKER, [JSON.stringify({ route: 'w1', group: '224.0.1.105', port: 23364, securityKey: KEY, periodMs: 500 })], (e) => {
    if (e.event === 'listening') listening = true;
    events.push(e);
  });
  await until('the worker to listen', () => listening);
  const advertise = ['--set', 'ServerAdvertise=On', '--set', 'AdvertiseFrequency=1'];
  const p1 = await proxyIn(ns, [...advertise, '--set', `AdvertiseSecurityKey=${KEY}`]);
  const p2 = await proxyIn(ns, [...advertise, '--set', `AdvertiseSecurityKey=${KEY}`]);
  const stranger = await proxyIn(ns, [...advertise, '--set', 'AdvertiseSecurityKey=not-the-key']);
  const registered = (p: ProxyProcess): string[] =>
    events.filter((e) => e.event === 'exchange' && e.proxy === `127.0.0.1:${p.managerPort}`).map((e) => `${String(e.method)} ${String(e.status)}`);
  for (const p of [p1, p2]) {
    await until(`registration with ${p.managerPort}`, () => registered(p).includes('STATUS 200'), 30_000);
    assert.deepEqual(registered(p).slice(0, 4), ['INFO 200', 'CONFIG 200', 'ENABLE-APP 200', 'STATUS 200'], 'the Java first contact');
    const body = ns.run('curl', ['-s', '-H', 'Host: localhost', `http://127.0.0.1:${p.listenPort}/demo/x`]);
    assert.equal(body, 'node=w1', `proxy ${p.managerPort} routes to the worker it was found by`);
  }
  await until('the wrong-key advertisement to be seen', () => events.some((e) => e.event === 'digest-mismatch'));
  const added = events.filter((e) => e.event === 'proxy').map((e) => e.address);
  assert.deepEqual(added.sort(), [`127.0.0.1:${p1.managerPort}`, `127.0.0.1:${p2.managerPort}`].sort(), 'each proxy added once, the stranger never');
  assert.equal(registered(stranger).length, 0);
});

test('an AdvertiseBindAddress or AdvertiseInterface the host does not have stops the start: exit 1, one line naming it', { skip, timeout: 60_000 }, () => {
  const ns = netns();
  for (const [name, value, text] of [
    ['AdvertiseBindAddress', '10.9.9.9', 'AdvertiseBindAddress 10.9.9.9:23364: the advertise socket cannot use it'],
    ['AdvertiseInterface', '10.9.9.9', 'AdvertiseInterface 10.9.9.9: the advertise socket cannot use it'],
  ] as const) {
    const r = spawnSync(
      ns.wrap[0]!,
      [...ns.wrap.slice(1), process.execPath, CLI, '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0', '--threads', '1', '--log-level', 'warn', '--set', 'ServerAdvertise=On', '--set', `${name}=${value}`],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /ready/);
    const fatal = r.stderr.split('\n').filter((l) => l.includes('"level":60'));
    assert.equal(fatal.length, 1, r.stderr);
    assert.ok(fatal[0]!.includes(text), fatal[0]);
  }
});

// Node's dgram cannot read a datagram's TTL; python3 can (IP_RECVTTL), so this one check uses it.
const PYTHON_TTL_RECEIVER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', 23364))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton('224.0.1.105'), socket.inet_aton('0.0.0.0')))
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
print(json.dumps({'event': 'listening'}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(600, socket.CMSG_SPACE(4))
    ttl = [struct.unpack('i', d[:4])[0] for (level, kind, d) in anc if level == socket.IPPROTO_IP and kind == 2]  # IP_TTL
    print(json.dumps({'event': 'datagram', 'ttl': ttl[0] if ttl else None}), flush=True)
`;
const python = spawnSync('python3', ['-c', 'import socket'], { encoding: 'utf8' });
const noPython = python.error !== undefined || python.status !== 0 ? 'python3 reads the TTL of a received datagram: install python3' : false;

test('AdvertiseTTL is the TTL the datagrams carry (default 10, as httpd)', { skip: skip || noPython, timeout: 60_000 }, async () => {
  for (const [args, expected] of [
    [[], 10],
    [['--set', 'AdvertiseTTL=3'], 3],
  ] as const) {
    const ns = netns();
    const ttls: Array<number | null> = [];
    let listening = false;
    const child = spawn(ns.wrap[0]!, [...ns.wrap.slice(1), 'python3', '-c', PYTHON_TTL_RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as { event: string; ttl?: number | null };
      if (e.event === 'listening') listening = true;
      else ttls.push(e.ttl ?? null);
    });
    try {
      await until('the python receiver', () => listening);
      const p = await proxyIn(ns, ['--set', 'ServerAdvertise=On', '--set', 'AdvertiseFrequency=0.200', ...args]);
      await until('two datagrams', () => ttls.length >= 2);
      assert.deepEqual(ttls.slice(0, 2), [expected, expected]);
      await p.stop();
    } finally {
      child.kill('SIGKILL');
    }
  }
});

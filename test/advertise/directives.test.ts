// The advertise directives: accepted values and what they add up to, bad
// values as one line naming the directive (exit 2 from the real command), and
// the wildcard --manager that cannot be advertised.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { advertiseSettings } from '../../src/advertise/settings';
import { parseCommandLine, type ProxyOptions } from '../../src/options/args';
import { CLI } from '../helpers/proxy-process';

function options(argv: string[]): ProxyOptions {
  const c = parseCommandLine(argv);
  assert.equal(c.kind, 'run');
  return (c as { options: ProxyOptions }).options;
}

const settings = (argv: string[]): ReturnType<typeof advertiseSettings> => {
  const o = options(argv);
  return advertiseSettings(o.directives, o.manager);
};

test('off by default; On takes its address from a single-address --manager, with httpd defaults', () => {
  assert.equal(settings([]), undefined);
  assert.equal(settings(['--set', 'ServerAdvertise=Off']), undefined);
  const s = settings(['--manager', '10.1.2.3:6666', '--set', 'ServerAdvertise=On'])!;
  assert.deepEqual(
    { group: s.group, bind: s.bind, frequencyMs: s.frequencyMs, key: s.securityKey, url: s.managerUrl, iface: s.multicastInterface, ttl: s.ttl, scheme: s.scheme, host: s.host, port: s.port },
    {
      group: { host: '224.0.1.105', port: 23364, family: 4 },
      bind: { host: '0.0.0.0', port: 23364, family: 4 },
      frequencyMs: 10_000,
      key: undefined,
      url: undefined,
      iface: undefined,
      ttl: 10,
      scheme: 'http',
      host: '10.1.2.3',
      port: 6666,
    },
  );
  assert.equal(settings(['--manager', '[fd00::1]:6666', '--set', 'ServerAdvertise=on'])!.host, 'fd00::1');
  assert.equal(settings(['--manager', '127.0.0.1:0', '--set', 'ServerAdvertise=On'])!.port, undefined, 'an ephemeral port is taken once listening');
});

test('every directive is read as httpd reads it', () => {
  const s = settings([
    '--set', 'ServerAdvertise=On https://proxy.example:7443',
    '--set', 'AdvertiseGroup=239.1.2.3',
    '--set', 'AdvertiseFrequency=1.5',
    '--set', 'AdvertiseSecurityKey=my key',
    '--set', 'AdvertiseManagerUrl=/mcm',
    '--set', 'AdvertiseBindAddress=127.0.0.1',
    '--set', 'AdvertiseInterface=127.0.0.1',
    '--set', 'AdvertiseTTL=1',
  ])!;
  assert.deepEqual(s.group, { host: '239.1.2.3', port: 23364, family: 4 }, 'group port defaults to 23364');
  assert.equal(s.frequencyMs, 1005, '1.5 is 1 s + 5 ms, as mod_advertise reads it');
  assert.equal(settings(['--manager', '10.0.0.1:1', '--set', 'ServerAdvertise=On', '--set', 'AdvertiseFrequency=2,250'])!.frequencyMs, 2250);
  assert.equal(s.securityKey, 'my key');
  assert.equal(s.managerUrl, '/mcm');
  assert.deepEqual(s.bind, { host: '127.0.0.1', port: 23364, family: 4 });
  assert.equal(s.multicastInterface, '127.0.0.1');
  assert.equal(s.ttl, 1);
  assert.deepEqual([s.scheme, s.host, s.port], ['https', 'proxy.example', 7443]);
  // An IPv6 group moves the default (wildcard) bind address to IPv6.
  const v6 = settings(['--manager', '10.0.0.1:1', '--set', 'ServerAdvertise=On', '--set', 'AdvertiseGroup=[ff02::1:1]:23364'])!;
  assert.deepEqual(v6.bind, { host: '::', port: 23364, family: 6 });
  // An interface name is resolved to its address.
  assert.equal(settings(['--manager', '10.0.0.1:1', '--set', 'ServerAdvertise=On', '--set', 'AdvertiseInterface=lo'])!.multicastInterface, '127.0.0.1');
});

test('a JSON or YAML config may say On/Off as booleans', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-adv-'));
  try {
    const json = path.join(dir, 'c.json');
    fs.writeFileSync(json, JSON.stringify({ ServerAdvertise: true, AdvertiseFrequency: 3 }));
    assert.equal(settings(['--manager', '10.0.0.1:1', '--config', json])!.frequencyMs, 3000);
    const yaml = path.join(dir, 'c.yaml');
    fs.writeFileSync(yaml, 'ServerAdvertise: Off\nAdvertiseGroup: 224.0.1.105:23364\n');
    assert.equal(settings(['--config', yaml]), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad values: one line naming the directive and what it accepts', () => {
  const m = ['--manager', '10.0.0.1:6666'];
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'ServerAdvertise=Maybe'], /^--set: ServerAdvertise: bad value "Maybe"; expected On, Off or On http\[s\]:\/\/HOST:PORT$/],
    [['--set', 'ServerAdvertise=On ftp://h:1'], /^--set: ServerAdvertise: bad value/],
    [['--set', 'ServerAdvertise=On http://h'], /^--set: ServerAdvertise: bad value/],
    [['--set', 'ServerAdvertise=On http://h:0'], /^--set: ServerAdvertise: bad value/],
    [['--set', 'ServerAdvertise=On http://h:1 extra'], /^--set: ServerAdvertise: bad value/],
    [['--set', 'AdvertiseGroup=10.0.0.1:23364'], /^--set: AdvertiseGroup: bad value "10\.0\.0\.1:23364"; expected a multicast group/],
    [['--set', 'AdvertiseGroup=224.0.1.105:70000'], /^--set: AdvertiseGroup: bad value/],
    [['--set', 'AdvertiseGroup=[fe80::1]'], /^--set: AdvertiseGroup: bad value/],
    [['--set', 'AdvertiseFrequency=0'], /^--set: AdvertiseFrequency: bad value "0"; expected SECONDS\[\.MS\] above 0/],
    [['--set', 'AdvertiseFrequency=0.0'], /^--set: AdvertiseFrequency: bad value/],
    [['--set', 'AdvertiseFrequency=soon'], /^--set: AdvertiseFrequency: bad value/],
    [['--set', 'AdvertiseFrequency=-1'], /^--set: AdvertiseFrequency: bad value/],
    [['--set', 'AdvertiseSecurityKey=clé'], /^--set: AdvertiseSecurityKey: bad value "clé"; expected printable ASCII/],
    [['--set', 'AdvertiseSecurityKey='], /^--set: AdvertiseSecurityKey: bad value/],
    [['--set', `AdvertiseManagerUrl=/${'u'.repeat(300)}`], /^--set: AdvertiseManagerUrl: bad value/],
    [['--set', 'AdvertiseBindAddress=somehost:1'], /^--set: AdvertiseBindAddress: bad value "somehost:1"; expected a local IP ADDRESS\[:PORT\]$/],
    [['--set', 'AdvertiseInterface=bad name'], /^--set: AdvertiseInterface: bad value/],
    [['--set', 'AdvertiseTTL=256'], /^--set: AdvertiseTTL: bad value "256"; expected an integer 0\.\.255$/],
    // Checks that need the directives together (and --manager):
    [['--set', 'ServerAdvertise=On', '--set', 'AdvertiseInterface=nosuchif9'], /^--set: AdvertiseInterface: no local interface or address "nosuchif9"/],
    [['--set', 'ServerAdvertise=On', '--set', 'AdvertiseGroup=[ff02::1]', '--set', 'AdvertiseBindAddress=127.0.0.1'], /^--set: AdvertiseBindAddress: 127\.0\.0\.1 is IPv4 but AdvertiseGroup \[ff02::1\] is IPv6/],
    [['--set', 'ServerAdvertise=On', '--set', `AdvertiseManagerUrl=/${'u'.repeat(250)}`], /^--set: AdvertiseManagerUrl: advertisement of \d+ bytes: the Java listener reads 512/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => options([...m, ...argv]), (e: Error) => {
      assert.match(e.message, re, argv.join(' '));
      assert.equal(e.message.includes('\n'), false);
      return true;
    });
  }
});

test('a wildcard --manager cannot be advertised without an explicit address: one line, exit 2', () => {
  for (const manager of ['0.0.0.0:6666', ':6666', '[::]:6666']) {
    const r = spawnSync(process.execPath, [CLI, '--manager', manager, '--set', 'ServerAdvertise=On'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, manager);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^mcmp-edge: --set: ServerAdvertise: --manager .* listens on every address, so there is no one address to advertise; expected ServerAdvertise On http:\/\/HOST:PORT/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  // With the address given, the same --manager is fine.
  const ok = options(['--manager', '0.0.0.0:6666', '--set', 'ServerAdvertise=On http://proxy1:6666']);
  assert.equal(advertiseSettings(ok.directives, ok.manager)!.host, 'proxy1');
  const bad = spawnSync(process.execPath, [CLI, '--set', 'AdvertiseFrequency=0'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^mcmp-edge: --set: AdvertiseFrequency: bad value "0"/);
});

test('--help lists every advertise directive with its default', () => {
  const h = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 20_000 });
  for (const [name, def] of [
    ['ServerAdvertise', 'Off'],
    ['AdvertiseGroup', '224.0.1.105:23364'],
    ['AdvertiseFrequency', '10'],
    ['AdvertiseSecurityKey', 'none'],
    ['AdvertiseManagerUrl', 'none'],
    ['AdvertiseBindAddress', '0.0.0.0:23364'],
    ['AdvertiseInterface', 'none'],
    ['AdvertiseTTL', '10'],
  ]) {
    assert.match(h.stdout, new RegExp(`\\n  ${name} +[^\\n]*\\(default ${def.replace(/\./g, '\\.')}\\)\\n`), name);
  }
});

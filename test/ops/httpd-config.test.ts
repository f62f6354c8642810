// --config with an httpd configuration file: the image's proxy-cluster.conf as
// it is, Include/<IfModule>/LoadModule, httpd's partial addresses, one-line
// errors with file and line, and the real process honouring what was mapped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCommandLine, type ProxyOptions } from '../../src/options/args';
import { findDirective } from '../../src/config/directives';
import { httpdAddressToCidr } from '../../src/config/httpd/addresses';
import { HttpdConfigError, looksLikeHttpd, readHttpdConfig } from '../../src/config/httpd/index';
import { spawnSync } from 'node:child_process';
import { Netns } from '../advertise/netns';
import { startProxy } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

const SAMPLE = path.resolve(__dirname, '../../../test/ops/fixtures/proxy-cluster.conf');
/** Advertise is another engineer's work: until it is in, ServerAdvertise On is refused by the directive table. */
const ADVERTISE = findDirective('ServerAdvertise')?.unsupported === undefined;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-httpd-'));
}

function options(argv: string[]): ProxyOptions {
  const c = parseCommandLine(argv);
  assert.equal(c.kind, 'run');
  return (c as { options: ProxyOptions }).options;
}

/** The sample without its advertise lines (for a proxy that has no advertise, and for tests that must not multicast). */
function sampleWithoutAdvertise(dir: string): string {
  const file = path.join(dir, 'proxy-cluster-no-advertise.conf');
  fs.writeFileSync(file, fs.readFileSync(SAMPLE, 'utf8').replace(/^\s*(ServerAdvertise|AdvertiseGroup) .*$/gm, ''));
  return file;
}

test('httpd partial addresses become CIDRs', () => {
  assert.equal(httpdAddressToCidr('172'), '172.0.0.0/8');
  assert.equal(httpdAddressToCidr('127.0.0'), '127.0.0.0/24');
  assert.equal(httpdAddressToCidr('10.1'), '10.1.0.0/16');
  assert.equal(httpdAddressToCidr('10.1.2.3'), '10.1.2.3');
  assert.equal(httpdAddressToCidr('10.1.0.0/16'), '10.1.0.0/16');
  assert.equal(httpdAddressToCidr('10.1.0.0/255.255.0.0'), '10.1.0.0/16');
  assert.equal(httpdAddressToCidr('10.0.0.0/255.0.255.0'), undefined);
  assert.equal(httpdAddressToCidr('::1'), '::1');
  assert.equal(httpdAddressToCidr('2001:db8::/32'), '2001:db8::/32');
  assert.equal(httpdAddressToCidr('300'), undefined);
  assert.equal(httpdAddressToCidr('example.com'), undefined);
});

test('the syntax decides: httpd, YAML or JSON', () => {
  assert.equal(looksLikeHttpd('# c\nListen 6666\n'), true);
  assert.equal(looksLikeHttpd('<VirtualHost *:6666>\n</VirtualHost>\n'), true);
  assert.equal(looksLikeHttpd('EnableMCPMReceive\n'), true);
  assert.equal(looksLikeHttpd('Maxnode: 5\n'), false);
  assert.equal(looksLikeHttpd('{"Maxnode": 5}'), false);
});

test('the image\'s proxy-cluster.conf maps as it is', (t) => {
  if (!ADVERTISE) {
    // What main has today: the one line that names the refused directive, with file and line.
    assert.throws(() => options(['--config', SAMPLE]), (e: Error) => {
      const line = fs.readFileSync(SAMPLE, 'utf8').split('\n').findIndex((l) => l.includes('ServerAdvertise On')) + 1;
      assert.equal(e.message, `--config ${SAMPLE}:${line}: ServerAdvertise is not supported by mcmp-edge: ${findDirective('ServerAdvertise')?.unsupported}`);
      return true;
    });
    t.diagnostic('advertise is not in this build: ServerAdvertise On is refused with its line; the rest is checked without it');
  }
  const dir = tempDir();
  const file = ADVERTISE ? SAMPLE : sampleWithoutAdvertise(dir);
  const s = readHttpdConfig(file);
  assert.deepEqual(s.manager, { host: '0.0.0.0', port: 6666 });
  assert.equal(s.listen, undefined, 'the sample has no client Listen: --listen keeps its default');
  assert.deepEqual(s.mcmpAllow, ['172.0.0.0/8']);
  assert.deepEqual(s.pageAllow, ['127.0.0.0/24', '::1']);
  assert.equal(s.managerPath, '/mod_cluster-manager');
  assert.equal(s.keepAliveTimeoutMs, 60_000);
  const names = s.directives.map((d) => `${d.name}=${d.value}`);
  assert.ok(names.includes('ManagerBalancerName=mycluster'));
  assert.ok(names.includes('EnableMCMPReceive='), 'EnableMCPMReceive is the same directive');
  assert.ok(names.includes('AllowDisplay=on'));
  if (ADVERTISE) assert.ok(names.includes('ServerAdvertise=On') && names.includes('AdvertiseGroup=224.0.1.105:23364'));
  assert.deepEqual(s.ignored, [], 'every line of the sample has a meaning');

  if (ADVERTISE) {
    // The sample advertises from a wildcard vhost without an address: a start-up error, not a guessed host name.
    assert.throws(() => options(['--config', file]), { message: /^--config .*: ServerAdvertise: --manager 0\.0\.0\.0:6666 listens on every address/ });
  }
  const o = options(['--config', file, ...(ADVERTISE ? ['--set', 'ServerAdvertise=On http://proxy1:6666'] : [])]);
  assert.deepEqual(o.manager, { host: '0.0.0.0', port: 6666 });
  assert.equal(o.allow, '172.0.0.0/8');
  assert.equal(o.pageAllow, '127.0.0.0/24,::1');
  assert.equal(o.directives.AllowDisplay, true);
  assert.equal(o.managerKeepAliveTimeoutMs, 60_000);
  // Flags win over the file.
  const f = options(['--config', file, '--manager', '127.0.0.1:7777', '--allow', '10.0.0.0/8']);
  assert.deepEqual(f.manager, { host: '127.0.0.1', port: 7777 });
  assert.equal(f.allow, '10.0.0.0/8');
  assert.equal(f.pageAllow, undefined);
});

test('Include, ServerRoot, <IfModule> and what is ignored', () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'conf/extra'), { recursive: true });
  fs.copyFileSync(sampleWithoutAdvertise(dir), path.join(dir, 'conf/extra/proxy-cluster.conf'));
  const main = path.join(dir, 'conf/httpd.conf');
  fs.writeFileSync(
    main,
    [
      `ServerRoot "${dir}"`,
      'Listen 127.0.0.1:8080',
      'LoadModule mpm_event_module modules/mod_mpm_event.so',
      'ServerName localhost',
      '<IfModule !mpm_prefork_module>',
      '  StartServers 3',
      '</IfModule>',
      '<Directory "/usr/local/apache2/htdocs">',
      '  Require all granted',
      '</Directory>',
      'LogLevel notice proxy_cluster:debug',
      'Maxnode 50 \\',
      '',
      'Include conf/extra/proxy-cluster.conf',
      'IncludeOptional conf/other/*.conf',
      '',
    ].join('\n'),
  );
  const s = readHttpdConfig(main);
  assert.deepEqual(s.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(s.manager, { host: '0.0.0.0', port: 6666 });
  assert.equal(s.logLevel, 'info');
  assert.ok(s.directives.some((d) => d.name === 'Maxnode' && d.value === '50' && d.line === 12));
  assert.ok(s.directives.some((d) => d.name === 'AllowDisplay' && d.file.endsWith('conf/extra/proxy-cluster.conf')));
  const ignored = s.ignored.join('\n');
  assert.match(ignored, /httpd\.conf:4: ServerName \(no meaning in mcmp-edge\)/);
  assert.match(ignored, /httpd\.conf:5: <IfModule !mpm_prefork_module>/);
  assert.match(ignored, /httpd\.conf:8: <Directory>/);
  assert.match(ignored, /httpd\.conf:15: IncludeOptional conf\/other\/\*\.conf \(no file matches\)/);
  assert.doesNotMatch(ignored, /LoadModule/);
});

test('bad values: the --set line, with file and line number', () => {
  const dir = tempDir();
  const cases: Array<[string, RegExp]> = [
    ['<VirtualHost *:6666>\n  EnableMCMPReceive\n  Maxnode lots\n</VirtualHost>\n', /:3: Maxnode: bad value "lots"; expected an integer 1\.\.10000$/],
    ['WaitBeforeRemove 5\n', /:1: WaitBeforeRemove: bad value "5"; expected an integer 10\.\.86400$/],
    ['EnableMCMPReceive Off\n', /:1: EnableMCMPReceive Off is not supported/],
    ['Listen nowhere\n', /:1: Listen: bad value "nowhere"; expected \[ADDRESS:\]PORT$/],
    ['<Location />\n  Require ip 300.1\n</Location>\n<VirtualHost *:1>\nEnableMCMPReceive\n<Location />\nRequire ip 300.1\n</Location>\n</VirtualHost>\n', /:7: Require ip 300\.1: "300\.1" is not an address/],
    ['<VirtualHost *:6666>\nEnableMCMPReceive\nRequire host example.com\n</VirtualHost>\n', /:3: Require host example\.com: not supported/],
    ['KeepAliveTimeout soon\n', /:1: KeepAliveTimeout: bad value "soon"/],
    ['<VirtualHost *:6666>\nEnableMCMPReceive\n', /:1: <VirtualHost> is never closed$/],
    ['Include missing.conf\n', /:1: Include: .*missing\.conf does not exist$/],
  ];
  for (const [text, re] of cases) {
    const file = path.join(dir, 'bad.conf');
    fs.writeFileSync(file, text);
    assert.throws(() => options(['--config', file]), (e: Error) => {
      assert.ok(e.message.startsWith(`--config ${file}:`), e.message);
      assert.match(e.message, re);
      assert.equal(e.message.includes('\n'), false);
      return true;
    });
  }
  assert.ok(new HttpdConfigError('f', 1, 'x') instanceof Error);
});

test('the real process: MCMP and the status page each behind their own Require', async () => {
  const dir = tempDir();
  // My own set-up: MCMP only from 127.0.0.2, the page only from 127.0.0.1 and ::1.
  const file = path.join(dir, 'cluster.conf');
  fs.writeFileSync(
    file,
    fs
      .readFileSync(sampleWithoutAdvertise(dir), 'utf8')
      .replace('Require ip 172', 'Require ip 127.0.0.2')
      .replace('Require ip 127.0.0 ::1', 'Require ip 127.0.0.1 ::1')
      .concat('ServerName ignored.example\n'),
  );
  const p = await startProxy(['--threads', '1', '--config', file]);
  try {
    const config = mcmpRequest('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9&Type=http');
    const fromPage = await sendRaw(p.managerPort, config, { expect: 1 });
    assert.equal(fromPage.responses[0]?.status, 403, '127.0.0.1 may not send MCMP');
    const fromMcmp = await sendRaw(p.managerPort, config, { expect: 1, localAddress: '127.0.0.2' });
    assert.equal(fromMcmp.responses[0]?.status, 200, '127.0.0.2 may');
    const get = 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const page = await sendRaw(p.managerPort, get);
    assert.equal(page.responses[0]?.status, 200);
    assert.match(page.responses[0]?.body.toString() ?? '', /Node node1/);
    const pageFromMcmp = await sendRaw(p.managerPort, get, { localAddress: '127.0.0.2' });
    assert.equal(pageFromMcmp.responses[0]?.status, 403);
    const other = await sendRaw(p.managerPort, get, { localAddress: '127.0.0.3' });
    assert.equal(other.responses[0]?.status, 403, 'on neither list: refused at the connection');
    const warn = p.logs.find((l) => l.msg === 'httpd configuration: these lines have no effect in mcmp-edge');
    assert.deepEqual(warn?.ignored, [`${file}:33: ServerName (no meaning in mcmp-edge)`]);
  } finally {
    await p.stop();
  }
});

test('the image\'s proxy-cluster.conf, unchanged, runs the real process (advertise inside a private network namespace)', async (t) => {
  if (!ADVERTISE) {
    t.diagnostic('advertise is not in this build: covered by the refusal test above');
    return;
  }
  const ns = Netns.create();
  if (typeof ns === 'string') {
    t.skip(`why: ${ns}`);
    return;
  }
  // The sample's Listen 6666 becomes an explicit loopback address here: advertise needs one to announce.
  const p = await startProxy(['--threads', '1', '--config', SAMPLE], 15000, ns.wrap);
  try {
    const config = mcmpRequest('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=9&Type=http');
    const refused = await runIn(ns, p.managerPort, config);
    assert.match(refused, /^HTTP\/1\.1 403 /, 'Require ip 172: loopback may not send MCMP');
    const page = await runIn(ns, p.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(page, /^HTTP\/1\.1 200 /, 'Require ip 127.0.0 ::1: loopback sees the page');
    assert.match(page, /mod_advertise\.c: OK/, 'AllowDisplay on shows the advertise line');
    assert.match(page, /224\.0\.1\.105/);
  } finally {
    await p.stop('SIGKILL');
    await ns.destroy();
  }
});

/** One request inside the namespace (its loopback is not ours), with curl's raw cousin: bash's /dev/tcp. */
function runIn(ns: Netns, port: number, request: string): Promise<string> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port}; printf '%s' "$REQ" >&3; timeout 5 cat <&3`;
  const out = spawnSync('ip', [...ns.wrap.slice(1), 'bash', '-c', script], { env: { ...process.env, REQ: request }, encoding: 'latin1', timeout: 20_000 });
  return Promise.resolve(out.stdout);
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCommandLine, parseHostPort, type ProxyOptions } from '../../src/options/args';
import { DEFAULT_DIRECTIVES } from '../../src/config/directives';

function run(argv: string[]): ProxyOptions {
  const c = parseCommandLine(argv);
  assert.equal(c.kind, 'run');
  return (c as { options: ProxyOptions }).options;
}

test('defaults are the documented ones', () => {
  const o = run([]);
  assert.deepEqual(o.listen, { host: '0.0.0.0', port: 8000 });
  assert.deepEqual(o.manager, { host: '0.0.0.0', port: 6666 });
  assert.equal(o.allow, '127.0.0.0/8,::1');
  assert.equal(o.threads, os.availableParallelism());
  assert.equal(o.managerPath, '/mod_cluster-manager');
  assert.equal(o.logLevel, 'info');
  assert.deepEqual(o.directives, DEFAULT_DIRECTIVES);
});

test('HOST:PORT accepts IPv4, names, [IPv6] and :PORT; rejects the rest naming the flag', () => {
  assert.deepEqual(parseHostPort('--listen', '127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseHostPort('--listen', 'localhost:80'), { host: 'localhost', port: 80 });
  assert.deepEqual(parseHostPort('--listen', '[::1]:6666'), { host: '::1', port: 6666 });
  assert.deepEqual(parseHostPort('--listen', ':8080'), { host: '0.0.0.0', port: 8080 });
  for (const bad of ['8000', '::1:80', 'host:70000', 'host:', '']) {
    assert.throws(() => run(['--listen', bad]), (e: Error) => /^--listen: bad value/.test(e.message));
  }
});

test('directives come from --set case-insensitively, with httpd derived rules', () => {
  const o = run(['--set', 'maxnode=50', '--set', 'USEALIAS=on', '--set', 'ManagerBalancerName=MyBal', '--set', 'WSUpgradeHeader=websocket']);
  assert.equal(o.directives.Maxnode, 50);
  assert.equal(o.directives.Maxhost, 50, 'Maxhost raised to Maxnode');
  assert.equal(o.directives.Maxcontext, 100);
  assert.equal(o.directives.UseAlias, true);
  assert.equal(o.directives.ManagerBalancerName, 'mybal');
  assert.equal(o.directives.EnableWsTunnel, true);
});

test('directives come from a YAML or JSON config file, and --set wins over it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-args-'));
  const yaml = path.join(dir, 'c.yaml');
  fs.writeFileSync(yaml, 'Maxcontext: 300\nWaitBeforeRemove: 15\nUseAlias: On\n');
  const json = path.join(dir, 'c.json');
  fs.writeFileSync(json, JSON.stringify({ maxnode: 7, LBstatusRecalTime: 2 }));
  const a = run(['--config', yaml, '--set', 'WaitBeforeRemove=20']);
  assert.equal(a.directives.Maxcontext, 300);
  assert.equal(a.directives.WaitBeforeRemove, 20);
  assert.equal(a.directives.UseAlias, true);
  const b = run(['--config', json]);
  assert.equal(b.directives.Maxnode, 7);
  assert.equal(b.directives.LBstatusRecalTime, 2);
  fs.writeFileSync(yaml, 'Maxnode: lots\n');
  assert.throws(() => run(['--config', yaml]), (e: Error) => /^--config .*c\.yaml: Maxnode: bad value "lots"; expected an integer 1\.\.10000$/.test(e.message));
  fs.writeFileSync(yaml, '- a\n- b\n');
  assert.throws(() => run(['--config', yaml]), (e: Error) => /must be a mapping/.test(e.message));
  assert.throws(() => run(['--config', path.join(dir, 'missing.yaml')]), (e: Error) => /^--config: cannot read/.test(e.message));
});

test('bad values get one line naming the flag and the accepted values', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--threads', '0'], /^--threads: bad value "0"; expected an integer 1\.\.256$/],
    [['--threads', 'many'], /^--threads: bad value/],
    [['--log-level', 'loud'], /^--log-level: bad value "loud"; expected one of fatal, error, warn, info, debug, trace, silent$/],
    [['--manager-path', 'status'], /^--manager-path: bad value/],
    [['--set', 'Maxnode'], /^--set: bad value "Maxnode"; expected NAME=VALUE/],
    [['--set', 'Nonsense=1'], /^--set: unknown directive "Nonsense"/],
    [['--set', 'WaitBeforeRemove=5'], /^--set: WaitBeforeRemove: bad value "5"; expected an integer 10\.\.86400$/],
    [['--set', 'UseAlias=maybe'], /^--set: UseAlias: bad value "maybe"; expected On or Off$/],
    [['--set', 'MaxMCMPMessSize=100'], /^--set: MaxMCMPMessSize: bad value "100"/],
    [['--set', 'ServerAdvertise=On'], /^--set: ServerAdvertise: --manager 0\.0\.0\.0:6666 listens on every address/],
    [['--set', 'CreateBalancers=1'], /^--set: CreateBalancers: bad value "1"/],
    [['--unknown'], /^--unknown: unknown flag; see --help$/],
    [['--bogus=1'], /^--bogus: unknown flag; see --help$/],
    [['--listen'], /^--listen: needs a value; see --help$/],
    [['--help=yes'], /^--help: takes no value; see --help$/],
    [['stray'], /^unexpected argument "stray": flags start with --; see --help$/],
    [['--drain-timeout=-1'], /^--drain-timeout: bad value/],
    [['--drain-timeout', 'soon'], /^--drain-timeout: bad value/],
    [['--receive-timeout', '0'], /^--receive-timeout: bad value "0"/],
    [['--receive-timeout', 'slow'], /^--receive-timeout: bad value "slow"/],
    [['--docroot', '/nonexistent/dir'], /^--docroot: "\/nonexistent\/dir" is not a directory$/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => run(argv), (e: Error) => {
      assert.match(e.message, re, argv.join(' '));
      assert.equal(e.message.includes('\n'), false);
      return true;
    });
  }
});

test('--help and --version are commands', () => {
  assert.deepEqual(parseCommandLine(['--help']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['--version']), { kind: 'version' });
});

// Where the access log's settings come from (flags, directives, an httpd
// CustomLog) and the pieces of a line that must match httpd byte for byte:
// the escaping of log items and the %t time form.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseCommandLine, type ProxyOptions } from '../../src/options/args';
import { httpdTime, IsoClock } from '../../src/access-log/clock';
import { escapeLogItem } from '../../src/access-log/escape';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-access-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): ProxyOptions {
  const command = parseCommandLine(args);
  assert.equal(command.kind, 'run');
  return (command as { options: ProxyOptions }).options;
}

function httpdConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('httpd CustomLog as --config', () => {
  fs.mkdirSync(path.join(tmp, 'logs'), { recursive: true });
  const config = httpdConfig(
    'httpd.conf',
    [
      `ServerRoot "${tmp}"`,
      'Listen 127.0.0.1:8000',
      'Listen 127.0.0.1:6666',
      'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" mine',
      'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
      'CustomLog logs/common_log common',
      'CustomLog "|/usr/bin/rotatelogs logs/x 86400" combined',
      'CustomLog logs/access_log mine',
      'CustomLog logs/second_log combined',
      'CustomLog logs/cond_log combined env=!dontlog',
      '<VirtualHost 127.0.0.1:6666>',
      '  EnableMCMPReceive',
      '  CustomLog logs/mcmp_log combined',
      '</VirtualHost>',
      '',
    ].join('\n'),
  );

  test('CustomLog FILE with the combined format becomes the access log, under ServerRoot; the rest is listed as ignored', () => {
    const o = run(['--config', config]);
    assert.deepEqual(o.accessLog, { path: path.join(tmp, 'logs', 'access_log'), format: 'combined' });
    const ignored = o.ignoredConfig.join('\n');
    assert.match(ignored, /httpd\.conf:6: CustomLog \(only the combined format is written/);
    assert.match(ignored, /httpd\.conf:7: CustomLog \(piped logs are not supported/);
    assert.match(ignored, /httpd\.conf:9: CustomLog \(mcmp-edge writes one access log, the CustomLog at .*httpd\.conf:8\)/);
    assert.match(ignored, /httpd\.conf:10: CustomLog \(conditional logging/);
    assert.match(ignored, /httpd\.conf:13: CustomLog \(the access log records client traffic/);
    assert.doesNotMatch(ignored, /LogFormat/, 'a LogFormat only names a format');
  });

  test('the flags win over the file', () => {
    assert.deepEqual(run(['--config', config, '--access-log', '-', '--access-log-format', 'json']).accessLog, { path: '-', format: 'json' });
    assert.deepEqual(run(['--config', config, '--access-log-format', 'json']).accessLog, { path: path.join(tmp, 'logs', 'access_log'), format: 'json' });
  });

  test('a CustomLog that cannot be opened is one line naming file and line', () => {
    const bad = httpdConfig('bad.conf', ['Listen 127.0.0.1:8000', `CustomLog ${path.join(tmp, 'missing', 'log')} combined`, ''].join('\n'));
    assert.throws(() => parseCommandLine(['--config', bad]), (err: Error) => {
      assert.match(err.message, /^--config .*bad\.conf:2: AccessLog: cannot open ".*missing\/log" for appending \(ENOENT\)/);
      return true;
    });
  });
});

describe('directives in a JSON/YAML --config or --set', () => {
  test('AccessLog and AccessLogFormat', () => {
    const file = path.join(tmp, 'a.log');
    const yaml = httpdConfig('edge.yaml', `AccessLog: ${file}\nAccessLogFormat: json\n`);
    assert.deepEqual(run(['--config', yaml]).accessLog, { path: file, format: 'json' });
    assert.deepEqual(run(['--set', `AccessLog=${file}`]).accessLog, { path: file, format: 'combined' });
    assert.equal(run([]).accessLog, null, 'no access log by default');
  });
});

describe('a log item as httpd escapes it', () => {
  test('printable ASCII is left as it is (the same string)', () => {
    const s = 'Mozilla/5.0 (X11; Linux x86_64) ~!@#$%^&*()';
    assert.equal(escapeLogItem(s), s);
  });

  test('quotes, backslashes, control characters and non-ASCII bytes', () => {
    assert.equal(escapeLogItem('a"b\\c'), 'a\\"b\\\\c');
    assert.equal(escapeLogItem('x\ny\rz\tw\bv\u000bu'), 'x\\ny\\rz\\tw\\bv\\vu');
    assert.equal(escapeLogItem('\u0001\u001f\u007f'), '\\x01\\x1f\\x7f');
    // uWS decodes UTF-8: the bytes the client sent come back, as httpd writes them.
    assert.equal(escapeLogItem('café'), 'caf\\xc3\\xa9');
    assert.equal(escapeLogItem('😀'), '\\xf0\\x9f\\x98\\x80');
  });
});

test('JSON time: what Date.toISOString writes, the seconds part reused within a second', () => {
  const clock = new IsoClock();
  for (const ms of [Date.UTC(2026, 11, 2, 6, 38, 36, 0), Date.UTC(2026, 11, 2, 6, 38, 36, 7), Date.UTC(2026, 11, 2, 6, 38, 36, 45), Date.UTC(2026, 11, 2, 6, 38, 36, 999) + 0.6, Date.UTC(2026, 11, 2, 6, 38, 37, 120), Date.UTC(2027, 0, 1, 0, 0, 0, 1)]) {
    assert.equal(clock.format(ms), new Date(Math.floor(ms)).toISOString(), String(ms));
  }
});

test('%t: [dd/Mon/yyyy:HH:MM:SS ±hhmm] in local time', () => {
  const d = new Date(2026, 11, 2, 6, 38, 36);
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  assert.equal(httpdTime(d), `[02/Dec/2026:06:38:36 ${zone}]`);
  assert.equal(httpdTime(new Date(2027, 0, 9, 23, 5, 7)).slice(0, 21), '[09/Jan/2027:23:05:07');
});

// Issue 7: --docroot DIR never serves a file outside DIR. The target rules of
// the proxy apply first (dot-segments, escapes, %2F); then symlinks are
// resolved and followed only when they stay inside DIR (decision: a link
// out of DIR is a 404, a link within DIR is served). Real proxy, real files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

let proxy: ProxyProcess;
let base: string;

before(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-docroot-'));
  const root = path.join(base, 'www');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(base, 'www-evil'));
  fs.writeFileSync(path.join(root, 'file.txt'), 'inside');
  fs.writeFileSync(path.join(root, 'sub', 'index.html'), 'sub index');
  fs.writeFileSync(path.join(base, 'secret.txt'), 'SECRET');
  fs.writeFileSync(path.join(base, 'www-evil', 'x.txt'), 'SECRET');
  fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.txt'));
  fs.symlinkSync(base, path.join(root, 'dir-out'));
  fs.symlinkSync('file.txt', path.join(root, 'link-in.txt'));
  fs.symlinkSync(path.join(root, 'sub'), path.join(root, 'dir-in'));
  proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--docroot', root]);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  fs.rmSync(base, { recursive: true, force: true });
});

const CASES: Array<[string, number, string?]> = [
  ['/file.txt', 200, 'inside'],
  ['/sub/../file.txt', 200, 'inside'],
  ['//file.txt', 200, 'inside'],
  ['/%2e/file.txt', 200, 'inside'],
  ['/%66ile.txt', 200, 'inside'],
  ['/sub/', 200, 'sub index'],
  ['/link-in.txt', 200, 'inside'],
  ['/dir-in/index.html', 200, 'sub index'],
  ['/link-out.txt', 404],
  ['/dir-out/secret.txt', 404],
  // Out through a link and back in: the file served is inside DIR (what is checked is where the file really is).
  ['/dir-out/www/file.txt', 200, 'inside'],
  ['/../secret.txt', 400],
  ['/%2e%2e/secret.txt', 400],
  ['/sub/../../secret.txt', 400],
  ['/..%2fsecret.txt', 404],
  ['/%2fsecret.txt', 404],
  ['/../www-evil/x.txt', 400],
  ['/..;/secret.txt', 400],
  ['/file.txt%00', 400],
  ['/%c0%ae%c0%ae/secret.txt', 400],
  ['/..\\secret.txt', 400],
  ['/missing.txt', 404],
];

describe('--docroot never serves outside DIR', () => {
  for (const [target, status, body] of CASES) {
    it(`GET ${target} → ${status}`, async () => {
      const r = await sendRaw(proxy.listenPort, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`, { expect: 1 });
      const res = r.responses[0];
      assert.equal(res?.status, status);
      if (body !== undefined) assert.equal(res?.body.toString(), body);
      assert.doesNotMatch(res?.body.toString() ?? '', /SECRET/);
    });
  }
});

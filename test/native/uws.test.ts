import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { binaryName, loadUws, loadUwsFrom } from '../../native-bindings/uws';
import { CLI } from '../helpers/proxy-process';

const pkgDir = path.dirname(require.resolve('uWebSockets.js/package.json'));

test('the native uWebSockets.js addon loads on this machine', () => {
  const uws = loadUws();
  assert.equal(typeof uws.App, 'function');
  assert.equal(typeof uws.getParts, 'function');
  assert.equal(binaryName('linux', 'x64', '115'), 'uws_linux_x64_115.node');
});

test('a missing binary is refused with a message that says what is missing', () => {
  assert.throws(
    () => loadUwsFrom(path.join(pkgDir, 'binaries', binaryName('linux', 'x64', '999'))),
    (e: Error & { code?: string }) =>
      e.code === 'ERR_MCMP_EDGE_NATIVE_UWS' && /no working native binary .*refuses the slow JavaScript fallback/.test(e.message),
  );
});

test('the package\'s JavaScript fallback is refused', () => {
  assert.throws(
    () => loadUwsFrom(path.join(pkgDir, 'dist', 'index.js')),
    (e: Error & { code?: string }) => e.code === 'ERR_MCMP_EDGE_NATIVE_UWS' && /did not load as the native/.test(e.message),
  );
});

test('UWS_USE_FALLBACK makes the proxy refuse to start, with one clear line', () => {
  const r = spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0'], {
    encoding: 'utf8',
    env: { ...process.env, UWS_USE_FALLBACK: '1' },
    timeout: 15000,
  });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'mcmp-edge: UWS_USE_FALLBACK is set: mcmp-edge refuses the slow JavaScript fallback of uWebSockets.js; unset it.\n');
});

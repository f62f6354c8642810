// Advertise discovery in a private network namespace (multicast never leaves
// it): the scenario in advertise-scenario.ts runs under `unshare -n`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

test('the agent finds proxies by advertise, checks the digest, ignores repeats and 403s, registers with each, also with mcmp-edge\'s own sender', { timeout: 300_000 }, () => {
  const r = spawnSync('unshare', ['-n', process.execPath, path.join(__dirname, 'advertise-scenario.js')], { encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.error, undefined, `unshare: ${r.error?.message} (network namespaces need root; CI runs as root)`);
  assert.equal(r.status, 0, `scenario failed:\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ok wrong-digest-dropped', 'ok first-proxy-registered', 'ok repeats-and-403-ignored', 'ok second-proxy-registered', 'ok real-sender-registered', 'ok stopped']);
});

// `npm run demo -- --ci`: the whole tour against the real proxy and three
// worker processes, checked by what it prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

test('the demo runs its tour in CI mode and says what a newcomer should see', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../../demo/run.js'), '--ci'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  assert.equal(code, 0, `demo failed:\n${out}\n${err}`);
  assert.match(out, /traffic {6}http:\/\/127\.0\.0\.1:\d+\/app\//);
  assert.match(out, /status page {2}http:\/\/127\.0\.0\.1:\d+\/mod_cluster-manager/);
  for (const w of ['worker-1', 'worker-2', 'worker-3']) assert.match(out, new RegExp(`${w} {5}http://127\\.0\\.0\\.1:\\d+/app/ \\(route ${w}\\)`));
  assert.equal(out.match(/: 10 of 10 requests on worker-\d/g)?.length, 3, 'three sessions, each stuck');
  assert.match(out, /worker-2 busy: +worker-1 \d+% +worker-2 \d+% +worker-3 \d+%/);
  assert.match(out, /5 slow requests in flight on worker-3: 5 finished there/);
  assert.match(out, /\d+ requests during the drain: 0 failed; worker-3 left the cluster after the proxy counted 0 requests/);
  assert.match(out, /worker-4 ramps up from its initial load: load factors \d+, \d+, \d+/);
  assert.match(out, /\[5\/5\] done in/);
  assert.match(out, /demo ok\n$/);
  assert.doesNotMatch(out, /\x1b\[/, 'no progress-line escapes in CI mode');
});

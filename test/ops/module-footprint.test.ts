// What each thread loads at start (README "Memory"): a forwarding thread
// does not load undici (WebSocket tunnels and MCMP_EDGE_UPSTREAM=undici
// only), msgpackr (session batches only), prom-client or yaml; the primary
// loads prom-client at the first /metrics scrape, yaml for a YAML --config and
// msgpackr for PersistSlots.
// Checked on the compiled modules in a fresh worker, as the pool starts them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

const SRC = path.resolve(__dirname, '../../src');

/** The packages a fresh thread has loaded after requiring `entry`. */
function packagesLoadedBy(entry: string): Promise<string[]> {
  const code = `
    require(${JSON.stringify(entry)});
    const names = new Set();
    for (const k of Object.keys(require.cache)) {
      const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(k);
      if (m) names.add(m[1].replace('\\\\', '/'));
    }
    require('node:worker_threads').parentPort.postMessage([...names].sort());
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (names: string[]) => {
      resolve(names);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('a forwarding thread starts without undici, msgpackr, prom-client or yaml', async () => {
  const loaded = await packagesLoadedBy(path.join(SRC, 'forward/thread.js'));
  for (const name of ['undici', 'msgpackr', 'prom-client', 'yaml']) assert.ok(!loaded.includes(name), `${name} loaded: ${loaded.join(', ')}`);
  assert.ok(loaded.includes('pino'), 'the check sees packages at all');
});

test('the primary starts without prom-client, yaml, undici or msgpackr', async () => {
  // cli.js: the entry, so what the command line, ctl and the primary import all count.
  const loaded = await packagesLoadedBy(path.join(SRC, 'cli.js'));
  for (const name of ['prom-client', 'yaml', 'undici', 'msgpackr']) assert.ok(!loaded.includes(name), `${name} loaded: ${loaded.join(', ')}`);
  assert.ok(loaded.includes('piscina'));
});

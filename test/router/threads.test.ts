// Every forwarding thread balances on the same Atomics counters (ARCHITECTURE.md),
// so threads routing at once share the load by Load ratio instead of each
// sending its own first request to the same idle node.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ClusterCounters } from '../../src/slots/counters';
import { context, node, NOW, OPTIONS, snapshot } from './fixtures';

const MAX_NODE = 8;
const MAX_CONTEXT = 32;

function runThread(job: object): { worker: Worker; done: Promise<Record<string, number>> } {
  const worker = new Worker(path.join(__dirname, 'route-worker.js'), { workerData: job });
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('message', (m: Record<string, number>) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`routing thread exited with ${code}`));
    });
  });
  return { worker, done };
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('routing threads did not start in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('two routing threads on shared counters', () => {
  it('spread requests by the Load ratio (100/50 → 2:1) and count every election once', async () => {
    const counters = new ClusterCounters(MAX_NODE, MAX_CONTEXT);
    counters.applyLoad(0, 100, NOW);
    counters.applyLoad(1, 50, NOW);
    const start = new SharedArrayBuffer(8);
    const perThread = 20_000;
    const job = {
      counters: counters.buffer,
      maxNode: MAX_NODE,
      maxContext: MAX_CONTEXT,
      start,
      snapshot: snapshot({ nodes: [node(0, 'n0'), node(1, 'n1')], contexts: [context(0, '/app', 0), context(1, '/app', 1)] }),
      options: OPTIONS,
      requests: perThread,
      url: '/app/index.jsp',
      now: NOW,
    };
    const threads = [runThread(job), runThread(job)];
    const signal = new Int32Array(start);
    try {
      await waitFor(() => Atomics.load(signal, 1) === 2, 20_000);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
      const results = await Promise.all(threads.map((t) => t.done));
      const total = { n0: 0, n1: 0 };
      for (const r of results) {
        assert.deepEqual(Object.keys(r).sort(), ['n0', 'n1']);
        total.n0 += r.n0 ?? 0;
        total.n1 += r.n1 ?? 0;
      }
      assert.equal(total.n0 + total.n1, 2 * perThread);
      const ratio = total.n0 / total.n1;
      assert.ok(ratio > 1.9 && ratio < 2.1, `n0:n1 = ${total.n0}:${total.n1}`);
      // The elections landed on the shared counters, each exactly once.
      assert.equal(counters.elected(0), total.n0);
      assert.equal(counters.elected(1), total.n1);
      assert.equal(counters.busy(0) + counters.busy(1), 0);
      assert.equal(counters.contextRequests(0) + counters.contextRequests(1), 0);
    } finally {
      await Promise.all(threads.map((t) => t.worker.terminate()));
    }
  });
});

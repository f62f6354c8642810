// A forwarding thread's counters in per-turn mode (ClusterCounters.publishPerTurn,
// turn-batch.ts): what only scrapes and INFO read is summed in the thread and
// published when the event-loop turn ends; what the balancer and STOP-APP read
// while requests run stays live. Seen from a second view of the same shared
// buffer, as the primary sees it, and across real worker threads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turnEnd } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ClusterCounters } from '../../src/slots/counters';
import { NodeTraffic, trafficLayout } from '../../src/slots/layout';

/** The thread's batched counters and the primary's view of the same buffer. */
function pair(): { thread: ClusterCounters; primary: ClusterCounters } {
  const primary = new ClusterCounters(4, 8);
  const thread = new ClusterCounters(4, 8, primary.buffer);
  thread.publishPerTurn();
  return { thread, primary };
}

describe('counters published per event-loop turn', () => {
  it('live counters are seen at once; scrape-only ones when the turn ends, summed', async () => {
    const { thread, primary } = pair();
    const startedAt = performance.now() - 2; // 2 ms: the 2.5 ms bucket or so, whichever: counted once per request
    for (let i = 0; i < 3; i++) {
      thread.addElected(1);
      thread.beginRequest(1, 5);
      thread.traffic.firstByte(1, startedAt);
      thread.addRead(1, 100);
      thread.addTransferred(1, 7);
      thread.endRequest(1, 5);
      thread.traffic.requestDone(1, 5, 200, startedAt);
    }
    thread.beginRequest(1, 5);
    // Live: the balancer's window, busy, STOP-APP's running requests.
    assert.equal(primary.elected(1), 3);
    assert.equal(primary.busy(1), 1);
    assert.equal(primary.contextRequests(5), 1);
    // Not yet published.
    assert.equal(primary.read(1), 0n);
    assert.deepEqual(primary.traffic.nodeRequests(1), [0, 0, 0, 0, 0, 0]);
    await turnEnd();
    assert.equal(primary.read(1), 300n);
    assert.equal(primary.transferred(1), 21n);
    assert.deepEqual(primary.traffic.nodeRequests(1), [0, 0, 3, 0, 0, 0]);
    assert.deepEqual(primary.traffic.contextRequests(5), [0, 0, 3, 0, 0, 0]);
    const ttfb = primary.traffic.histogram(1, 'ttfb');
    const total = primary.traffic.histogram(1, 'total');
    assert.equal(ttfb.buckets.reduce((a, b) => a + b, 0), 3);
    assert.equal(total.buckets.reduce((a, b) => a + b, 0), 3);
    assert.ok(total.sumSeconds >= 0.006 && total.sumSeconds < 10, `sum ${total.sumSeconds}`);
    // A later turn adds to what was published.
    thread.addRead(1, 1);
    thread.traffic.failover(1);
    thread.traffic.retry(1);
    thread.traffic.upstreamFailed(1, 'read');
    await turnEnd();
    assert.equal(primary.read(1), 301n);
    assert.deepEqual(primary.traffic.nodeFailures(1), { connect: 0, read: 1, timeout: 0, failovers: 1, retries: 1 });
  });

  it('flushPending publishes at once (a thread that ends); nothing is published twice', async () => {
    const { thread, primary } = pair();
    thread.addRead(2, 5);
    thread.traffic.requestDone(-1, -1, 404, performance.now());
    thread.flushPending();
    assert.equal(primary.read(2), 5n);
    assert.deepEqual(primary.traffic.nodeRequests(-1), [0, 0, 0, 0, 1, 0]);
    await turnEnd();
    assert.equal(primary.read(2), 5n);
    assert.deepEqual(primary.traffic.nodeRequests(-1), [0, 0, 0, 0, 1, 0]);
  });

  it('a turn whose sum crosses 2^32 carries into the high word', async () => {
    const { thread, primary } = pair();
    const layout = trafficLayout(4, 8);
    const words = new Uint32Array(primary.buffer, ClusterCounters.byteLength(4, 8) - layout.words * 4);
    const low = layout.nodeBase + 3 * NodeTraffic.Counters * 2 + (NodeTraffic.Requests + 2) * 2;
    words[low] = 0xffffffff;
    thread.traffic.requestDone(3, -1, 200, performance.now());
    thread.traffic.requestDone(3, -1, 204, performance.now());
    await turnEnd();
    assert.equal(primary.traffic.nodeRequests(3)[2], 2 ** 32 + 1);
    // A whole sum above 2^32 at once (the shared add the batch publishes with).
    primary.traffic.addShared(low, 3 * 2 ** 32 + 5);
    assert.equal(primary.traffic.nodeRequests(3)[2], 4 * 2 ** 32 + 6);
  });

  it('two threads adding in per-turn mode: every addition is published exactly once', async () => {
    const primary = new ClusterCounters(4, 8);
    const script = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { ClusterCounters } = require(${JSON.stringify(require.resolve('../../src/slots/counters'))});
      const c = new ClusterCounters(4, 8, workerData);
      c.publishPerTurn();
      let turns = 0;
      const turn = () => {
        for (let i = 0; i < 250; i++) { c.addRead(0, 3); c.traffic.requestDone(0, 1, 200, performance.now()); }
        if (++turns < 40) setImmediate(turn);
        else setImmediate(() => parentPort.postMessage('done'));
      };
      turn();`;
    await Promise.all(
      [0, 1].map(
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(script, { eval: true, workerData: primary.buffer });
            w.once('message', () => void w.terminate().then(() => resolve()));
            w.once('error', reject);
          }),
      ),
    );
    assert.equal(primary.read(0), 2n * 40n * 250n * 3n);
    assert.deepEqual(primary.traffic.nodeRequests(0), [0, 0, 2 * 40 * 250, 0, 0, 0]);
    assert.deepEqual(primary.traffic.contextRequests(1), [0, 0, 2 * 40 * 250, 0, 0, 0]);
    assert.equal(primary.traffic.histogram(0, 'total').buckets.reduce((a, b) => a + b, 0), 2 * 40 * 250);
  });
});

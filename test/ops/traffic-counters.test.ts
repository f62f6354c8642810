// The traffic counters behind /metrics: 64-bit values from two 32-bit words,
// histogram buckets, the row for requests no node served, resets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterCounters } from '../../src/slots/counters';
import { LATENCY_BUCKETS_US, NodeTraffic, trafficLayout } from '../../src/slots/layout';

test('a counter carries into its high word past 2^32', () => {
  const counters = new ClusterCounters(4, 8);
  const own = ClusterCounters.byteLength(4, 8) - trafficLayout(4, 8).words * 4;
  const words = new Uint32Array(counters.buffer, own);
  const low = trafficLayout(4, 8).nodeBase + 1 * NodeTraffic.Counters * 2 + (NodeTraffic.Requests + 2) * 2;
  words[low] = 0xffffffff;
  counters.traffic.requestDone(1, -1, 204, performance.now());
  assert.equal(counters.traffic.nodeRequests(1)[2], 2 ** 32);
  counters.traffic.requestDone(1, -1, 200, performance.now());
  assert.equal(counters.traffic.nodeRequests(1)[2], 2 ** 32 + 1);
});

test('status classes, contexts, the no-node row and the histograms', () => {
  const t = new ClusterCounters(4, 8).traffic;
  const now = performance.now();
  t.requestDone(0, 3, 503, now);
  t.requestDone(0, 3, 0, now);
  t.requestDone(-1, -1, 404, now);
  assert.deepEqual(t.nodeRequests(0), [1, 0, 0, 0, 0, 1]);
  assert.deepEqual(t.contextRequests(3), [1, 0, 0, 0, 0, 1]);
  assert.deepEqual(t.nodeRequests(-1), [0, 0, 0, 0, 1, 0]);
  assert.deepEqual(t.histogram(-1, 'total').buckets.reduce((a, b) => a + b, 0), 0, 'no latency for requests no node served');
  const us = t.firstByte(2, performance.now() - 3); // 3 ms: the 5 ms bucket
  assert.ok(Number.isInteger(us) && us >= 3000 && us < 1_000_000, `firstByte returns the microseconds it counted: ${us}`);
  assert.equal(t.firstByte(-1, 0), -1, 'nothing counted without a node');
  const h = t.histogram(2, 'ttfb');
  assert.equal(h.buckets.length, LATENCY_BUCKETS_US.length + 1);
  assert.equal(h.buckets.indexOf(1), LATENCY_BUCKETS_US.indexOf(5_000));
  assert.ok(h.sumSeconds >= 0.003 && h.sumSeconds < 1);
  t.upstreamFailed(2, 'timeout');
  t.upstreamFailed(2, 'connect');
  t.failover(2);
  t.retry(2);
  t.retry(2);
  t.retry(-1);
  assert.deepEqual(t.nodeFailures(2), { connect: 1, read: 0, timeout: 1, failovers: 1, retries: 2 });
  assert.equal(t.nodeFailures(-1).retries, 0, 'no retry without a node');
  t.resetNode(2);
  assert.deepEqual(t.nodeFailures(2), { connect: 0, read: 0, timeout: 0, failovers: 0, retries: 0 });
  assert.equal(t.histogram(2, 'ttfb').buckets.reduce((a, b) => a + b, 0), 0);
  t.setLoopUtilisation(255, 250_000);
  assert.equal(t.loopUtilisation(255), 0.25);
});

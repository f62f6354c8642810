// Worker script for threads.test.ts: one forwarding thread's routing loop.
// It builds its own index from the snapshot, attaches to the shared counters,
// waits for the start signal so that the threads really run at once, then
// routes its requests and reports how many went to each node.
import { parentPort, workerData } from 'node:worker_threads';
import { RoutingIndex, type RoutingOptions } from '../../src/router/index';
import { routeRequest } from '../../src/router/route';
import { ClusterCounters } from '../../src/slots/counters';
import type { TablesSnapshot } from '../../src/slots/types';

interface Job {
  counters: SharedArrayBuffer;
  maxNode: number;
  maxContext: number;
  start: SharedArrayBuffer;
  snapshot: TablesSnapshot;
  options: RoutingOptions;
  requests: number;
  url: string;
  now: number;
}

const job = workerData as Job;
const counters = new ClusterCounters(job.maxNode, job.maxContext, job.counters);
const index = RoutingIndex.build(job.snapshot, job.options);
const start = new Int32Array(job.start);
Atomics.add(start, 1, 1);
Atomics.wait(start, 0, 0, 10_000);

const byNode: Record<string, number> = {};
const request = { host: 'localhost', url: job.url, cookie: '' };
for (let i = 0; i < job.requests; i++) {
  const r = routeRequest(index, counters, request, job.now);
  const key = r.kind === 'node' ? r.node.route : r.kind;
  byNode[key] = (byNode[key] ?? 0) + 1;
  if (r.kind === 'node') {
    // What the forwarding thread does around the exchange.
    counters.beginRequest(r.node.id, r.contextId);
    counters.endRequest(r.node.id, r.contextId);
  }
}
parentPort?.postMessage(byNode);

// The management plane while client traffic flows through mcmp-edge:
// STATUS messages per second over one persistent MCMP connection (what one
// Java worker does) and over many at once (a large cluster), and how soon
// after an ENABLE-APP reply the data plane routes to the new context
// (MCMP.md §3.9 promises: from the next request on).
import { BODY_PATHS } from './backend';
import type { LoadGenerator, LoadResult } from './load';
import { McmpConnection, registerNode } from './mcmp';
import { getRequest, KeepAliveConnection, LOOPBACK, sleep } from './net';
import { median } from './scenarios';
import type { RunningTarget } from './targets/types';

export interface StatusRate {
  readonly connections: number;
  readonly seconds: number;
  readonly messages: number;
  readonly perSecond: number;
  /** Answers that were not 200 with State=OK, and connection failures. */
  readonly failures: number;
  readonly underLoad: boolean;
}

export interface RouteChangeLatency {
  readonly samples: number;
  /** From the ENABLE-APP reply to the response of the first request routed to the new context. */
  readonly medianUs: number;
  readonly p90Us: number;
  readonly maxUs: number;
  /** Most requests it took until one was routed to the new context (1 = the very next request). */
  readonly maxRequests: number;
  /** Samples where the new context was not reached within the bound. */
  readonly missed: number;
  /** Median time of a request to an existing context on the same connection, taken just before each change: what routing after a change is compared with. */
  readonly baselineMedianUs: number;
  readonly underLoad: boolean;
}

export interface ManagementResult {
  readonly target: string;
  readonly status: readonly StatusRate[];
  readonly routeChange: RouteChangeLatency | undefined;
  /** The client traffic that ran meanwhile (100 B, keep-alive). */
  readonly traffic: LoadResult | undefined;
  readonly errors: readonly string[];
}

export interface ManagementOptions {
  readonly edge: RunningTarget;
  readonly gen: LoadGenerator;
  /** A second backend app (route node2) the new contexts are registered on. */
  readonly node2Port: number;
  readonly statusSeconds: number;
  readonly statusConnections: number;
  readonly routeSamples: number;
  readonly loadConnections: number;
  readonly print: (line: string) => void;
}

const STATUS_BODY = 'JVMRoute=node1&Load=100';
// Bounds of one route-change sample.
const ROUTE_MAX_REQUESTS = 1000;
const ROUTE_MAX_MS = 2000;

async function statusLoop(managerPort: number, until: number, maxMessages: number): Promise<{ messages: number; failures: number }> {
  let messages = 0;
  let failures = 0;
  let mcmp: McmpConnection | undefined;
  while (Date.now() < until && messages < maxMessages) {
    try {
      mcmp ??= await McmpConnection.open(managerPort);
      const a = await mcmp.call('STATUS', STATUS_BODY);
      messages += 1;
      if (a.status !== 200 || !a.body.includes('State=OK')) failures += 1;
    } catch {
      failures += 1;
      mcmp?.close();
      mcmp = undefined;
      await sleep(10);
    }
  }
  mcmp?.close();
  return { messages, failures };
}

async function statusRate(managerPort: number, connections: number, seconds: number, loadDone: () => boolean): Promise<StatusRate> {
  const start = Date.now();
  const until = start + seconds * 1000;
  const perConnMax = 5_000_000;
  const results = await Promise.all(Array.from({ length: connections }, () => statusLoop(managerPort, until, perConnMax)));
  const elapsed = (Date.now() - start) / 1000;
  const messages = results.reduce((a, r) => a + r.messages, 0);
  return {
    connections,
    seconds: elapsed,
    messages,
    perSecond: messages / elapsed,
    failures: results.reduce((a, r) => a + r.failures, 0),
    underLoad: !loadDone(),
  };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

async function routeChange(o: ManagementOptions, loadDone: () => boolean): Promise<RouteChangeLatency> {
  const edge = o.edge;
  const mcmp = await McmpConnection.open(edge.managerPort as number);
  const client = new KeepAliveConnection(edge.port);
  await client.ready;
  const host = `${LOOPBACK}:${edge.port}`;
  const latencies: number[] = [];
  const baseline: number[] = [];
  let maxRequests = 0;
  let missed = 0;
  try {
    await registerNode(mcmp, { route: 'node2', port: o.node2Port, contexts: [] });
    const stamp = Date.now().toString(36);
    for (let i = 0; i < o.routeSamples; i++) {
      const ctx = `/bench-${stamp}-${i}`;
      const path = `${ctx}${BODY_PATHS.small}`;
      // Before the change the catch-all context of node1 serves this path:
      // seeing node2 afterwards can only come from the new context.
      const b0 = process.hrtime.bigint();
      const before = await client.request(getRequest(path, host));
      baseline.push(Number(process.hrtime.bigint() - b0) / 1000);
      if (before.headers['x-backend'] !== 'node1') throw new Error(`before ENABLE-APP ${path} was served by ${before.headers['x-backend'] ?? `status ${before.status}`}, expected node1`);
      await mcmp.expectOk('ENABLE-APP', `JVMRoute=node2&Alias=localhost,${LOOPBACK}&Context=${ctx}`);
      const t0 = process.hrtime.bigint();
      const deadline = Date.now() + ROUTE_MAX_MS;
      let n = 0;
      let reached = false;
      while (n < ROUTE_MAX_REQUESTS && Date.now() < deadline) {
        n += 1;
        const r = await client.request(getRequest(path, host));
        if (r.headers['x-backend'] === 'node2') {
          reached = true;
          break;
        }
      }
      if (reached) {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
        maxRequests = Math.max(maxRequests, n);
      } else {
        missed += 1;
      }
      await mcmp.expectOk('REMOVE-APP', `JVMRoute=node2&Alias=localhost,${LOOPBACK}&Context=${ctx}`);
    }
  } finally {
    mcmp.close();
    client.close();
  }
  return {
    samples: latencies.length,
    medianUs: median(latencies),
    p90Us: percentile(latencies, 90),
    maxUs: latencies.length > 0 ? Math.max(...latencies) : NaN,
    maxRequests,
    missed,
    baselineMedianUs: median(baseline),
    underLoad: !loadDone(),
  };
}

export async function measureManagement(o: ManagementOptions): Promise<ManagementResult> {
  const managerPort = o.edge.managerPort;
  if (managerPort === undefined) throw new Error(`${o.edge.label} has no MCMP port`);
  const errors: string[] = [];
  // Enough traffic to cover both STATUS phases and the route samples.
  const loadSec = Math.ceil(2 * o.statusSeconds + 3);
  let loadDone = false;
  const traffic = o.gen
    .run({ port: o.edge.port, path: BODY_PATHS.small, connections: o.loadConnections, durationSec: loadSec, closeEachRequest: false })
    .then(
      (r) => r,
      (e: unknown) => {
        errors.push(`traffic: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      },
    )
    .finally(() => {
      loadDone = true;
    });
  await sleep(500);
  const status: StatusRate[] = [];
  for (const connections of [1, o.statusConnections]) {
    try {
      const r = await statusRate(managerPort, connections, o.statusSeconds, () => loadDone);
      status.push(r);
      o.print(`  STATUS over ${connections} connection(s): ${r.perSecond.toFixed(0)} msg/s (${r.messages} in ${r.seconds.toFixed(1)} s, ${r.failures} failures${r.underLoad ? '' : ', traffic had ended'})`);
    } catch (e) {
      errors.push(`STATUS x${connections}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let rc: RouteChangeLatency | undefined;
  try {
    rc = await routeChange(o, () => loadDone);
    o.print(`  ENABLE-APP reply -> first request routed to the new context: median ${rc.medianUs.toFixed(0)} µs, p90 ${rc.p90Us.toFixed(0)} µs, max ${rc.maxUs.toFixed(0)} µs, at most ${rc.maxRequests} request(s), ${rc.missed} missed; a request to an existing context: median ${rc.baselineMedianUs.toFixed(0)} µs`);
  } catch (e) {
    errors.push(`route change: ${e instanceof Error ? e.message : String(e)}`);
  }
  const t = await traffic;
  if (t !== undefined) o.print(`  client traffic meanwhile (100 B keep-alive): ${t.rps.toFixed(0)} req/s, p99 ${t.p99Ms.toFixed(2)} ms`);
  for (const e of errors) o.print(`  error: ${e}`);
  return { target: o.edge.label, status, routeChange: rc, traffic: t, errors };
}

// The management plane while client traffic flows through mcmp-edge:
// what a STATUS flood over many connections does to the p99 of client
// traffic (traffic alone and traffic + STATUS, alternated A B B A in one run),
// STATUS messages per second over one persistent MCMP connection (what one
// Java worker does) and over many at once (a large cluster), STATUS for an
// ajp node (always probed: how many probe connections the node saw), and how
// soon after an ENABLE-APP reply the data plane routes to the new context
// (MCMP.md §3.9 promises: from the next request on).
import { readFileSync } from 'node:fs';
import { BODY_PATHS } from './backend';
import type { LoadGenerator, LoadResult } from './load';
import { McmpConnection, registerNode } from './mcmp';
import { getRequest, KeepAliveConnection, LOOPBACK, sleep } from './net';
import { median } from './scenarios';
import { runStatusLoad, startCpongNode, type StatusLoadResult } from './status-load';
import type { RunningTarget } from './targets/types';

export interface StatusRate extends StatusLoadResult {
  /** The node the STATUS were for. */
  readonly route: string;
  /** Probe connections the node saw during the run (ajp node only). */
  readonly probes: number | undefined;
  readonly underLoad: boolean;
  /** CPU of the proxy's primary thread (which runs MCMP) per STATUS, µs: user + system. */
  readonly primaryCpuUs: number | undefined;
}

/** Client traffic (100 B keep-alive) without and with a STATUS flood over `--status-connections`, alternated A B B A. */
export interface TrafficImpact {
  readonly alone: readonly LoadResult[];
  readonly withStatus: readonly LoadResult[];
  readonly aloneP99Ms: number;
  readonly withStatusP99Ms: number;
  readonly aloneRps: number;
  readonly withStatusRps: number;
  /** The STATUS flood of the B runs, together. */
  readonly status: StatusRate;
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
  /** STATUS over `--status-connections` connections with no client traffic (what a large cluster's reports cost alone). */
  readonly idle: StatusRate | undefined;
  readonly impact: TrafficImpact | undefined;
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

// Bounds of one route-change sample.
const ROUTE_MAX_REQUESTS = 1000;
const ROUTE_MAX_MS = 2000;
/** The ajp node STATUS is sent for in the probed run; it serves no context. */
const PROBED_ROUTE = 'probed';
/** Each run registers its own ajp node (`probed-N`: its CPING responder is new), so --rounds can repeat the part on one proxy. */
let probedRuns = 0;

/** CPU ticks (user + system) of thread `tid` of process `pid`; the primary thread is the process's main thread (tid = pid). */
function threadTicks(pid: number, tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/** Measures the primary thread's CPU while `run` runs; µs per message (ticks are 10 ms: meaningful over seconds). */
async function withPrimaryCpu<T extends StatusLoadResult>(pid: number | undefined, run: () => Promise<T>): Promise<{ result: T; primaryCpuUs: number | undefined }> {
  const before = pid === undefined ? undefined : threadTicks(pid, pid);
  const result = await run();
  const after = pid === undefined ? undefined : threadTicks(pid, pid);
  const ticks = before === undefined || after === undefined ? undefined : after - before;
  return { result, primaryCpuUs: ticks === undefined || result.messages === 0 ? undefined : (ticks * 10_000) / result.messages };
}

function combine(runs: readonly StatusLoadResult[], route: string, probes: number | undefined, underLoad: boolean, primaryCpuUs: number | undefined): StatusRate {
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const messages = runs.reduce((a, r) => a + r.messages, 0);
  return {
    connections: runs[0]?.connections ?? 0,
    seconds,
    messages,
    perSecond: messages / seconds,
    failures: runs.reduce((a, r) => a + r.failures, 0),
    p50Us: median(runs.map((r) => r.p50Us)),
    p99Us: Math.max(...runs.map((r) => r.p99Us)),
    route,
    probes,
    underLoad,
    primaryCpuUs,
  };
}

/** A B B A: client traffic alone (A) and with a STATUS flood for node1 (B), each `statusSeconds` long. */
async function trafficImpact(o: ManagementOptions, managerPort: number): Promise<TrafficImpact> {
  const alone: LoadResult[] = [];
  const withStatus: LoadResult[] = [];
  const floods: StatusLoadResult[] = [];
  const cpu: number[] = [];
  for (const flood of [false, true, true, false]) {
    const traffic = o.gen.run({ port: o.edge.port, path: BODY_PATHS.small, connections: o.loadConnections, durationSec: o.statusSeconds, closeEachRequest: false });
    if (flood) {
      const [t, st] = await Promise.all([traffic, withPrimaryCpu(o.edge.pid, () => runStatusLoad({ port: managerPort, route: 'node1', connections: o.statusConnections, durationMs: o.statusSeconds * 1000 }))]);
      withStatus.push(t);
      floods.push(st.result);
      if (st.primaryCpuUs !== undefined) cpu.push(st.primaryCpuUs);
    } else {
      alone.push(await traffic);
    }
  }
  const impact: TrafficImpact = {
    alone,
    withStatus,
    aloneP99Ms: median(alone.map((r) => r.p99Ms)),
    withStatusP99Ms: median(withStatus.map((r) => r.p99Ms)),
    aloneRps: median(alone.map((r) => r.rps)),
    withStatusRps: median(withStatus.map((r) => r.rps)),
    status: combine(floods, 'node1', undefined, true, cpu.length > 0 ? median(cpu) : undefined),
  };
  return impact;
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
  const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

  let idle: StatusRate | undefined;
  try {
    // Warm the MCMP path first: a cold primary measures its JIT, not its steady cost.
    await runStatusLoad({ port: managerPort, route: 'node1', connections: o.statusConnections, durationMs: 1000 });
    const { result, primaryCpuUs } = await withPrimaryCpu(o.edge.pid, () => runStatusLoad({ port: managerPort, route: 'node1', connections: o.statusConnections, durationMs: o.statusSeconds * 1000 }));
    idle = { ...result, route: 'node1', probes: undefined, underLoad: false, primaryCpuUs };
    o.print(`  STATUS without client traffic over ${idle.connections} connections: ${idle.perSecond.toFixed(0)} msg/s, primary thread ${cpuText(primaryCpuUs)} µs CPU per STATUS, round trip p50 ${idle.p50Us.toFixed(0)} µs, ${idle.failures} failures`);
  } catch (e) {
    errors.push(`STATUS without traffic: ${message(e)}`);
  }

  let impact: TrafficImpact | undefined;
  try {
    impact = await trafficImpact(o, managerPort);
    const st = impact.status;
    o.print(`  client traffic p99 without / with STATUS over ${st.connections} connections: ${impact.aloneP99Ms.toFixed(2)} / ${impact.withStatusP99Ms.toFixed(2)} ms (req/s ${impact.aloneRps.toFixed(0)} / ${impact.withStatusRps.toFixed(0)}); STATUS meanwhile ${st.perSecond.toFixed(0)} msg/s, primary thread ${cpuText(st.primaryCpuUs)} µs CPU per STATUS, round trip p50 ${st.p50Us.toFixed(0)} µs, ${st.failures} failures`);
  } catch (e) {
    errors.push(`traffic with and without STATUS: ${message(e)}`);
  }

  const cpong = await startCpongNode();
  // Enough traffic to cover both STATUS phases and the route samples.
  const loadSec = Math.ceil(2 * o.statusSeconds + 3);
  let loadDone = false;
  const traffic = o.gen
    .run({ port: o.edge.port, path: BODY_PATHS.small, connections: o.loadConnections, durationSec: loadSec, closeEachRequest: false })
    .then(
      (r) => r,
      (e: unknown) => {
        errors.push(`traffic: ${message(e)}`);
        return undefined;
      },
    )
    .finally(() => {
      loadDone = true;
    });
  const status: StatusRate[] = [];
  const probedRoute = `${PROBED_ROUTE}-${++probedRuns}`;
  try {
    const mcmp = await McmpConnection.open(managerPort);
    try {
      await registerNode(mcmp, { route: probedRoute, port: cpong.port, contexts: [], type: 'ajp' });
    } finally {
      mcmp.close();
    }
    await sleep(500);
    const runs: Array<{ route: string; connections: number }> = [
      { route: 'node1', connections: 1 },
      { route: PROBED_ROUTE, connections: o.statusConnections },
    ];
    for (const run of runs) {
      const before = cpong.connections();
      const route = run.route === PROBED_ROUTE ? probedRoute : run.route;
      const { result: r, primaryCpuUs } = await withPrimaryCpu(o.edge.pid, () => runStatusLoad({ port: managerPort, route, connections: run.connections, durationMs: o.statusSeconds * 1000 }));
      const probes = run.route === PROBED_ROUTE ? cpong.connections() - before : undefined;
      const rate: StatusRate = { ...r, route: run.route, probes, underLoad: !loadDone, primaryCpuUs };
      status.push(rate);
      o.print(`  STATUS for ${run.route === PROBED_ROUTE ? 'an ajp node (probed by CPING)' : 'node1'} over ${run.connections} connection(s): ${r.perSecond.toFixed(0)} msg/s, round trip p50 ${r.p50Us.toFixed(0)} µs p99 ${r.p99Us.toFixed(0)} µs (${r.messages} in ${r.seconds.toFixed(1)} s, ${r.failures} failures${probes === undefined ? '' : `, ${probes} probe connections`}${rate.underLoad ? '' : ', traffic had ended'})`);
    }
  } catch (e) {
    errors.push(`STATUS: ${message(e)}`);
  } finally {
    await cpong.close();
  }
  if (impact !== undefined) status.unshift(impact.status);

  let rc: RouteChangeLatency | undefined;
  try {
    rc = await routeChange(o, () => loadDone);
    o.print(`  ENABLE-APP reply -> first request routed to the new context: median ${rc.medianUs.toFixed(0)} µs, p90 ${rc.p90Us.toFixed(0)} µs, max ${rc.maxUs.toFixed(0)} µs, at most ${rc.maxRequests} request(s), ${rc.missed} missed; a request to an existing context: median ${rc.baselineMedianUs.toFixed(0)} µs`);
  } catch (e) {
    errors.push(`route change: ${message(e)}`);
  }
  const t = await traffic;
  if (t !== undefined) o.print(`  client traffic meanwhile (100 B keep-alive): ${t.rps.toFixed(0)} req/s, p99 ${t.p99Ms.toFixed(2)} ms`);
  for (const e of errors) o.print(`  error: ${e}`);
  return { target: o.edge.label, idle, impact, status, routeChange: rc, traffic: t, errors };
}

function cpuText(us: number | undefined): string {
  return us === undefined ? '?' : us.toFixed(1);
}

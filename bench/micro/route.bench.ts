// The per-request routing decision (MCMP.md §5) of a forwarding thread, with
// 1, 100 and 1000 nodes sharing 10 000 context rows.
import { RoutingIndex, type RoutingOptions } from '../../src/router/index';
import { routeRequest, type RouteRequest } from '../../src/router/route';
import { SlotTables } from '../../src/slots/tables';
import { appPath, createAppCluster, nodesLabel, type ClusterFixture } from './cluster-fixture';
import type { MicroCase, MicroSuite } from './harness';

export const TOTAL_CONTEXTS = 10_000;
export const NODE_COUNTS = [1, 100, 1000] as const;

/** What the primary passes to the forwarding threads (src/primary.ts). */
export function routingOptions(f: ClusterFixture): RoutingOptions {
  const d = f.directives;
  return { useAlias: d.UseAlias, responseStatusCodeOnNoContext: d.ResponseStatusCodeOnNoContext, deterministicFailover: d.DeterministicFailover, retryIntervalSeconds: 60 };
}

/** The index a forwarding thread would build: through its own attach() of the shared buffer. */
export function threadIndex(f: ClusterFixture): RoutingIndex {
  return RoutingIndex.build(SlotTables.attach(f.tables.buffer).reader.snapshot(), routingOptions(f));
}

function casesFor(nodes: number, f: ClusterFixture): MicroCase[] {
  const apps = TOTAL_CONTEXTS / nodes;
  const index = threadIndex(f);
  const counters = f.counters;
  const now = Math.floor(Date.now() / 1000);
  const app = appPath(Math.floor(apps / 2));
  const plain: RouteRequest = { host: 'app.example.com', url: `${app}/index.html?x=1`, cookie: '' };
  const sticky: RouteRequest = { host: 'app.example.com', url: `${app}/cart`, cookie: `lang=en; JSESSIONID=7F3A9C2E51B04D8A.node${nodes - 1}; theme=dark` };
  const miss: RouteRequest = { host: 'app.example.com', url: '/nowhere/at/all', cookie: '' };
  const check = (r: ReturnType<typeof routeRequest>, want: 'node' | 'unmapped' | 'status'): ReturnType<typeof routeRequest> => {
    if (r.kind !== want) throw new Error(`expected ${want}, routed to ${r.kind}`);
    return r;
  };
  check(routeRequest(index, counters, plain, now), 'node');
  check(routeRequest(index, counters, sticky, now), 'node');
  routeRequest(index, counters, miss, now);
  return [
    { name: `${nodesLabel(nodes)}, ${apps} apps each: no session (balanced)`, fn: () => routeRequest(index, counters, plain, now) },
    { name: `${nodesLabel(nodes)}, ${apps} apps each: sticky JSESSIONID cookie`, fn: () => routeRequest(index, counters, sticky, now) },
    { name: `${nodesLabel(nodes)}, ${apps} apps each: no matching context`, fn: () => routeRequest(index, counters, miss, now) },
  ];
}

export const routeSuite: MicroSuite = {
  name: `routeRequest (${TOTAL_CONTEXTS} contexts)`,
  async build() {
    const cases: MicroCase[] = [];
    for (const n of NODE_COUNTS) cases.push(...casesFor(n, await createAppCluster(n, TOTAL_CONTEXTS / n)));
    return cases;
  },
};

// Hand-built tables for the router tests. A TablesSnapshot is the reader's
// output type (plain rows indexed by slot id), so these are real inputs, not
// mocks. No tests here: only builders.
import { BALANCER_DEFAULTS, NODE_CONFIG_DEFAULTS } from '../../src/cluster/defaults';
import { ContextStatus, type BalancerRow, type ContextRow, type HostRow, type NodeRow } from '../../src/slots/rows';
import { RoutingIndex, type RoutingOptions } from '../../src/router/index';
import type { RouteRequest } from '../../src/router/route';
import { ClusterCounters } from '../../src/slots/counters';
import type { TablesSnapshot } from '../../src/slots/types';

export const NOW = 1_700_000_000;

export const OPTIONS: RoutingOptions = {
  useAlias: false,
  responseStatusCodeOnNoContext: 404,
  deterministicFailover: false,
  retryIntervalSeconds: 60,
};

export function node(id: number, route: string, over: Partial<NodeRow> = {}): NodeRow {
  return { ...NODE_CONFIG_DEFAULTS, id, route, balancer: 'mycluster', host: '127.0.0.1', port: 8080 + id, type: 'http', removed: false, ...over };
}

export function balancer(id: number, name = 'mycluster', over: Partial<BalancerRow> = {}): BalancerRow {
  // Java's StickySessionForce (No) rather than the proxy's default; tests that need it say so.
  return { ...BALANCER_DEFAULTS, id, name, stickySessionForce: false, ...over };
}

export function host(id: number, alias: string, nodeId: number, vhost = 1): HostRow {
  return { id, alias, vhost, node: nodeId };
}

export function context(id: number, path: string, nodeId: number, status: ContextStatus = ContextStatus.Enabled, vhost = 1): ContextRow {
  return { id, path, vhost, node: nodeId, status };
}

export interface Tables {
  version?: number;
  nodes: NodeRow[];
  balancers?: BalancerRow[];
  hosts?: HostRow[];
  contexts: ContextRow[];
}

function bySlot<T extends { id: number }>(rows: readonly T[], size: number): Array<T | undefined> {
  const out = new Array<T | undefined>(size).fill(undefined);
  for (const row of rows) out[row.id] = row;
  return out;
}

export function snapshot(t: Tables, sizes = { maxNode: 8, maxHost: 16, maxContext: 32 }): TablesSnapshot {
  return {
    version: t.version ?? 2,
    nodes: bySlot(t.nodes, sizes.maxNode),
    balancers: bySlot(t.balancers ?? [balancer(0)], sizes.maxHost),
    hosts: bySlot(t.hosts ?? t.nodes.map((n, i) => host(i, 'localhost', n.id)), sizes.maxHost),
    contexts: bySlot(t.contexts, sizes.maxContext),
  };
}

export function build(t: Tables, options: Partial<RoutingOptions> = {}): RoutingIndex {
  return RoutingIndex.build(snapshot(t), { ...OPTIONS, ...options });
}

/** Counters for 8 node slots with every node of `loads` given its STATUS Load. */
export function counters(loads: Record<number, number> = {}): ClusterCounters {
  const c = new ClusterCounters(8, 32);
  for (const [id, load] of Object.entries(loads)) c.applyLoad(Number(id), load, NOW);
  return c;
}

export function req(url: string, cookie = '', hostHeader = 'localhost'): RouteRequest {
  return { host: hostHeader, url, cookie };
}

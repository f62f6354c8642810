// Hand-built tables for the router tests. A TablesSnapshot is the reader's
// output type (plain rows indexed by slot id), so these are real inputs, not
// mocks. No tests here: only builders.
import { ContextStatus, FlushPackets, type BalancerRow, type ContextRow, type HostRow, type NodeRow } from '../../src/cluster/types';
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
  return {
    id,
    route,
    balancer: 'mycluster',
    domain: '',
    host: '127.0.0.1',
    port: 8080 + id,
    type: 'http',
    upgrade: '',
    ajpSecret: '',
    reversed: false,
    flushPackets: FlushPackets.Off,
    flushWaitUs: 10_000,
    pingUs: 10_000_000,
    ttlUs: 60_000_000,
    timeoutUs: 0,
    smax: -1,
    responseFieldSize: 0,
    removed: false,
    ...over,
  };
}

export function balancer(id: number, name = 'mycluster', over: Partial<BalancerRow> = {}): BalancerRow {
  return {
    id,
    name,
    stickySession: true,
    stickySessionCookie: 'JSESSIONID',
    stickySessionPath: 'jsessionid',
    stickySessionRemove: false,
    // Java's default (the proxy's own default is yes; tests that need it say so).
    stickySessionForce: false,
    waitWorkerUs: 0,
    maxAttempts: 1,
    ...over,
  };
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

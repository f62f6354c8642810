// The router fed by the real SharedArrayBuffer tables: the primary publishes,
// a reader snapshots, the index is rebuilt when the version changes — the
// cycle a forwarding thread runs (ARCHITECTURE.md, MCMP.md §3.9).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContextStatus } from '../../src/slots/rows';
import { RoutingIndex } from '../../src/router/index';
import { routeRequest, type RouteResult } from '../../src/router/route';
import { ClusterCounters } from '../../src/slots/counters';
import { SlotTables } from '../../src/slots/tables';
import { balancer, context, host, node, NOW, OPTIONS, req } from './fixtures';

function routed(r: RouteResult): string {
  if (r.kind === 'node') return r.node.route;
  if (r.kind === 'status') return String(r.status);
  return 'unmapped';
}

describe('routing from the slot tables', () => {
  it('routes what the primary published and follows each new version', () => {
    const tables = SlotTables.create({ maxNode: 4, maxHost: 8, maxContext: 8, maxBalancer: 8 });
    const counters = new ClusterCounters(4, 8);
    const p = tables.publisher;
    p.begin();
    p.balancer(0, balancer(0));
    p.node(0, node(0, 'node0'));
    p.node(1, node(1, 'node1'));
    p.host(0, host(0, 'example.com', 0));
    p.host(1, host(1, 'example.com', 1));
    p.context(0, context(0, '/app', 0));
    p.context(1, context(1, '/app', 1));
    p.commit();
    counters.applyLoad(0, 100, NOW);
    counters.applyLoad(1, 100, NOW);

    // A forwarding thread: one version read per request, a rebuild on change.
    let index = RoutingIndex.build(tables.reader.snapshot(), { ...OPTIONS, useAlias: true });
    const route = (url: string, cookie = ''): RouteResult => {
      if (tables.reader.version() !== index.version) index = RoutingIndex.build(tables.reader.snapshot(), index.options);
      return routeRequest(index, counters, req(url, cookie, 'Example.com'), NOW);
    };
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(routed(route('/app/x')));
    assert.deepEqual([...seen].sort(), ['node0', 'node1']);
    assert.equal(routed(route('/app', 'JSESSIONID=s.node1')), 'node1');
    const first = index.version;

    // STOP-APP on node1: its sessions fail over at once.
    p.begin();
    p.context(1, context(1, '/app', 1, ContextStatus.Stopped));
    p.commit();
    assert.equal(routed(route('/app', 'JSESSIONID=s.node1')), 'node0');
    assert.notEqual(index.version, first);

    // REMOVE-APP /* on node0: contexts and aliases go, the node is marked removed.
    p.begin();
    p.context(0, undefined);
    p.host(0, undefined);
    p.node(0, { ...node(0, 'node0'), removed: true });
    p.commit();
    assert.equal(routed(route('/app/x')), 'unmapped');

    // ENABLE-APP on node1 again.
    p.begin();
    p.context(1, context(1, '/app', 1));
    p.commit();
    for (let i = 0; i < 3; i++) assert.equal(routed(route('/app/x', 'JSESSIONID=s.node0')), 'node1');
  });
});

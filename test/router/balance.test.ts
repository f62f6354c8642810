// Balanced choice and load status (MCMP.md §5.7, §5.8).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContextStatus } from '../../src/slots/rows';
import { routeRequest, type RouteResult } from '../../src/router/route';
import type { ClusterCounters } from '../../src/slots/counters';
import { balancer, build, context, counters, node, NOW, req } from './fixtures';

function routed(r: RouteResult): string {
  if (r.kind === 'node') return r.node.route;
  if (r.kind === 'status') return String(r.status);
  return 'unmapped';
}

function nodesServingApp(count: number) {
  const nodes = Array.from({ length: count }, (_, i) => node(i, `n${i}`));
  const contexts = nodes.map((n) => context(n.id, '/app', n.id));
  return { nodes, contexts };
}

function spread(index: ReturnType<typeof build>, c: ClusterCounters, requests: number, window = 0): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < requests; i++) {
    const r = routeRequest(index, c, req('/app/x'), NOW);
    const key = routed(r);
    out.set(key, (out.get(key) ?? 0) + 1);
    // The primary's maintenance recalculates every LBstatusRecalTime.
    if (window > 0 && (i + 1) % window === 0) for (let n = 0; n < 8; n++) c.recalculate(n);
  }
  return out;
}

describe('balancing by Load (§5.7)', () => {
  it('shares 3000 requests in proportion to the Load, across recalculation windows', () => {
    const index = build(nodesServingApp(3));
    const c = counters({ 0: 100, 1: 50, 2: 25 });
    const counts = spread(index, c, 3000, 250);
    const total = 100 + 50 + 25;
    for (const [route, load] of [['n0', 100], ['n1', 50], ['n2', 25]] as const) {
      const expected = (3000 * load) / total;
      const got = counts.get(route) ?? 0;
      assert.ok(Math.abs(got - expected) <= expected * 0.03, `${route}: ${got} requests, expected about ${expected}`);
    }
    assert.equal(c.elected(0) + c.elected(1) + c.elected(2), 3000);
  });

  it('follows a Load change at the next requests', () => {
    const index = build(nodesServingApp(2));
    const c = counters({ 0: 100, 1: 100 });
    const before = spread(index, c, 400, 100);
    assert.equal(before.get('n0'), 200);
    c.applyLoad(1, 25, NOW);
    for (let n = 0; n < 2; n++) c.recalculate(n);
    const after = spread(index, c, 1000, 100);
    const ratio = (after.get('n0') ?? 0) / (after.get('n1') ?? 1);
    assert.ok(ratio > 3.5 && ratio < 4.5, `ratio ${ratio}`);
  });

  it('the score is window elections × 1000 / lbfactor + lbstatus, lowest wins, ties keep the earlier', () => {
    const index = build(nodesServingApp(2));
    const c = counters({ 0: 10, 1: 20 });
    // Fresh: both score 0, the earlier worker wins the tie.
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n0');
    // n0: 1×1000/10 = 100; n1: 0 → n1.
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n1');
    // n0: 100; n1: 1×1000/20 = 50 → n1.
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n1');
    // n0: 100; n1: 100 → tie, n0.
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n0');
    // lbstatus from the previous window counts: n0 gets 1000 after a recalculation with 10 elections.
    for (let i = 0; i < 8; i++) c.addElected(0);
    c.recalculate(0);
    c.recalculate(1);
    assert.equal(c.lbstatus(0), 1000);
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n1');
  });

  it('only nodes with a candidate context compete', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1'), node(2, 'n2')],
      contexts: [context(0, '/app', 0), context(1, '/app', 1, ContextStatus.Stopped), context(2, '/other', 2)],
    });
    const counts = spread(index, counters({ 0: 1, 1: 100, 2: 100 }), 50);
    assert.deepEqual([...counts], [['n0', 50]]);
  });
});

describe('standby, error and unusable workers (§5.8)', () => {
  it('a hot standby (Load 0) is used only when no other worker is eligible', () => {
    const index = build(nodesServingApp(2));
    const c = counters({ 0: 0, 1: 50 });
    assert.deepEqual([...spread(index, c, 20)], [['n1', 20]]);
    c.markError(1, NOW);
    assert.deepEqual([...spread(index, c, 5)], [['n0', 5]]);
    c.applyLoad(1, 50, NOW + 1);
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n1');
  });

  it('the first standby is taken at once, whatever its elections', () => {
    const index = build(nodesServingApp(3));
    const c = counters({ 0: 0, 1: 0, 2: -1 });
    assert.deepEqual([...spread(index, c, 10)], [['n0', 10]]);
  });

  it('a brand-new node (lbfactor 0, no standby flag) is usable as a last resort', () => {
    const index = build(nodesServingApp(2));
    const c = counters();
    c.resetNode(0, 0);
    c.resetNode(1, 0);
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n0');
  });

  it('skips workers in error', () => {
    const index = build(nodesServingApp(3));
    const c = counters({ 0: 100, 1: 100, 2: 100 });
    c.markError(1, NOW);
    const counts = spread(index, c, 100);
    assert.equal(counts.get('n1'), undefined);
    assert.equal((counts.get('n0') ?? 0) + (counts.get('n2') ?? 0), 100);
  });

  it('never uses Load -1, not even as a standby', () => {
    const index = build(nodesServingApp(2));
    const c = counters({ 0: -1, 1: 0 });
    assert.deepEqual([...spread(index, c, 5)], [['n1', 5]]);
    c.applyLoad(1, -1, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), '503');
  });

  it('never uses a re-used worker (lbfactor -1) before its first STATUS', () => {
    const index = build(nodesServingApp(1));
    const c = counters();
    c.resetNode(0, -1);
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), '503');
    c.applyLoad(0, 10, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n0');
  });

  it('answers 503 with the balancer WaitWorker when no worker is eligible', () => {
    const index = build({ ...nodesServingApp(2), balancers: [balancer(0, 'mycluster', { waitWorkerUs: 5_000_000 })] });
    const c = counters({ 0: 100, 1: 100 });
    c.markError(0, NOW);
    c.markError(1, NOW);
    assert.deepEqual(routeRequest(index, c, req('/app'), NOW), { kind: 'status', status: 503, waitWorkerUs: 5_000_000 });
    assert.deepEqual(routeRequest(build(nodesServingApp(2)), c, req('/app'), NOW), { kind: 'status', status: 503, waitWorkerUs: 0 });
  });
});

describe('DeterministicFailover (§5.7)', () => {
  // Routes sorted: a, b, c. Session "abc.gone": 97 + 98 + 99 = 294.
  const tables = {
    nodes: [node(0, 'c'), node(1, 'a'), node(2, 'b')],
    contexts: [context(0, '/app', 0), context(1, '/app', 1), context(2, '/app', 2)],
  };

  it('picks the eligible worker at (byte sum of the id before the dot) mod count, sorted by route', () => {
    const index = build(tables, { deterministicFailover: true });
    const c = counters({ 0: 100, 1: 100, 2: 100 });
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.gone'), NOW)), 'a');
    c.markError(1, NOW);
    // Eligible b, c: 294 mod 2 = 0 → b.
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.gone'), NOW)), 'b');
    // "abd": 295 mod 2 = 1 → c.
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abd.gone'), NOW)), 'c');
  });

  it('fails a session over deterministically when its node is in error', () => {
    const index = build(tables, { deterministicFailover: true });
    const c = counters({ 0: 100, 1: 100, 2: 100 });
    c.markError(2, NOW);
    // Eligible a, c: 294 mod 2 = 0 → a, on every try.
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.b'), NOW)), 'a');
  });

  it('does not apply without a dot in the session id, nor when switched off', () => {
    const on = build(tables, { deterministicFailover: true });
    const off = build(tables);
    const seenOn = new Set<string>();
    const seenOff = new Set<string>();
    const c1 = counters({ 0: 100, 1: 100, 2: 100 });
    const c2 = counters({ 0: 100, 1: 100, 2: 100 });
    for (let i = 0; i < 6; i++) {
      seenOn.add(routed(routeRequest(on, c1, req('/app', 'JSESSIONID=abc'), NOW)));
      seenOff.add(routed(routeRequest(off, c2, req('/app', 'JSESSIONID=abc.gone'), NOW)));
    }
    assert.equal(seenOn.size, 3);
    assert.equal(seenOff.size, 3);
  });
});

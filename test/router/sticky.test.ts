// Worker choice for sessions (MCMP.md §5.6) and the §5.10 status codes it produces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContextStatus } from '../../src/slots/rows';
import { routeRequest, type RouteResult } from '../../src/router/route';
import { NodeFlag } from '../../src/slots/counters';
import { balancer, build, context, counters, node, NOW, req, type Tables } from './fixtures';

function routed(r: RouteResult): string {
  if (r.kind === 'node') return r.node.route;
  if (r.kind === 'status') return String(r.status);
  return 'unmapped';
}

function twoNodes(over: Parameters<typeof balancer>[2] = {}): Tables {
  return {
    nodes: [node(0, 'n0'), node(1, 'n1')],
    balancers: [balancer(0, 'mycluster', over)],
    contexts: [context(0, '/app', 0), context(1, '/app', 1)],
  };
}

describe('sticky sessions (§5.6 step 1)', () => {
  it('a cookie keeps every request on its node and counts the elections', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    for (let i = 0; i < 20; i++) {
      const r = routeRequest(index, c, req('/app/x', 'JSESSIONID=abc.n1'), NOW);
      assert.equal(r.kind, 'node');
      if (r.kind !== 'node') return;
      assert.equal(r.node.route, 'n1');
      assert.equal(r.sessionRoute, 'n1');
      assert.equal(r.routeChanged, false);
      assert.equal(r.stripSession, false);
    }
    assert.equal(c.elected(1), 20);
    assert.equal(c.elected(0), 0);
  });

  it('a quoted cookie value and a cookie after other cookies work the same', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    assert.equal(routed(routeRequest(index, c, req('/app', 'a=1; JSESSIONID="abc.n0"'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app', 'a=1,JSESSIONID=abc.n1'), NOW)), 'n1');
  });

  it(';jsessionid= in the path is sticky too and reports the path name', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    for (let i = 0; i < 5; i++) {
      const r = routeRequest(index, c, req('/app/x;jsessionid=abc.n0?q=1'), NOW);
      assert.equal(r.kind === 'node' && r.node.route, 'n0');
      assert.equal(r.kind === 'node' && r.stickyName, 'jsessionid');
    }
  });

  it('non-standby workers with the route are tried before hot-standby ones', () => {
    // Two rows with one route can only be built by hand; it pins the scan order.
    const index = build({
      nodes: [node(0, 'r'), node(1, 'r'), node(2, 'other')],
      contexts: [context(0, '/app', 0), context(1, '/app', 1), context(2, '/app', 2)],
    });
    const c = counters({ 0: 0, 1: 50, 2: 50 });
    assert.ok((c.flags(0) & NodeFlag.HotStandby) !== 0);
    assert.equal(routeRequest(index, c, req('/app', 'JSESSIONID=s.r'), NOW).kind === 'node' ? c.elected(1) : -1, 1);
    c.markError(1, NOW);
    const r = routeRequest(index, c, req('/app', 'JSESSIONID=s.r'), NOW);
    assert.equal(r.kind === 'node' && r.node.id, 0);
  });

  it('a session to a node not serving the context fails over', () => {
    const index = build({ ...twoNodes(), contexts: [context(0, '/app', 0), context(1, '/app', 1, ContextStatus.Stopped)] });
    const r = routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app', 'JSESSIONID=abc.n1'), NOW);
    assert.equal(routed(r), 'n0');
    assert.equal(r.kind === 'node' && r.routeChanged, true);
  });

  it('a node that already failed for this request is not chosen again', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    const r = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW, new Set([1]));
    assert.equal(routed(r), 'n0');
    const none = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW, new Set([0, 1]));
    assert.equal(routed(none), '503');
  });
});

describe('workers in error and the retry interval (§5.6, §5.9.4)', () => {
  it('fails over while in error, goes back after the retry interval and clears the error', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    c.markError(1, NOW);
    const during = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW + 30);
    assert.equal(routed(during), 'n0');
    assert.ok((c.flags(1) & NodeFlag.InError) !== 0);
    const just = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW + 59);
    assert.equal(routed(just), 'n0');
    const after = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW + 60);
    assert.equal(routed(after), 'n1');
    assert.equal(c.flags(1) & NodeFlag.InError, 0);
  });

  it('balancing alone never retries a worker in error', () => {
    const index = build(twoNodes());
    const c = counters({ 0: 100, 1: 100 });
    c.markError(1, NOW);
    for (let i = 0; i < 10; i++) assert.equal(routed(routeRequest(index, c, req('/app'), NOW + 3600)), 'n0');
    assert.ok((c.flags(1) & NodeFlag.InError) !== 0);
  });

  it('honours a shorter retry interval', () => {
    const index = build(twoNodes(), { retryIntervalSeconds: 5 });
    const c = counters({ 0: 100, 1: 100 });
    c.markError(1, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW + 4)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW + 5)), 'n1');
  });
});

describe('StickySessionForce and domains (§5.6 step 2, §5.10)', () => {
  it('force without Domain answers 503 when the session node is unusable', () => {
    const index = build(twoNodes({ stickySessionForce: true }));
    const c = counters({ 0: 100, 1: 100 });
    c.markError(1, NOW);
    const r = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW);
    assert.deepEqual(r, { kind: 'status', status: 503, waitWorkerUs: 0 });
    assert.equal(c.elected(0), 0);
  });

  it('force answers 503 when the session node does not serve the context', () => {
    const index = build({
      ...twoNodes({ stickySessionForce: true }),
      contexts: [context(0, '/app', 0), context(1, '/app', 1, ContextStatus.Stopped)],
    });
    assert.equal(routed(routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app', 'JSESSIONID=abc.n1'), NOW)), '503');
  });

  it('force does not apply to a route naming no node', () => {
    const index = build(twoNodes({ stickySessionForce: true }));
    const r = routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app', 'JSESSIONID=abc.gone'), NOW);
    assert.equal(r.kind, 'node');
  });

  const domains: Tables = {
    nodes: [node(0, 'n0', { domain: 'other' }), node(1, 'n1', { domain: 'dom' }), node(2, 'n2', { domain: 'dom' })],
    balancers: [balancer(0)],
    contexts: [context(0, '/app', 0), context(1, '/app', 1), context(2, '/app', 2)],
  };

  it('force with a Domain fails over inside the domain only', () => {
    const index = build({ ...domains, balancers: [balancer(0, 'mycluster', { stickySessionForce: true, stickySessionRemove: true })] });
    // n0 is idle and far preferable by load, but it is in another domain.
    const c = counters({ 0: 100, 1: 1, 2: 1 });
    c.markError(1, NOW);
    for (let i = 0; i < 5; i++) {
      const r = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW);
      assert.equal(routed(r), 'n2');
      // Failing over inside the domain keeps the session (§5.6 step 4).
      assert.equal(r.kind === 'node' && r.stripSession, false);
    }
    c.markError(2, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW)), '503');
  });

  it('without force the session domain is preferred, then any node', () => {
    const index = build({ ...domains, balancers: [balancer(0, 'mycluster', { stickySessionRemove: true })] });
    const c = counters({ 0: 100, 1: 1, 2: 1 });
    c.markError(1, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW)), 'n2');
    c.markError(2, NOW);
    const r = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW);
    assert.equal(routed(r), 'n0');
    // Out of the domain with StickySessionRemove: the session id must go.
    assert.equal(r.kind === 'node' && r.stripSession, true);
    assert.equal(r.kind === 'node' && r.stickyName, 'JSESSIONID');
  });
});

describe('remove-on-failover and route-changed (§5.6 step 4)', () => {
  it('strips the session only when a route existed and the balancer says so', () => {
    const c = counters({ 0: 100, 1: 100 });
    c.markError(1, NOW);
    const keep = routeRequest(build(twoNodes()), c, req('/app', 'JSESSIONID=abc.n1'), NOW);
    assert.equal(keep.kind === 'node' && keep.stripSession, false);
    const strip = routeRequest(build(twoNodes({ stickySessionRemove: true })), c, req('/app;jsessionid=abc.n1'), NOW);
    assert.equal(strip.kind === 'node' && strip.stripSession, true);
    assert.equal(strip.kind === 'node' && strip.stickyName, 'jsessionid');
    const noRoute = routeRequest(build(twoNodes({ stickySessionRemove: true })), c, req('/app', 'JSESSIONID=abc'), NOW);
    assert.equal(noRoute.kind === 'node' && noRoute.stripSession, false);
  });

  it('marks a balanced choice of a sticky balancer as a route change', () => {
    const r = routeRequest(build(twoNodes()), counters({ 0: 100, 1: 100 }), req('/app'), NOW);
    assert.equal(r.kind === 'node' && r.routeChanged, true);
  });
});

describe('StickySession=No (§5.2, D6)', () => {
  it('ignores session routes, force and remove entirely', () => {
    const index = build(twoNodes({ stickySession: false, stickySessionForce: true, stickySessionRemove: true }));
    const c = counters({ 0: 100, 1: 100 });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW);
      assert.equal(r.kind, 'node');
      if (r.kind !== 'node') return;
      seen.add(r.node.route);
      assert.equal(r.sessionRoute, '');
      assert.equal(r.sessionId, '');
      assert.equal(r.stripSession, false);
      assert.equal(r.routeChanged, false);
    }
    assert.deepEqual([...seen].sort(), ['n0', 'n1']);
    c.markError(1, NOW);
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW)), 'n0');
  });

  it('a DISABLED context of a non-sticky balancer gets no session requests', () => {
    const index = build({
      ...twoNodes({ stickySession: false }),
      contexts: [context(0, '/app', 0, ContextStatus.Disabled), context(1, '/app', 1)],
    });
    const c = counters({ 0: 100, 1: 100 });
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n0'), NOW)), 'n1');
  });

  it('a balancer without both sticky names is never sticky', () => {
    const index = build(twoNodes({ stickySessionPath: '' }));
    const c = counters({ 0: 100, 1: 100 });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW)));
    assert.deepEqual([...seen].sort(), ['n0', 'n1']);
  });
});

describe('removed nodes (§3.11)', () => {
  it('are never chosen, not by session nor by balancing', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1', { removed: true })],
      contexts: [context(0, '/app', 0), context(1, '/app', 1)],
    });
    const c = counters({ 0: 1, 1: 100 });
    for (let i = 0; i < 10; i++) {
      assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=abc.n1'), NOW)), 'n0');
      assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n0');
    }
    assert.equal(c.elected(1), 0);
  });

  it('leave 503 when they were the only node', () => {
    const index = build({ nodes: [node(1, 'n1', { removed: true })], contexts: [context(1, '/app', 1)] });
    assert.equal(routed(routeRequest(index, counters({ 1: 100 }), req('/app'), NOW)), '503');
  });

  it('with force, a session bound to a removed node gets 503 (its worker is gone)', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1', { removed: true })],
      balancers: [balancer(0, 'mycluster', { stickySessionForce: true })],
      contexts: [context(0, '/app', 0), context(1, '/app', 1)],
    });
    assert.equal(routed(routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app', 'JSESSIONID=abc.n1'), NOW)), '503');
  });
});

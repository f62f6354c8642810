// Candidate contexts (MCMP.md §5.4) and balancer choice (§5.5) through routeRequest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContextStatus } from '../../src/slots/rows';
import { routeRequest, type RouteResult } from '../../src/router/route';
import { balancer, build, context, counters, host, node, NOW, req } from './fixtures';

function routed(r: RouteResult): string {
  if (r.kind === 'node') return r.node.route;
  if (r.kind === 'status') return String(r.status);
  return 'unmapped';
}

describe('longest matching context (§5.4 steps 5–7)', () => {
  it('matches /app for /app, /app/ and /app/x but not /application', () => {
    const index = build({ nodes: [node(0, 'n0')], contexts: [context(0, '/app', 0)] });
    const c = counters({ 0: 100 });
    for (const url of ['/app', '/app/', '/app/x', '/app?q=1', '/app;jsessionid=1']) {
      assert.equal(routed(routeRequest(index, c, req(url), NOW)), 'n0', url);
    }
    for (const url of ['/application', '/ap', '/', '/other/app']) {
      assert.equal(routed(routeRequest(index, c, req(url), NOW)), 'unmapped', url);
    }
  });

  it('a context registered with a trailing slash matches only itself and its //-children', () => {
    const index = build({ nodes: [node(0, 'n0')], contexts: [context(0, '/app/', 0)] });
    const c = counters({ 0: 100 });
    assert.equal(routed(routeRequest(index, c, req('/app/'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app//x'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app/x'), NOW)), 'unmapped');
    assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'unmapped');
  });

  it('/ matches every path', () => {
    const index = build({ nodes: [node(0, 'n0')], contexts: [context(0, '/', 0)] });
    const c = counters({ 0: 100 });
    for (const url of ['/', '/x', '/x/y/z?q']) assert.equal(routed(routeRequest(index, c, req(url), NOW)), 'n0', url);
  });

  it('only the longest match is a candidate, on every node', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1')],
      contexts: [context(0, '/app', 0), context(1, '/app/sub', 1), context(2, '/', 0)],
    });
    // n1 is loaded far more than n0, yet it is the only node serving /app/sub.
    const c = counters({ 0: 100, 1: 1 });
    for (let i = 0; i < 5; i++) assert.equal(routed(routeRequest(index, c, req('/app/sub/x'), NOW)), 'n1');
    assert.equal(routed(routeRequest(index, c, req('/app/subway'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/elsewhere'), NOW)), 'n0');
  });

  it('does not fall back to a shorter context when the longest is STOPPED', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1')],
      contexts: [context(0, '/', 0), context(1, '/app', 1, ContextStatus.Stopped)],
    });
    const c = counters({ 0: 100, 1: 100 });
    assert.equal(routed(routeRequest(index, c, req('/app/x'), NOW)), 'unmapped');
    assert.equal(routed(routeRequest(index, c, req('/other'), NOW)), 'n0');
  });

  it('matches the decoded path', () => {
    const index = build({ nodes: [node(0, 'n0')], contexts: [context(0, '/my app', 0)] });
    const c = counters({ 0: 100 });
    assert.equal(routed(routeRequest(index, c, req('/my%20app/x'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/my%zzapp'), NOW)), '400');
  });

  it('is case-sensitive', () => {
    const index = build({ nodes: [node(0, 'n0')], contexts: [context(0, '/App', 0)] });
    assert.equal(routed(routeRequest(index, counters({ 0: 100 }), req('/app'), NOW)), 'unmapped');
  });
});

describe('context states (§5.4 step 6)', () => {
  const tables = {
    nodes: [node(0, 'n0'), node(1, 'n1')],
    contexts: [context(0, '/app', 0, ContextStatus.Disabled), context(1, '/app', 1, ContextStatus.Stopped)],
  };

  it('DISABLED serves no request without a session', () => {
    const index = build(tables);
    assert.equal(routed(routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app/x'), NOW)), 'unmapped');
  });

  it('DISABLED serves a request whose session routes to the node', () => {
    const index = build(tables);
    const r = routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app/x', 'JSESSIONID=abc.n0'), NOW);
    assert.equal(routed(r), 'n0');
  });

  it('DISABLED serves a request carrying a session id of its balancer even without route', () => {
    const index = build(tables);
    const c = counters({ 0: 100, 1: 100 });
    assert.equal(routed(routeRequest(index, c, req('/app/x', 'JSESSIONID=abc'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app/x;jsessionid=abc.gone'), NOW)), 'n0');
    // Another cookie name is not a session of this balancer.
    assert.equal(routed(routeRequest(index, c, req('/app/x', 'OTHER=abc.n0'), NOW)), 'unmapped');
  });

  it('STOPPED serves nothing, not even a session routed to it', () => {
    const index = build(tables);
    assert.equal(routed(routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app/x', 'JSESSIONID=abc.n1'), NOW)), 'n0');
    const stoppedOnly = build({ nodes: [node(1, 'n1')], contexts: [context(1, '/app', 1, ContextStatus.Stopped)] });
    assert.equal(routed(routeRequest(stoppedOnly, counters({ 1: 100 }), req('/app/x', 'JSESSIONID=abc.n1'), NOW)), 'unmapped');
  });

  it('ENABLED on one node and DISABLED on the other: new requests only go to the enabled one', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1')],
      contexts: [context(0, '/app', 0, ContextStatus.Disabled), context(1, '/app', 1)],
    });
    const c = counters({ 0: 100, 1: 100 });
    for (let i = 0; i < 10; i++) assert.equal(routed(routeRequest(index, c, req('/app'), NOW)), 'n1');
    assert.equal(routed(routeRequest(index, c, req('/app', 'JSESSIONID=s.n0'), NOW)), 'n0');
  });
});

describe('UseAlias (§5.4 step 2, usealias test of §9.1)', () => {
  // Node 0: vhost 1 = example.com serving /test; vhost 2 = tomcat1, localhost serving /webapp.
  const tables = {
    nodes: [node(0, 'n0')],
    hosts: [host(0, 'example.com', 0, 1), host(1, 'tomcat1', 0, 2), host(2, 'localhost', 0, 2)],
    contexts: [context(0, '/test', 0, ContextStatus.Enabled, 1), context(1, '/webapp', 0, ContextStatus.Enabled, 2)],
  };

  it('routes only when the Host is an alias of the context\'s virtual host', () => {
    const index = build(tables, { useAlias: true });
    const c = counters({ 0: 100 });
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'example.com'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'localhost'), NOW)), 'unmapped');
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'tomcat1'), NOW)), 'unmapped');
    assert.equal(routed(routeRequest(index, c, req('/webapp', '', 'tomcat1'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/webapp', '', 'localhost'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/webapp', '', 'example.com'), NOW)), 'unmapped');
  });

  it('uses the host part of the Host header, lower-cased', () => {
    const index = build(tables, { useAlias: true });
    const c = counters({ 0: 100 });
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'EXAMPLE.com:8080'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/webapp', '', 'LocalHost:1'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'example.com.evil'), NOW)), 'unmapped');
  });

  it('handles IPv6 literals and a missing Host (server name)', () => {
    const v6 = build({ nodes: [node(0, 'n0')], hosts: [host(0, '::1', 0)], contexts: [context(0, '/app', 0)] }, { useAlias: true });
    assert.equal(routed(routeRequest(v6, counters({ 0: 100 }), req('/app', '', '[::1]:8000'), NOW)), 'n0');
    const named = build(tables, { useAlias: true, serverName: 'Example.com' });
    assert.equal(routed(routeRequest(named, counters({ 0: 100 }), req('/test', '', ''), NOW)), 'n0');
    const unnamed = build(tables, { useAlias: true });
    assert.equal(routed(routeRequest(unnamed, counters({ 0: 100 }), req('/test', '', ''), NOW)), 'unmapped');
  });

  it('with UseAlias Off the Host is ignored', () => {
    const index = build(tables, { useAlias: false });
    const c = counters({ 0: 100 });
    assert.equal(routed(routeRequest(index, c, req('/test', '', 'nobody.example'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/webapp', '', 'example.com'), NOW)), 'n0');
  });

  it('the longest match is taken among the Host\'s contexts only', () => {
    const index = build(
      {
        nodes: [node(0, 'n0'), node(1, 'n1')],
        hosts: [host(0, 'a.example', 0), host(1, 'b.example', 1)],
        contexts: [context(0, '/app', 0), context(1, '/app/sub', 1)],
      },
      { useAlias: true },
    );
    const c = counters({ 0: 100, 1: 100 });
    assert.equal(routed(routeRequest(index, c, req('/app/sub/x', '', 'a.example'), NOW)), 'n0');
    assert.equal(routed(routeRequest(index, c, req('/app/sub/x', '', 'b.example'), NOW)), 'n1');
  });
});

describe('balancer choice (§5.5)', () => {
  const tables = {
    nodes: [node(0, 'a0', { balancer: 'alpha' }), node(1, 'b1', { balancer: 'beta' }), node(2, 'b2', { balancer: 'BETA' })],
    balancers: [balancer(0, 'alpha'), balancer(1, 'beta')],
    contexts: [context(0, '/app', 0), context(1, '/app', 1), context(2, '/app', 2)],
  };

  it('without a session, the first candidate\'s balancer is used', () => {
    const index = build(tables);
    const c = counters({ 0: 100, 1: 100, 2: 100 });
    for (let i = 0; i < 4; i++) {
      const r = routeRequest(index, c, req('/app'), NOW);
      assert.equal(r.kind === 'node' && r.balancer.name, 'alpha');
    }
  });

  it('a session route picks its node\'s balancer (names compared case-insensitively)', () => {
    const index = build(tables);
    const r = routeRequest(index, counters({ 0: 100, 1: 100, 2: 100 }), req('/app', 'JSESSIONID=x.b2'), NOW);
    assert.equal(r.kind, 'node');
    if (r.kind !== 'node') return;
    assert.equal(r.balancer.name, 'beta');
    assert.equal(r.node.route, 'b2');
    assert.equal(r.sessionRoute, 'b2');
    assert.equal(r.sessionId, 'x.b2');
    assert.equal(r.stickyName, 'JSESSIONID');
  });

  it('a route naming no node is a request without session', () => {
    const index = build(tables);
    const r = routeRequest(index, counters({ 0: 100, 1: 100, 2: 100 }), req('/app', 'JSESSIONID=x.gone'), NOW);
    assert.equal(r.kind === 'node' && r.balancer.name, 'alpha');
    assert.equal(r.kind === 'node' && r.sessionRoute, '');
    assert.equal(r.kind === 'node' && r.sessionId, 'x.gone');
  });

  it('a sticky balancer without a candidate for the path is skipped', () => {
    const index = build({ ...tables, contexts: [context(0, '/app', 0), context(1, '/other', 1)] });
    const r = routeRequest(index, counters({ 0: 100, 1: 100 }), req('/app', 'JSESSIONID=x.b1'), NOW);
    assert.equal(r.kind === 'node' && r.node.route, 'a0');
    assert.equal(r.kind === 'node' && r.sessionRoute, '');
  });

  it('each balancer reads its own sticky names', () => {
    const index = build({
      ...tables,
      balancers: [balancer(0, 'alpha'), balancer(1, 'beta', { stickySessionCookie: 'SID', stickySessionPath: 'sid' })],
    });
    const c = counters({ 0: 100, 1: 100, 2: 100 });
    const byCookie = routeRequest(index, c, req('/app', 'SID=x.b1'), NOW);
    assert.equal(byCookie.kind === 'node' && byCookie.node.route, 'b1');
    assert.equal(byCookie.kind === 'node' && byCookie.stickyName, 'SID');
    const byPath = routeRequest(index, c, req('/app;sid=x.b2'), NOW);
    assert.equal(byPath.kind === 'node' && byPath.node.route, 'b2');
    assert.equal(byPath.kind === 'node' && byPath.stickyName, 'sid');
    // JSESSIONID names a beta node, but beta does not read JSESSIONID.
    const other = routeRequest(index, c, req('/app', 'JSESSIONID=x.b1'), NOW);
    assert.equal(other.kind === 'node' && other.balancer.name, 'alpha');
  });

  it('a node whose balancer has no row is never chosen', () => {
    const index = build({ nodes: [node(0, 'n0', { balancer: 'ghost' })], contexts: [context(0, '/app', 0)] });
    assert.equal(routed(routeRequest(index, counters({ 0: 100 }), req('/app'), NOW)), 'unmapped');
  });

  it('returns the context row id of the chosen node', () => {
    const index = build({
      nodes: [node(0, 'n0'), node(1, 'n1')],
      contexts: [context(3, '/', 0), context(5, '/app', 1), context(7, '/app', 0)],
    });
    const c = counters({ 0: 100, 1: 1 });
    const r = routeRequest(index, c, req('/app/x'), NOW);
    assert.equal(r.kind === 'node' && r.node.id, 0);
    assert.equal(r.kind === 'node' && r.contextId, 7);
  });
});

// The status page as JSON (`?format=json` or `Accept: application/json`):
// the same tables the HTML page shows, with states and counters, for
// dashboards and scripts. Field names are stable (README "Status as JSON").
import type { ClusterState } from '../cluster/state';
import type { NodeRow } from '../slots/rows';
import { RELEASE } from '../config/directives';
import { CONTEXT_STATE, nodeState } from '../cluster/states';

export const JSON_CONTENT_TYPE = 'application/json';

/** True when the request asks for JSON: format=json in the query, or an Accept that names application/json. */
export function wantsJson(params: ReadonlyMap<string, string>, accept: string): boolean {
  const format = params.get('format');
  if (format !== undefined) return format.toLowerCase() === 'json';
  return /(^|,)\s*application\/json\s*(;|,|$)/i.test(accept);
}

export function renderJsonStatus(state: ClusterState): string {
  const c = state.counters;
  const traffic = c.traffic;
  const routes = new Map<number, string>(state.nodes().map((n) => [n.id, n.route]));
  const view = {
    release: RELEASE,
    balancers: state.balancers().map((b) => ({
      name: b.name,
      stickySession: b.stickySession,
      stickySessionCookie: b.stickySessionCookie,
      stickySessionPath: b.stickySessionPath,
      stickySessionRemove: b.stickySessionRemove,
      stickySessionForce: b.stickySessionForce,
      waitWorkerSeconds: b.waitWorkerUs / 1e6,
      maxAttempts: b.maxAttempts,
    })),
    nodes: state.nodes().map((n: NodeRow) => {
      const byClass = traffic.nodeRequests(n.id);
      const failures = traffic.nodeFailures(n.id);
      return {
        id: n.id,
        route: n.route,
        balancer: n.balancer,
        domain: n.domain,
        url: `${n.type}://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`,
        type: n.type,
        state: nodeState(c, n),
        load: c.lbfactor(n.id),
        lbstatus: c.lbstatus(n.id),
        elected: c.elected(n.id) >>> 0,
        busy: c.busy(n.id),
        read: Number(c.read(n.id)),
        transferred: Number(c.transferred(n.id)),
        requests: { '1xx': byClass[1], '2xx': byClass[2], '3xx': byClass[3], '4xx': byClass[4], '5xx': byClass[5], none: byClass[0] },
        errors: { connect: failures.connect, read: failures.read, timeout: failures.timeout },
        failovers: failures.failovers,
        settings: {
          flushPackets: n.flushPackets,
          flushWaitMs: n.flushWaitUs / 1000,
          pingSeconds: n.pingUs / 1e6,
          smax: n.smax,
          ttlSeconds: n.ttlUs / 1e6,
          timeoutSeconds: n.timeoutUs / 1e6,
        },
      };
    }),
    vhosts: groupVhosts(state, routes),
    contexts: state.contexts().map((ctx) => ({
      node: routes.get(ctx.node) ?? '',
      vhost: ctx.vhost,
      path: ctx.path,
      state: CONTEXT_STATE[ctx.status],
      requestsRunning: c.contextRequests(ctx.id),
    })),
  };
  return `${JSON.stringify(view, null, 2)}\n`;
}

/** One entry per (node, vhost) with its aliases, as the page lists them. */
function groupVhosts(state: ClusterState, routes: ReadonlyMap<number, string>): Array<{ node: string; vhost: number; aliases: string[] }> {
  const byKey = new Map<string, { node: string; vhost: number; aliases: string[] }>();
  for (const h of state.hosts()) {
    const key = `${h.node}/${h.vhost}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = { node: routes.get(h.node) ?? '', vhost: h.vhost, aliases: [] };
      byKey.set(key, entry);
    }
    entry.aliases.push(h.alias);
  }
  return [...byKey.values()];
}

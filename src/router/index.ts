// The routing index a forwarding thread builds from one consistent snapshot of
// the tables (ARCHITECTURE.md: rebuilt when the version changes). Everything
// the per-request routing needs is precomputed here: balancers with their
// worker lists and route maps, and contexts grouped by alias, balancer and
// path, so that routing a request is a few Map lookups.
import type { BalancerRow, HostRow, NodeRow } from '../slots/rows';
import type { TablesSnapshot } from '../slots/types';
import { ContextScope, type BalancerEntry, type ContextEntry } from './context-set';
import { hostName } from './request-target';
import { RouteScratch } from './scratch';

export interface RoutingOptions {
  /** UseAlias: route only when the Host is an alias of the context's virtual host (§5.4 step 2). */
  useAlias: boolean;
  /** ResponseStatusCodeOnNoContext (§5.10). */
  responseStatusCodeOnNoContext: number;
  /** DeterministicFailover (§5.7). */
  deterministicFailover: boolean;
  /** 60: a worker in error becomes retryable for sticky requests after it (§3.8, §5.6). */
  retryIntervalSeconds: number;
  /** The host name used with UseAlias when a request has no Host (httpd: ServerName). Default ''. */
  serverName?: string;
}

export type { BalancerEntry, ContextEntry } from './context-set';
export type { ContextScope, ContextSet } from './context-set';

export class RoutingIndex {
  /** The snapshot version the index was built from. */
  readonly version: number;
  readonly options: Readonly<RoutingOptions>;
  /** Every balancer, in table order (the order of the sticky pass, §5.5). */
  readonly balancers: readonly BalancerEntry[];
  /** The balancers whose sessions are looked at (§5.2 steady-state rule). */
  readonly stickyBalancers: readonly BalancerEntry[];
  /** Distinct (cookie, path) sticky name pairs; BalancerEntry.namesSlot indexes it. */
  readonly stickyNames: ReadonlyArray<{ readonly cookie: string; readonly path: string }>;
  /** Per-request working memory (see RouteScratch); only routeRequest uses it. */
  readonly scratch: RouteScratch;
  readonly #nodes: ReadonlyArray<NodeRow | undefined>;
  readonly #balancerByKey: ReadonlyMap<string, BalancerEntry>;
  /** UseAlias Off: one scope for every Host. */
  readonly #scopeAll: ContextScope | undefined;
  /** UseAlias On: one scope per alias. */
  readonly #scopeByAlias: ReadonlyMap<string, ContextScope>;
  #lastHost = '';
  #lastScope: ContextScope | undefined;
  #lastHostValid = false;

  private constructor(
    snapshot: TablesSnapshot,
    options: RoutingOptions,
    balancers: BalancerEntry[],
    stickyNames: Array<{ cookie: string; path: string }>,
    scopeAll: ContextScope | undefined,
    scopeByAlias: Map<string, ContextScope>,
  ) {
    this.version = snapshot.version;
    this.options = Object.freeze({ ...options });
    this.#nodes = snapshot.nodes;
    this.balancers = balancers;
    this.stickyBalancers = balancers.filter((b) => b.sticky);
    this.stickyNames = stickyNames;
    this.#balancerByKey = new Map(balancers.map((b) => [b.key, b]));
    this.#scopeAll = scopeAll;
    this.#scopeByAlias = scopeByAlias;
    this.scratch = new RouteScratch(snapshot.nodes.length, stickyNames.length);
  }

  static build(snapshot: TablesSnapshot, options: RoutingOptions): RoutingIndex {
    const nodes = snapshot.nodes;
    const stickyNames: Array<{ cookie: string; path: string }> = [];
    const balancers: BalancerEntry[] = [];
    const seen = new Set<string>();
    for (const row of snapshot.balancers) {
      if (row === undefined) continue;
      const key = row.name.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      balancers.push(balancerEntry(row, key, nodes, stickyNames));
    }
    const byKey = new Map(balancers.map((b) => [b.key, b]));
    const entries: ContextEntry[] = [];
    for (const row of snapshot.contexts) {
      if (row === undefined) continue;
      const node = nodes[row.node];
      // A context of an empty node slot cannot be routed (§5.4 step 3 drops it too).
      if (node === undefined) continue;
      entries.push({ row, node, balancer: byKey.get(node.balancer.toLowerCase()) });
    }
    let scopeAll: ContextScope | undefined;
    const scopeByAlias = new Map<string, ContextScope>();
    if (options.useAlias) {
      const aliases = aliasesByVhost(snapshot.hosts);
      for (const entry of entries) {
        const names = aliases.get(vhostKey(entry.row.node, entry.row.vhost));
        if (names === undefined) continue;
        for (const alias of names) {
          let scope = scopeByAlias.get(alias);
          if (scope === undefined) {
            scope = new ContextScope();
            scopeByAlias.set(alias, scope);
          }
          scope.add(entry);
        }
      }
    } else {
      scopeAll = new ContextScope();
      for (const entry of entries) scopeAll.add(entry);
    }
    return new RoutingIndex(snapshot, options, balancers, stickyNames, scopeAll, scopeByAlias);
  }

  node(id: number): NodeRow | undefined {
    return this.#nodes[id];
  }

  /** The balancer row of a name (case-insensitive). */
  balancer(name: string): BalancerRow | undefined {
    return this.#balancerByKey.get(name.toLowerCase())?.row;
  }

  balancerEntry(key: string): BalancerEntry | undefined {
    return this.#balancerByKey.get(key);
  }

  /**
   * The contexts a request with this Host header may use: all of them with
   * UseAlias Off, else those of the virtual hosts that have the Host's name as
   * an alias (undefined: none).
   */
  scopeFor(host: string): ContextScope | undefined {
    if (this.#scopeAll !== undefined) return this.#scopeAll;
    // Keep-alive connections repeat the same Host: remember the last answer.
    if (this.#lastHostValid && host === this.#lastHost) return this.#lastScope;
    const name = hostName(host.length === 0 ? (this.options.serverName ?? '') : host);
    const scope = this.#scopeByAlias.get(name);
    this.#lastHost = host;
    this.#lastScope = scope;
    this.#lastHostValid = true;
    return scope;
  }
}

function vhostKey(node: number, vhost: number): string {
  return `${node}:${vhost}`;
}

function aliasesByVhost(hosts: ReadonlyArray<HostRow | undefined>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const host of hosts) {
    if (host === undefined) continue;
    const key = vhostKey(host.node, host.vhost);
    let names = out.get(key);
    if (names === undefined) {
      names = new Set();
      out.set(key, names);
    }
    // Stored lower case already; lower-casing again keeps the match exact if not.
    names.add(host.alias.toLowerCase());
  }
  return out;
}

function balancerEntry(
  row: BalancerRow,
  key: string,
  nodes: ReadonlyArray<NodeRow | undefined>,
  stickyNames: Array<{ cookie: string; path: string }>,
): BalancerEntry {
  const workers: NodeRow[] = [];
  const workersByRoute = new Map<string, NodeRow[]>();
  const nodeByRoute = new Map<string, NodeRow>();
  for (const node of nodes) {
    if (node === undefined || node.balancer.toLowerCase() !== key) continue;
    if (!nodeByRoute.has(node.route)) nodeByRoute.set(node.route, node);
    // A removed node keeps its row for a while but never gets a request (§3.11).
    if (node.removed) continue;
    workers.push(node);
    const same = workersByRoute.get(node.route);
    if (same === undefined) workersByRoute.set(node.route, [node]);
    else same.push(node);
  }
  // §5.2 steady state (D6): StickySession=No is non-sticky whatever Force says;
  // §5.3: without both names a balancer is never sticky.
  const sticky = row.stickySession && row.stickySessionCookie.length > 0 && row.stickySessionPath.length > 0;
  let namesSlot = -1;
  if (sticky) {
    namesSlot = stickyNames.findIndex((n) => n.cookie === row.stickySessionCookie && n.path === row.stickySessionPath);
    if (namesSlot === -1) {
      namesSlot = stickyNames.length;
      stickyNames.push({ cookie: row.stickySessionCookie, path: row.stickySessionPath });
    }
  }
  return {
    row,
    key,
    sticky,
    force: sticky && row.stickySessionForce,
    removeOnFailover: sticky && row.stickySessionRemove,
    namesSlot,
    workers,
    workersByRoute,
    nodeByRoute,
  };
}

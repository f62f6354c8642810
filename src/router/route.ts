// One routing decision of MCMP.md §5 (mod_proxy_cluster profile): balancer
// choice (§5.5), worker choice (§5.6) and balanced choice (§5.7), against a
// routing index and the Atomics counters every thread shares. No I/O; the only
// allocation on the common path is the result object.
import type { BalancerRow, NodeRow } from '../slots/rows';
import { ContextStatus } from '../slots/rows';
import { NodeFlag, type ClusterCounters } from '../slots/counters';
import type { BalancerEntry, ContextEntry, ContextSet } from './context-set';
import type { RoutingIndex } from './index';
import { routingPath } from './request-target';
import { routeOfSession, sessionIdFromCookie, sessionIdFromPath } from './session';

export { stripSessionFromCookie, stripSessionFromUrl } from './session';

export interface RouteRequest {
  /** Host header value as received, may carry :port or [v6]. */
  host: string;
  /** Path as received incl. ;params and ?query. */
  url: string;
  /** '' if absent. */
  cookie: string;
}

export type RouteResult =
  | {
      kind: 'node';
      node: NodeRow;
      /** Context row id, for ClusterCounters.beginRequest. */
      contextId: number;
      balancer: BalancerRow;
      /** The session id found for the balancer, '' if none. */
      sessionId: string;
      /** The route the request was sticky to (§5.5), '' if none. */
      sessionRoute: string;
      /** The cookie/param name actually matched (D7), '' if none. */
      stickyName: string;
      /** §5.6 step 4 remove-on-failover: strip the session id (stripSessionFromUrl/Cookie with stickyName). */
      stripSession: boolean;
      /** BALANCER_ROUTE_CHANGED: a sticky balancer chose the node by balancing. */
      routeChanged: boolean;
    }
  | {
      kind: 'status';
      status: number;
      /** Balancer WaitWorker: the caller may wait and call again. */
      waitWorkerUs: number;
    }
  /** No balancer chosen: not proxied (the caller serves --docroot or ResponseStatusCodeOnNoContext). */
  | { kind: 'unmapped' };

const UNMAPPED: RouteResult = Object.freeze({ kind: 'unmapped' });
/** Malformed percent-encoding in the path (§5.10: 400 during canonicalisation). */
const BAD_REQUEST: RouteResult = Object.freeze({ kind: 'status', status: 400, waitWorkerUs: 0 });
const UNAVAILABLE: RouteResult = Object.freeze({ kind: 'status', status: 503, waitWorkerUs: 0 });

/** The name sessionOf's last answer came from (D7); read right after the call. */
let matchedName = '';

/** The request's session id for one sticky name pair, looked up at most once per request. */
function sessionOf(index: RoutingIndex, req: RouteRequest, slot: number, epoch: number): string | undefined {
  const s = index.scratch;
  if (s.sessionEpoch[slot] !== epoch) {
    s.sessionEpoch[slot] = epoch;
    const names = index.stickyNames[slot] as { cookie: string; path: string };
    let id = req.cookie.length === 0 ? undefined : sessionIdFromCookie(req.cookie, names.cookie);
    let name = names.cookie;
    if (id === undefined) {
      id = sessionIdFromPath(req.url, names.path);
      name = names.path;
    }
    s.sessionId[slot] = id;
    s.sessionName[slot] = id === undefined ? '' : name;
  }
  matchedName = s.sessionName[slot] as string;
  return s.sessionId[slot];
}

/**
 * §5.4 step 6 state filter. DISABLED serves only requests that "have a
 * session": a route was found, or the request carries a session id for the
 * context's balancer.
 */
function servable(index: RoutingIndex, req: RouteRequest, epoch: number, entry: ContextEntry, route: string): boolean {
  const status = entry.row.status;
  if (status === ContextStatus.Enabled) return true;
  if (status !== ContextStatus.Disabled) return false;
  if (route.length !== 0) return true;
  const b = entry.balancer;
  return b !== undefined && b.sticky && sessionOf(index, req, b.namesSlot, epoch) !== undefined;
}

function anyServable(index: RoutingIndex, req: RouteRequest, epoch: number, group: readonly ContextEntry[], route: string): boolean {
  for (let i = 0; i < group.length; i++) {
    if (servable(index, req, epoch, group[i] as ContextEntry, route)) return true;
  }
  return false;
}

/** Route ordering for DeterministicFailover: byte order of the JVMRoutes. */
function byRoute(a: NodeRow, b: NodeRow): number {
  return a.route < b.route ? -1 : a.route > b.route ? 1 : 0;
}

/** Sum of the byte values (UTF-8) of the session id before its first '.'. */
function sessionHash(sessionId: string): number {
  let end = sessionId.indexOf('.');
  if (end === -1) end = sessionId.length;
  let hash = 0;
  for (let i = 0; i < end; i++) {
    const c = sessionId.charCodeAt(i);
    if (c >= 0x80) {
      hash = 0;
      for (const byte of Buffer.from(sessionId.slice(0, end), 'utf8')) hash += byte;
      return hash;
    }
    hash += c;
  }
  return hash;
}

interface Pass {
  domain: string;
  standby: boolean;
}
const passScratch: Pass = { domain: '', standby: false };

/**
 * One pass of §5.7 over the balancer's workers: eligible workers (usable,
 * lbfactor ≥ 1 or 0 in the standby pass, in the candidate list, in the session
 * domain when `pass.domain` is set) compete on their score; the lowest wins,
 * ties keep the earlier worker; a standby pass takes the first lbfactor-0
 * worker at once.
 */
function balancedPass(
  index: RoutingIndex,
  counters: ClusterCounters,
  b: BalancerEntry,
  epoch: number,
  pass: Pass,
  deterministicHash: number,
  exclude: ReadonlySet<number> | undefined,
): NodeRow | undefined {
  const candidates = index.scratch.candidateEpoch;
  const eligible = index.scratch.eligible;
  if (deterministicHash >= 0) eligible.length = 0;
  let best: NodeRow | undefined;
  let bestScore = 0;
  const workers = b.workers;
  for (let i = 0; i < workers.length; i++) {
    const node = workers[i] as NodeRow;
    const id = node.id;
    if (candidates[id] !== epoch) continue;
    const lbfactor = counters.lbfactorRelaxed(id);
    if (lbfactor < 0 || (lbfactor === 0 && !pass.standby)) continue;
    if ((counters.flagsRelaxed(id) & NodeFlag.InError) !== 0) continue;
    if (exclude !== undefined && exclude.has(id)) continue;
    if (pass.domain.length !== 0 && node.domain !== pass.domain) continue;
    if (deterministicHash >= 0) eligible.push(node);
    if (lbfactor === 0) {
      best = node;
      break;
    }
    const score = Math.floor((counters.windowRelaxed(id) * 1000) / lbfactor) + counters.lbstatusRelaxed(id);
    if (best === undefined || bestScore > score) {
      best = node;
      bestScore = score;
    }
  }
  if (deterministicHash >= 0 && eligible.length !== 0) {
    if (eligible.length > 1) eligible.sort(byRoute);
    best = eligible[deterministicHash % eligible.length];
  }
  return best;
}

/**
 * One routing attempt. `exclude` holds nodes that already failed for this
 * request (failover). Increments `elected` of the chosen node (sticky or
 * balanced) on the shared counters.
 */
export function routeRequest(
  index: RoutingIndex,
  counters: ClusterCounters,
  req: RouteRequest,
  nowSeconds: number,
  exclude?: ReadonlySet<number>,
): RouteResult {
  const u = routingPath(req.url);
  if (u === undefined) return BAD_REQUEST;
  const scope = index.scopeFor(req.host);
  if (scope === undefined) return UNMAPPED;
  const epoch = index.scratch.begin();

  // §5.5 step 1, sticky pass: the first sticky balancer whose session route
  // names one of its nodes and that has a candidate context for the request.
  const sticky = index.stickyBalancers;
  for (let i = 0; i < sticky.length; i++) {
    const b = sticky[i] as BalancerEntry;
    const id = sessionOf(index, req, b.namesSlot, epoch);
    if (id === undefined) continue;
    const name = matchedName;
    const r = routeOfSession(id);
    if (r.length === 0) continue;
    const contexts = scope.ofBalancer(b.key);
    const group = contexts?.longestMatch(u);
    if (group === undefined || !anyServable(index, req, epoch, group, r)) continue;
    const node = b.nodeByRoute.get(r);
    if (node === undefined) continue;
    return chooseWorker(index, counters, req, contexts, group, b, r, node.domain, id, name, epoch, nowSeconds, exclude);
  }

  // §5.5 step 2, context pass: the first candidate whose node has a balancer.
  const group = scope.all.longestMatch(u);
  if (group === undefined) return UNMAPPED;
  let chosen: BalancerEntry | undefined;
  for (let i = 0; i < group.length; i++) {
    const entry = group[i] as ContextEntry;
    if (entry.balancer !== undefined && servable(index, req, epoch, entry, '')) {
      chosen = entry.balancer;
      break;
    }
  }
  if (chosen === undefined) return UNMAPPED;
  let sessionId = '';
  let stickyName = '';
  if (chosen.sticky) {
    const id = sessionOf(index, req, chosen.namesSlot, epoch);
    if (id !== undefined) {
      sessionId = id;
      stickyName = matchedName;
    }
  }
  const contexts = scope.ofBalancer(chosen.key);
  return chooseWorker(index, counters, req, contexts, contexts?.longestMatch(u), chosen, '', '', sessionId, stickyName, epoch, nowSeconds, exclude);
}

/** §5.6 and §5.7 for the chosen balancer. */
function chooseWorker(
  index: RoutingIndex,
  counters: ClusterCounters,
  req: RouteRequest,
  contexts: ContextSet | undefined,
  group: readonly ContextEntry[] | undefined,
  b: BalancerEntry,
  route: string,
  domain: string,
  sessionId: string,
  stickyName: string,
  epoch: number,
  nowSeconds: number,
  exclude: ReadonlySet<number> | undefined,
): RouteResult {
  // The candidate list (D8: computed once, for this balancer and route).
  const scratch = index.scratch;
  let count = 0;
  if (group !== undefined) {
    for (let i = 0; i < group.length; i++) {
      const entry = group[i] as ContextEntry;
      if (!servable(index, req, epoch, entry, route)) continue;
      const id = entry.node.id;
      if (scratch.candidateEpoch[id] === epoch) continue;
      scratch.candidateEpoch[id] = epoch;
      scratch.candidateContext[id] = entry.row.id;
      count++;
    }
  }
  if (count === 0) {
    // §5.10: contexts exist for the balancer but none matches or serves →
    // ResponseStatusCodeOnNoContext, no context at all → 503. §5.5 only picks
    // a balancer that has a candidate, so this holds for a balancer reached
    // any other way (httpd: an explicit ProxyPass).
    const status = contexts !== undefined && contexts.size > 0 ? index.options.responseStatusCodeOnNoContext : 503;
    return status === 503 ? UNAVAILABLE : { kind: 'status', status, waitWorkerUs: 0 };
  }

  // §5.6 step 1: the worker of the session route, non-standby ones first.
  let failoverDomainOnly = false;
  if (route.length !== 0) {
    const sticky = stickyWorker(index, counters, b, route, epoch, nowSeconds, exclude);
    if (sticky !== undefined) {
      counters.addElected(sticky.id);
      return {
        kind: 'node',
        node: sticky,
        contextId: scratch.candidateContext[sticky.id] as number,
        balancer: b.row,
        sessionId,
        sessionRoute: route,
        stickyName,
        stripSession: false,
        routeChanged: false,
      };
    }
    // §5.6 step 2: force → 503, unless the node has a Domain (domain-only failover).
    if (b.force) {
      if (domain.length === 0) return UNAVAILABLE;
      failoverDomainOnly = true;
    }
  }

  // §5.7 balanced choice.
  const deterministicHash =
    index.options.deterministicFailover && sessionId.indexOf('.') !== -1 ? sessionHash(sessionId) : -1;
  const pass = passScratch;
  let winner: NodeRow | undefined;
  let domainOk = false;
  if (domain.length !== 0) {
    pass.domain = domain;
    pass.standby = false;
    winner = balancedPass(index, counters, b, epoch, pass, deterministicHash, exclude);
    domainOk = winner !== undefined;
  }
  if (winner === undefined && !failoverDomainOnly) {
    pass.domain = '';
    pass.standby = false;
    winner = balancedPass(index, counters, b, epoch, pass, deterministicHash, exclude);
    if (winner === undefined) {
      pass.standby = true;
      winner = balancedPass(index, counters, b, epoch, pass, deterministicHash, exclude);
    }
  }
  if (winner === undefined) {
    const waitWorkerUs = b.row.waitWorkerUs;
    return waitWorkerUs > 0 ? { kind: 'status', status: 503, waitWorkerUs } : UNAVAILABLE;
  }
  counters.addElected(winner.id);
  return {
    kind: 'node',
    node: winner,
    contextId: scratch.candidateContext[winner.id] as number,
    balancer: b.row,
    sessionId,
    sessionRoute: route,
    stickyName,
    // §5.6 step 4: a session that failed over outside its domain loses its id.
    stripSession: route.length !== 0 && b.removeOnFailover && !domainOk,
    routeChanged: b.sticky,
  };
}

/**
 * §5.6 step 1: scans the balancer's workers with the session route, those not
 * hot-standby first. A usable one is accepted if it is a candidate, else the
 * session gives up on it; one in error is retried once its error is older than
 * the retry interval (mod_proxy's retry timer).
 */
function stickyWorker(
  index: RoutingIndex,
  counters: ClusterCounters,
  b: BalancerEntry,
  route: string,
  epoch: number,
  nowSeconds: number,
  exclude: ReadonlySet<number> | undefined,
): NodeRow | undefined {
  const list = b.workersByRoute.get(route);
  if (list === undefined) return undefined;
  const retry = index.options.retryIntervalSeconds;
  for (let standbyPass = 0; standbyPass < 2; standbyPass++) {
    for (let i = 0; i < list.length; i++) {
      const node = list[i] as NodeRow;
      const id = node.id;
      const flags = counters.flags(id);
      const standby = (flags & NodeFlag.HotStandby) !== 0;
      if (standby !== (standbyPass === 1)) continue;
      // A node that already failed for this request is in error for it.
      if (exclude !== undefined && exclude.has(id)) continue;
      let usable = (flags & NodeFlag.InError) === 0;
      if (!usable && nowSeconds - counters.errorTime(id) >= retry) {
        counters.clearError(id);
        usable = true;
      }
      if (usable) return index.scratch.candidateEpoch[id] === epoch ? node : undefined;
    }
  }
  return undefined;
}

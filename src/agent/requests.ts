// The MCMP requests of the Java worker (mod_cluster's DefaultMCMPRequestFactory,
// MCMP.md §8.2): which parameters each carries and in which order. The body
// is `JVMRoute` first, then the other parameters sorted by name with Java's
// case-sensitive ordering (a TreeMap), encoded by src/mcmp/body.ts.
import { formatMcmpBody } from '../mcmp/body';
import { AGENT_DEFAULTS } from './defaults';

export type McmpMethod = 'INFO' | 'CONFIG' | 'ENABLE-APP' | 'DISABLE-APP' | 'STOP-APP' | 'REMOVE-APP' | 'STATUS' | 'PING' | 'DUMP' | 'VERSION';

export interface McmpRequest {
  readonly method: McmpMethod;
  /** A node-wide command: the target ends in `/*`. */
  readonly wildcard: boolean;
  readonly route: string | undefined;
  readonly params: Readonly<Record<string, string>>;
}

/** What CONFIG describes: the node and its balancer (MCMP.md §2.1). */
export interface NodeDescription {
  readonly route: string;
  readonly host: string;
  readonly port: number;
  readonly type: 'http' | 'https' | 'ajp';
  readonly balancer?: string | undefined;
  /** Sent as `Domain` (the proxy shows it as LBGroup). */
  readonly lbGroup?: string | undefined;
  readonly stickySession?: boolean | undefined;
  readonly stickySessionCookie?: string | undefined;
  readonly stickySessionPath?: string | undefined;
  readonly stickySessionRemove?: boolean | undefined;
  readonly stickySessionForce?: boolean | undefined;
  /** Seconds the proxy waits for a free worker (Java workerTimeout). */
  readonly waitWorker?: number | undefined;
  readonly maxAttempts?: number | undefined;
  readonly flushPackets?: boolean | undefined;
  readonly flushWait?: number | undefined;
  /** Seconds; the proxy's probe timeout. */
  readonly ping?: number | undefined;
  readonly smax?: number | undefined;
  /** Seconds an idle connection to the node is kept. */
  readonly ttl?: number | undefined;
  /** Seconds the proxy waits for the node's answer (Java nodeTimeout). */
  readonly timeout?: number | undefined;
  readonly aliases: readonly string[];
  readonly contexts: readonly string[];
}

/** `<proxyURL>/` or `<proxyURL>/*`, as Java builds the target (MCMP.md §1.3). */
export function requestTarget(req: McmpRequest, proxyPath: string | undefined): string {
  let target = proxyPath ?? '';
  if (!target.endsWith('/')) target += '/';
  return req.wildcard ? `${target}*` : target;
}

export function requestBody(req: McmpRequest): string {
  const pairs: Array<[string, string]> = [];
  if (req.route !== undefined) pairs.push(['JVMRoute', req.route]);
  // Java's TreeMap<String,String> order: UTF-16 code units, which is what `<` compares.
  const names = Object.keys(req.params).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) pairs.push([name, req.params[name] as string]);
  return formatMcmpBody(pairs);
}

/** Parameters are only sent when they differ from the Java defaults (§8.2). */
export function configRequest(node: NodeDescription): McmpRequest {
  const p: Record<string, string> = { Host: node.host, Port: String(node.port), Type: node.type };
  if (node.lbGroup !== undefined) p.Domain = node.lbGroup;
  if (node.flushPackets === true) p.flushpackets = 'On';
  if (node.flushWait !== undefined) p.flushwait = String(node.flushWait);
  if (node.ping !== undefined) p.ping = String(node.ping);
  if (node.smax !== undefined) p.smax = String(node.smax);
  if (node.ttl !== undefined) p.ttl = String(node.ttl);
  if (node.timeout !== undefined) p.Timeout = String(node.timeout);
  if (node.balancer !== undefined) p.Balancer = node.balancer;
  if (node.stickySession === false) p.StickySession = 'No';
  const cookie = node.stickySessionCookie ?? AGENT_DEFAULTS.stickySessionCookie;
  if (cookie !== AGENT_DEFAULTS.stickySessionCookie) p.StickySessionCookie = cookie;
  const path = node.stickySessionPath ?? AGENT_DEFAULTS.stickySessionPath;
  if (path !== AGENT_DEFAULTS.stickySessionPath) p.StickySessionPath = path;
  if (node.stickySessionRemove === true) p.StickySessionRemove = 'Yes';
  if (node.stickySessionForce !== true) p.StickySessionForce = 'No';
  if (node.waitWorker !== undefined) p.WaitWorker = String(node.waitWorker);
  if (node.maxAttempts !== undefined) p.Maxattempts = String(node.maxAttempts);
  return { method: 'CONFIG', wildcard: false, route: node.route, params: p };
}

export type AppMethod = 'ENABLE-APP' | 'DISABLE-APP' | 'STOP-APP' | 'REMOVE-APP';

/** One context on all of the node's aliases (Java: host name first, then its aliases). */
export function contextRequest(method: AppMethod, route: string, aliases: Iterable<string>, context: string): McmpRequest {
  return { method, wildcard: false, route, params: { Alias: [...aliases].join(','), Context: context === '' ? '/' : context } };
}

/** The whole node: `… /*` with the route only. */
export function nodeRequest(method: AppMethod, route: string): McmpRequest {
  return { method, wildcard: true, route, params: {} };
}

export function statusRequest(route: string, load: number): McmpRequest {
  return { method: 'STATUS', wildcard: false, route, params: { Load: String(load) } };
}

export const INFO_REQUEST: McmpRequest = { method: 'INFO', wildcard: false, route: undefined, params: {} };
export const DUMP_REQUEST: McmpRequest = { method: 'DUMP', wildcard: true, route: undefined, params: {} };

export function pingRequest(route: string | undefined): McmpRequest {
  return { method: 'PING', wildcard: false, route, params: {} };
}

/**
 * `Requests=` of a STOP-APP reply as Java reads it (MCMP.md §8.4): the trimmed
 * body split on `&`, each item on `=`, only items of exactly two parts; 0 when
 * absent or not a number.
 */
export function requestsInStopReply(body: string): number {
  for (const item of body.trim().split('&')) {
    const pair = item.split('=');
    if (pair.length === 2 && pair[0] === 'Requests') {
      // Integer.parseInt: an optional sign and digits only, else 0.
      return /^[+-]?\d+$/.test(pair[1] as string) ? Number(pair[1]) : 0;
    }
  }
  return 0;
}

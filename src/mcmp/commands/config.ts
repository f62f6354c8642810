// CONFIG (MCMP.md §2.1): registers or updates one node and its balancer row,
// and optionally pre-registers aliases and STOPPED contexts.
import { BALANCER_DEFAULTS, NODE_CONFIG_DEFAULTS } from '../../cluster/defaults';
import type { Directives } from '../../config/directives';
import { FIELD_MAX } from '../../config/directives';
import { REMOVED_ROUTE, type ClusterState, type NodeWrite } from '../../cluster/state';
import { BALANCER_TEXT_MAX, byteLength, CONFIG_NODE_TYPES, ContextStatus, FlushPackets, isNodePort, NODE_TEXT_MAX, type BalancerRow, type NodeRow, type NodeType } from '../../slots/rows';
import type { McmpPair } from '../body';
import { McmpError } from '../errors';
import { atoi, parseBoolean, parseDurationUs, splitList, stripIpv6Zone } from '../fields';
import type { CommandContext, CommandResult } from './command';

type NodeConfig = Omit<NodeRow, 'id' | 'route' | 'removed'>;

interface ConfigMessage {
  route: string;
  node: NodeConfig;
  balancer: Omit<BalancerRow, 'id'>;
  aliases: string[];
  contexts: string[];
  /** Balancer name as sent had upper case (logged, like httpd's notice). */
  balancerLowered: boolean;
}

function defaults(d: Directives): ConfigMessage {
  return {
    route: '',
    node: { balancer: d.ManagerBalancerName, ...NODE_CONFIG_DEFAULTS },
    balancer: { name: d.ManagerBalancerName, ...BALANCER_DEFAULTS },
    aliases: [],
    contexts: [],
    balancerLowered: false,
  };
}

function limited(value: string, max: number, error: 'SROUBIG' | 'SBALBIG' | 'SDOMBIG' | 'SHOSBIG' | 'SBAFBIG' | 'STYPBIG'): string {
  if (byteLength(value) > max) throw new McmpError(error);
  return value;
}

/** Steps 1–2 of §2.1: every pair in body order, then the cross-field checks. */
export function parseConfig(pairs: readonly McmpPair[], d: Directives): ConfigMessage {
  const m = defaults(d);
  const node = m.node as { -readonly [K in keyof NodeConfig]: NodeConfig[K] };
  const bal = m.balancer as { -readonly [K in keyof ConfigMessage['balancer']]: ConfigMessage['balancer'][K] };
  for (const [name, value] of pairs) {
    // CONFIG checks the value before the name: an empty body or `JVMRoute=` is SMESPAR.
    if (value === undefined || value === '') throw new McmpError('SMESPAR');
    switch (name.toLowerCase()) {
      case 'jvmroute':
        m.route = limited(value, NODE_TEXT_MAX.route, 'SROUBIG');
        break;
      case 'balancer': {
        const lower = limited(value, NODE_TEXT_MAX.balancer, 'SBALBIG').toLowerCase();
        m.balancerLowered = lower !== value;
        node.balancer = lower;
        bal.name = lower;
        break;
      }
      case 'domain':
        node.domain = limited(value, NODE_TEXT_MAX.domain, 'SDOMBIG');
        break;
      case 'host':
        node.host = stripIpv6Zone(limited(value, NODE_TEXT_MAX.host, 'SHOSBIG'));
        break;
      case 'port': {
        // Decision D2: an integer 1..65535, refused with the Port error otherwise.
        const port = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
        if (!isNodePort(port)) throw new McmpError('SPORBIG');
        node.port = port;
        break;
      }
      case 'type': {
        const type = limited(value, FIELD_MAX.type, 'STYPBIG').toLowerCase();
        if (!CONFIG_NODE_TYPES.has(type)) throw new McmpError('STYPBAD');
        node.type = type as NodeType;
        break;
      }
      case 'reversed':
        node.reversed = parseBoolean(value) ?? node.reversed;
        break;
      case 'flushpackets': {
        const v = value.toLowerCase();
        if (v === 'auto') node.flushPackets = FlushPackets.Auto;
        else {
          const b = parseBoolean(value);
          if (b !== undefined) node.flushPackets = b ? FlushPackets.On : FlushPackets.Off;
        }
        break;
      }
      case 'flushwait':
        node.flushWaitUs = parseDurationUs(value, 'ms') ?? fail('SFLUBAD');
        break;
      case 'ping':
        node.pingUs = parseDurationUs(value, 's') ?? fail('SPNGBAD');
        break;
      case 'ttl':
        node.ttlUs = parseDurationUs(value, 's') ?? fail('STTLBAD');
        break;
      case 'timeout':
        node.timeoutUs = parseDurationUs(value, 's') ?? fail('STIMBAD');
        break;
      case 'smax':
        node.smax = atoi(value);
        break;
      case 'stickysession':
        bal.stickySession = parseBoolean(value) ?? bal.stickySession;
        break;
      case 'stickysessioncookie':
        bal.stickySessionCookie = limited(value, BALANCER_TEXT_MAX.stickySessionCookie, 'SBAFBIG');
        break;
      case 'stickysessionpath':
        bal.stickySessionPath = limited(value, BALANCER_TEXT_MAX.stickySessionPath, 'SBAFBIG');
        break;
      case 'stickysessionremove':
        bal.stickySessionRemove = parseBoolean(value) ?? bal.stickySessionRemove;
        break;
      case 'stickysessionforce':
        bal.stickySessionForce = parseBoolean(value) ?? bal.stickySessionForce;
        break;
      case 'waitworker':
        bal.waitWorkerUs = Math.max(0, atoi(value)) * 1_000_000;
        break;
      case 'maxattempts':
        bal.maxAttempts = atoi(value);
        break;
      case 'alias':
        m.aliases.push(...aliasList(value));
        break;
      case 'context':
        m.contexts.push(...contextList(value));
        break;
      default:
        break; // unknown names are ignored (e.g. Scheme=)
    }
  }
  if (m.route === '') throw new McmpError('SROUBAD');
  if (m.aliases.length > 0 && m.contexts.length === 0) throw new McmpError('SALIBAD');
  if (m.contexts.length > 0 && m.aliases.length === 0) throw new McmpError('SCONBAD');
  return m;
}

function fail(id: 'SFLUBAD' | 'SPNGBAD' | 'STTLBAD' | 'STIMBAD'): never {
  throw new McmpError(id);
}

/** Alias value: lower-cased as a whole, then split (MCMP.md §2.2). */
export function aliasList(value: string): string[] {
  const items = splitList(value.toLowerCase(), FIELD_MAX.alias);
  if (items === 'empty') throw new McmpError('EALIEMP');
  if (items === 'too-long') throw new McmpError('SALIBIG');
  return items;
}

export function contextList(value: string): string[] {
  const items = splitList(value, FIELD_MAX.context);
  if (items === 'empty') throw new McmpError('ECONEMP');
  if (items === 'too-long') throw new McmpError('SCONBIG');
  return items;
}

/** Step 3 of §2.1: the proxy's own directives override what the node sent. */
function applyOverrides(node: NodeConfig, d: Directives): NodeConfig {
  const out = { ...node };
  if (out.type === 'ajp' && d.AJPSecret !== '') {
    out.ajpSecret = d.AJPSecret;
  } else if (out.type !== 'ajp' && d.EnableWsTunnel) {
    if (out.type === 'http') out.type = 'ws';
    if (out.type === 'https') out.type = 'wss';
    out.upgrade = d.WSUpgradeHeader !== '' ? d.WSUpgradeHeader : 'websocket';
  }
  if (out.type !== 'ajp' && d.ResponseFieldSize > 0) out.responseFieldSize = d.ResponseFieldSize;
  return out;
}

/** "The same node" of §2.1 step 4: what identifies a worker and may not change under a route. */
export function sameWorker(a: NodeConfig, b: NodeConfig): boolean {
  return a.balancer === b.balancer && a.host === b.host && a.port === b.port && a.type === b.type && a.reversed === b.reversed && a.smax === b.smax && a.ttlUs === b.ttlUs;
}

/** Step 6: which slot the node goes to, and what that means for its counters. */
function chooseSlot(state: ClusterState, route: string, cfg: NodeConfig): { id: number; how: NodeWrite } | undefined {
  const existing = state.findNode(route);
  if (existing !== undefined) return { id: existing.id, how: 'update' };
  // A removed node on the same worker (type://host:port in this balancer) is taken over…
  const sameAddress = state.findNodeWhere((n) => n.removed && n.balancer === cfg.balancer && n.type === cfg.type && n.host === cfg.host && n.port === cfg.port);
  if (sameAddress !== undefined) return { id: sameAddress.id, how: 'reuse' };
  // …or a placeholder on the same host:port. C would also overwrite a live node here (§9.3 #6); not us.
  const placeholder = state.findNodeWhere((n) => n.removed && n.route === REMOVED_ROUTE && n.host === cfg.host && n.port === cfg.port);
  if (placeholder !== undefined) return { id: placeholder.id, how: 'reuse' };
  const free = state.freeNodeSlot();
  return free === undefined ? undefined : { id: free, how: 'new' };
}

export function configCommand(ctx: CommandContext, pairs: readonly McmpPair[]): CommandResult {
  const { state } = ctx;
  const d = state.directives;
  const m = parseConfig(pairs, d);
  const cfg = applyOverrides(m.node, d);
  const route = m.route;
  if (m.balancerLowered) ctx.logger.info({ route, balancer: m.balancer.name }, 'CONFIG: balancer name had upper case; stored lower case');

  // Step 4: a route may only be re-sent with the same worker identity.
  const existing = state.findNode(route);
  if (existing !== undefined && !sameWorker(existing, cfg)) throw new McmpError('MNODEEX', existing.route);
  // Step 5: another live route on this worker. A removed one is taken over (C refuses
  // while it is not yet a placeholder, §9.3 #19; that only delays a restarted Tomcat).
  const other = state.findNodeWhere((n) => n.route !== route && sameWorker(n, cfg));
  if (other !== undefined && !other.removed) throw new McmpError('MNODEET');

  const slot = chooseSlot(state, route, cfg);
  if (slot === undefined) throw new McmpError('MNODEUI', route);
  if (!state.canStoreBalancer(m.balancer.name)) throw new McmpError('MBALAUI', route);

  const failures: McmpError[] = [];
  state.transaction(() => {
    state.putBalancer(m.balancer);
    if (slot.how === 'reuse') state.deleteHostsAndContexts(slot.id); // the previous occupant's rows
    state.putNode({ id: slot.id, route, ...cfg, removed: false }, slot.how);
    // Step 9, with decision D3: an alias the node already has keeps its vhost; a new one gets the next id.
    let lastVhost = state.maxVhost(slot.id);
    for (const alias of m.aliases) {
      const vhost = state.findHost(alias, slot.id)?.vhost ?? ++lastVhost;
      if (state.putHost(alias, vhost, slot.id) === undefined) {
        failures.push(new McmpError('MHOSTUI', route, alias));
        continue;
      }
      for (const path of m.contexts) {
        if (state.putContext(path, vhost, slot.id, ContextStatus.Stopped) === undefined) {
          failures.push(new McmpError('MCONTUI', route, path, alias));
        }
      }
    }
  });
  if (failures.length > 0) throw McmpError.joined(failures);
  return { body: '', route, result: slot.how };
}

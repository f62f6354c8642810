// Every directive of MCMP.md §7, with its default, its accepted values and
// whether mcmp-edge honours it. This table is the one place defaults live.
import {
  readAdvertiseBindAddress,
  readAdvertiseFrequency,
  readAdvertiseGroup,
  readAdvertiseInterface,
  readAdvertiseText,
  readServerAdvertise,
} from './advertise-values';
import { ACCESS_LOG_FORMATS } from '../access-log/settings';

export type DirectiveKind = 'int' | 'bool' | 'string' | 'enum';

export interface DirectiveSpec {
  /** Canonical spelling, as httpd documents it. */
  readonly name: string;
  readonly kind: DirectiveKind;
  readonly default: number | boolean | string;
  readonly min?: number;
  readonly max?: number;
  /** For 'enum': accepted values (matched case-insensitively) and what they map to. */
  readonly values?: Readonly<Record<string, number>>;
  /** For 'string': maximum length. */
  readonly maxLength?: number;
  /** For 'string': a value check beyond the length, and what it accepts (for the error line). */
  readonly check?: { readonly accepts: string; readonly test: (text: string) => boolean };
  /** Why the directive is refused, when mcmp-edge does not support it (yet). */
  readonly unsupported?: string;
  /** Other spellings httpd accepts for the same directive. */
  readonly aliases?: readonly string[];
  readonly help: string;
}

const spec = <N extends string, K extends DirectiveKind>(s: DirectiveSpec & { name: N; kind: K }): DirectiveSpec & { name: N; kind: K } => s;

export const DIRECTIVES = [
  // mod_manager: tables, MCMP, status page
  spec({ name: 'Maxnode', kind: 'int', default: 20, min: 1, max: 10000, help: 'node (and domain) table size' }),
  spec({ name: 'Maxhost', kind: 'int', default: 20, min: 1, max: 50000, help: 'alias and balancer table size (raised to Maxnode)' }),
  spec({ name: 'Maxcontext', kind: 'int', default: 100, min: 1, max: 100000, help: 'context table size (raised to Maxhost)' }),
  spec({ name: 'Maxsessionid', kind: 'int', default: 0, min: 0, max: 100000, help: 'session-id tracking table size; 0 disables it' }),
  spec({ name: 'ManagerBalancerName', kind: 'string', default: 'mycluster', maxLength: 39, help: 'balancer of a CONFIG without Balancer' }),
  spec({ name: 'MaxMCMPMessSize', kind: 'int', default: 0, min: 1024, max: 16 * 1024 * 1024, help: 'largest MCMP body in bytes (0: computed from the table sizes)' }),
  spec({ name: 'EnableWsTunnel', kind: 'bool', default: false, help: 'store http/https nodes as ws/wss' }),
  spec({ name: 'WSUpgradeHeader', kind: 'string', default: '', maxLength: 15, help: 'WebSocket upgrade token ("*" = any); also enables tunnelling' }),
  spec({ name: 'AJPSecret', kind: 'string', default: '', maxLength: 63, help: 'secret given to ajp nodes' }),
  spec({ name: 'ProxyIOBufferSize', kind: 'int', default: 8192, min: 0, max: 65536, help: 'AJP packet size in bytes; must equal the nodes\' packetSize (below 8192 raised to 8192, rounded up to 1 KiB)' }),
  spec({ name: 'ResponseFieldSize', kind: 'int', default: 0, min: 0, max: 1024 * 1024, help: 'response header buffer for non-AJP nodes (0: 8192)' }),
  spec({ name: 'CheckNonce', kind: 'bool', default: true, help: 'status-page commands need the per-start nonce' }),
  spec({ name: 'AllowDisplay', kind: 'bool', default: false, help: 'extra information on the status page' }),
  spec({ name: 'AllowCmd', kind: 'bool', default: true, help: 'allow commands from the status page' }),
  spec({ name: 'ReduceDisplay', kind: 'bool', default: false, help: 'compact status page' }),
  spec({ name: 'PersistSlots', kind: 'bool', default: false, help: 'keep the tables across restarts (in MemManagerFile)' }),
  spec({ name: 'MemManagerFile', kind: 'string', default: '', maxLength: 4096, help: 'directory for the persisted tables' }),
  spec({ name: 'EnableMCMPReceive', kind: 'bool', default: true, help: 'MCMP is always received on --manager; Off is refused', unsupported: undefined, aliases: ['EnableMCPMReceive'] }),
  // mod_proxy_cluster: routing and removal
  spec({ name: 'CreateBalancers', kind: 'enum', default: 2, values: { '0': 0, '2': 2 }, help: '0 or 2: balancers are created for registered nodes (1 needs ProxyPass, which mcmp-edge has not)' }),
  spec({ name: 'UseAlias', kind: 'bool', default: false, help: 'route only when the Host header is an alias of the context\'s vhost' }),
  spec({ name: 'LBstatusRecalTime', kind: 'int', default: 5, min: 0, max: 86400, help: 'seconds between load recalculations and idle probes' }),
  spec({ name: 'WaitBeforeRemove', kind: 'int', default: 10, min: 10, max: 86400, help: 'seconds from REMOVE-APP /* to the REMOVED placeholder (freed at twice this)' }),
  spec({ name: 'EnableOptions', kind: 'bool', default: true, help: 'probe http nodes with OPTIONS *' }),
  spec({ name: 'DeterministicFailover', kind: 'bool', default: false, help: 'failover target derived from the session id' }),
  spec({ name: 'UseNocanon', kind: 'bool', default: false, help: 'forward the request path without canonicalising it (still normalised: README "Security")' }),
  spec({ name: 'AllowEncodedSlashes', kind: 'enum', default: 0, values: { off: 0, on: 1, nodecode: 2 }, help: 'Off: a path with %2F gets 404; On: %2F is a "/"; NoDecode: %2F is kept escaped and forwarded' }),
  spec({ name: 'ProxyAddHeaders', kind: 'bool', default: true, help: 'add X-Forwarded-For, -Proto, -Port and -Host to requests for http/ws nodes (Off: none added, the client\'s own passed as sent; the client address is then not read unless AJP or the access log needs it)' }),
  spec({ name: 'ResponseStatusCodeOnNoContext', kind: 'int', default: 404, min: 100, max: 599, help: 'status when contexts exist but none matches' }),
  spec({ name: 'ModProxyClusterThreadCount', kind: 'int', default: 16, min: 0, max: 1024, help: 'probes run at once (0: one at a time)' }),
  spec({ name: 'StatusProbeReuse', kind: 'int', default: 1000, min: 0, max: 60000, help: "milliseconds a node's successful STATUS probe also answers later STATUS for it, unless the node was put in error since (0: each STATUS probes; concurrent STATUS always share one probe)" }),
  spec({ name: 'PrimaryNice', kind: 'int', default: 10, min: 0, max: 19, help: "how much lower the primary thread (MCMP, probes, status page) runs than the forwarding threads, as a nice increment applied to that thread only (Linux), so an MCMP flood does not slow client traffic (0: same priority; --primary-nice wins)" }),
  spec({ name: 'NodeTimeout', kind: 'int', default: 0, min: 0, max: 86400, help: 'seconds without STATUS before a node is put in error (0: off)' }),
  spec({ name: 'CacheShareFor', kind: 'int', default: 0, min: 0, max: 0, help: 'not needed: threads re-read the tables when a version changes', unsupported: 'forwarding threads rebuild their index on every table change, so there is no cache period to set' }),
  spec({ name: 'ModProxyClusterHCTemplate', kind: 'string', default: '', help: 'health-check template', unsupported: 'mod_proxy_hcheck templates are not implemented; nodes are probed with OPTIONS/CPING' }),
  // mod_ssl, proxy side: https/wss nodes
  spec({ name: 'SSLProxyVerify', kind: 'enum', default: 2, values: { none: 0, require: 2 }, help: "certificates of https/wss nodes: require (verified against Node's CA store and --upstream-ca, SNI = the node's Host) or none" }),
  // mod_advertise (MCMP.md §4, §7.4); AdvertiseInterface and AdvertiseTTL are mcmp-edge's own
  spec({ name: 'ServerAdvertise', kind: 'string', default: 'Off', check: { accepts: 'On, Off or On http[s]://HOST:PORT', test: (t) => readServerAdvertise(t) !== undefined }, help: 'multicast an advertisement so workers without a proxyList find this proxy; the address is what workers are told (default: --manager)' }),
  spec({ name: 'AdvertiseGroup', kind: 'string', default: '224.0.1.105:23364', check: { accepts: 'a multicast group ADDRESS[:PORT] (224.0.0.0/4, or [ff..] for IPv6)', test: (t) => readAdvertiseGroup(t) !== undefined }, help: 'multicast group and port the advertisement is sent to' }),
  spec({ name: 'AdvertiseFrequency', kind: 'string', default: '10', check: { accepts: 'SECONDS[.MS] above 0 (1.5 is 1 s + 5 ms, as in httpd)', test: (t) => readAdvertiseFrequency(t) !== undefined }, help: 'seconds between advertisements' }),
  spec({ name: 'AdvertiseSecurityKey', kind: 'string', default: '', check: { accepts: 'printable ASCII of at most 255 characters', test: (t) => readAdvertiseText(t) !== undefined }, help: 'key of the advertisement digest (workers need the same advertiseSecurityKey)' }),
  spec({ name: 'AdvertiseManagerUrl', kind: 'string', default: '', check: { accepts: 'printable ASCII of at most 255 characters', test: (t) => readAdvertiseText(t) !== undefined }, help: 'X-Manager-Url of the advertisement (none: /<server uuid>)' }),
  spec({ name: 'AdvertiseBindAddress', kind: 'string', default: '0.0.0.0:23364', check: { accepts: 'a local IP ADDRESS[:PORT]', test: (t) => readAdvertiseBindAddress(t) !== undefined }, help: 'local address and port of the sending socket' }),
  spec({ name: 'AdvertiseInterface', kind: 'string', default: '', check: { accepts: 'an IP address or the name of a local interface', test: (t) => readAdvertiseInterface(t) !== undefined }, help: 'interface multicast is sent on (none: the route to the group decides)' }),
  spec({ name: 'AdvertiseTTL', kind: 'int', default: 10, min: 0, max: 255, help: 'multicast hops of the advertisement' }),
  // mcmp-edge's own: the access log (README "Access log"); --access-log and --access-log-format win over them
  spec({ name: 'AccessLog', kind: 'string', default: '', maxLength: 4096, help: 'access log file, or - for standard output (an httpd CustomLog in combined format maps to it)' }),
  spec({ name: 'AccessLogFormat', kind: 'enum', default: 0, values: Object.fromEntries(ACCESS_LOG_FORMATS.map((f, i) => [f, i])), help: 'combined (as httpd and nginx write it) or json (one object per line)' }),
] as const;

type Spec = (typeof DIRECTIVES)[number];
type ValueOf<S extends DirectiveSpec> = S['kind'] extends 'bool' ? boolean : S['kind'] extends 'int' ? number : S['kind'] extends 'enum' ? number : string;

/** Resolved directive values, keyed by canonical name. */
export type Directives = { readonly [S in Spec as S['name']]: ValueOf<S> };

const byLowerName = new Map<string, DirectiveSpec>(
  DIRECTIVES.flatMap((d: DirectiveSpec) => [d.name, ...(d.aliases ?? [])].map((n): [string, DirectiveSpec] => [n.toLowerCase(), d])),
);

export function findDirective(name: string): DirectiveSpec | undefined {
  return byLowerName.get(name.toLowerCase());
}

export class DirectiveError extends Error {
  readonly code = 'ERR_MCMP_EDGE_DIRECTIVE';
  constructor(message: string) {
    super(message);
    this.name = 'DirectiveError';
  }
}

const TRUE_WORDS = new Set(['on', 'yes', 'true', '1']);
const FALSE_WORDS = new Set(['off', 'no', 'false', '0']);

function accepted(d: DirectiveSpec): string {
  switch (d.kind) {
    case 'bool':
      return 'On or Off';
    case 'int':
      return d.min === 0 && d.name === 'MaxMCMPMessSize' ? `0 or an integer ${d.min}..${d.max}` : `an integer ${d.min}..${d.max}`;
    case 'enum':
      return Object.keys(d.values ?? {}).join(', ');
    case 'string':
      if (d.check !== undefined) return d.check.accepts;
      return d.maxLength !== undefined ? `a string of at most ${d.maxLength} characters` : 'a string';
  }
}

/** Parses one directive value; throws DirectiveError naming the directive and the accepted values. */
export function parseDirectiveValue(d: DirectiveSpec, raw: unknown): number | boolean | string {
  if (d.unsupported !== undefined) {
    throw new DirectiveError(`${d.name} is not supported by mcmp-edge: ${d.unsupported}`);
  }
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (d.kind) {
    case 'bool': {
      if (typeof text === 'boolean') return text;
      const w = String(text).toLowerCase();
      if (d.name === 'EnableMCMPReceive' && FALSE_WORDS.has(w)) {
        throw new DirectiveError('EnableMCMPReceive Off is not supported: MCMP is always received on --manager');
      }
      if (TRUE_WORDS.has(w) || w === '') return true; // a bare flag directive means On
      if (FALSE_WORDS.has(w)) return false;
      break;
    }
    case 'int': {
      const n = typeof text === 'number' ? text : /^-?\d+$/.test(String(text)) ? Number(text) : NaN;
      const min = d.min ?? -Infinity;
      const max = d.max ?? Infinity;
      if (Number.isInteger(n) && ((n >= min && n <= max) || (d.name === 'MaxMCMPMessSize' && n === 0))) return n;
      break;
    }
    case 'enum': {
      const v = d.values?.[String(text).toLowerCase()];
      if (v !== undefined) return v;
      break;
    }
    case 'string': {
      // YAML/JSON On/Off arrive as booleans; an advertise row reads them as words.
      const value = typeof text === 'boolean' && d.check !== undefined ? (text ? 'On' : 'Off') : text;
      if (typeof value === 'string' || typeof value === 'number') {
        const s = String(value);
        if ((d.maxLength === undefined || s.length <= d.maxLength) && (d.check === undefined || d.check.test(s))) return s;
      }
      break;
    }
  }
  throw new DirectiveError(`${d.name}: bad value ${quoted(raw)}; expected ${accepted(d)}`);
}

/** A value as an error line shows it: bounded, so a 100 KB value in --config is not a 100 KB line. */
function quoted(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : String(raw);
  return text.length > 80 ? `${text.slice(0, 80)}… (${text.length} characters)` : text;
}

/**
 * Builds the resolved directive set from name→value pairs (names case-insensitive),
 * applying httpd's derived rules (Maxhost ≥ Maxnode, Maxcontext ≥ Maxhost,
 * WSUpgradeHeader switches tunnelling on).
 */
export function resolveDirectives(pairs: Iterable<readonly [string, unknown]>): Directives {
  const values: Record<string, number | boolean | string> = {};
  for (const d of DIRECTIVES) values[d.name] = d.default;
  for (const [name, raw] of pairs) {
    const d = findDirective(name);
    if (d === undefined) {
      throw new DirectiveError(`unknown directive ${quoted(name)}; known: ${DIRECTIVES.map((x) => x.name).join(', ')}`);
    }
    values[d.name] = parseDirectiveValue(d, raw);
  }
  const n = values as Record<string, number>;
  if (n.Maxhost < n.Maxnode) n.Maxhost = n.Maxnode;
  if (n.Maxcontext < n.Maxhost) n.Maxcontext = n.Maxhost;
  const s = values as Record<string, string>;
  s.ManagerBalancerName = s.ManagerBalancerName.toLowerCase();
  if (s.WSUpgradeHeader !== '') (values as Record<string, boolean>).EnableWsTunnel = true;
  return values as unknown as Directives;
}

export const DEFAULT_DIRECTIVES: Directives = resolveDirectives([]);

/** Field capacities of MCMP.md §2.0 (maximum accepted lengths). */
export const FIELD_MAX = {
  jvmRoute: 63,
  balancer: 39,
  domain: 19,
  host: 63,
  port: 6,
  type: 15,
  stickyName: 29,
  alias: 254,
  context: 79,
  upgrade: 15,
  ajpSecret: 63,
  sessionId: 128,
} as const;

/** MCMP.md §1.4: the body limit derived from the table sizes, never below 1024. */
export function maxMcmpBodySize(d: Directives): number {
  if (d.MaxMCMPMessSize > 0) return d.MaxMCMPMessSize;
  const computed = 9 + (FIELD_MAX.jvmRoute + 1) + d.Maxhost * 255 + 7 + d.Maxcontext * 80 + 8;
  return Math.max(1024, computed);
}

/** The version strings of MCMP.md §2.8; the status page title shows the same release. */
export const RELEASE = 'mod_proxy_cluster/2.0.0.Dev';
export const PROTOCOL_VERSION = '0.2.1';

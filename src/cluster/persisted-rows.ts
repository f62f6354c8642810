// What a row read back from a PersistSlots file must satisfy before it may
// enter the tables: the rules CONFIG, ENABLE-APP and the session tracker apply
// to what nodes send (mcmp/fields.ts, FIELD_MAX), plus what a table needs
// (an id inside the table, unique ids, unique names, rows that point at rows
// that exist). A file is written by us, but it may be old, edited, truncated
// by a full disk or crafted; a row that breaks a rule is dropped and named, the
// rest is restored.
import { FIELD_MAX } from '../config/directives';
import type { TableSizes } from '../slots/types';
import { REMOVED_ROUTE, type StateSnapshot } from './state';
import { BALANCER_TEXT_MAX, byteLength, ContextStatus, FlushPackets, isNodePort, NODE_TEXT_MAX, STORED_NODE_TYPES, type BalancerRow, type ContextRow, type HostRow, type NodeRow, type SessionRow } from '../slots/rows';

type FieldType = 'number' | 'string' | 'boolean';

// The type of every field (one source: the row types' fields).
const NODE_FIELDS: Record<keyof NodeRow, FieldType> = {
  id: 'number',
  route: 'string',
  balancer: 'string',
  domain: 'string',
  host: 'string',
  port: 'number',
  type: 'string',
  upgrade: 'string',
  ajpSecret: 'string',
  reversed: 'boolean',
  flushPackets: 'number',
  flushWaitUs: 'number',
  pingUs: 'number',
  ttlUs: 'number',
  timeoutUs: 'number',
  smax: 'number',
  responseFieldSize: 'number',
  removed: 'boolean',
};
const BALANCER_FIELDS: Record<keyof BalancerRow, FieldType> = {
  id: 'number',
  name: 'string',
  stickySession: 'boolean',
  stickySessionCookie: 'string',
  stickySessionPath: 'string',
  stickySessionRemove: 'boolean',
  stickySessionForce: 'boolean',
  waitWorkerUs: 'number',
  maxAttempts: 'number',
};
const HOST_FIELDS: Record<keyof HostRow, FieldType> = { id: 'number', alias: 'string', vhost: 'number', node: 'number' };
const CONTEXT_FIELDS: Record<keyof ContextRow, FieldType> = { id: 'number', path: 'string', vhost: 'number', node: 'number', status: 'number' };
const SESSION_FIELDS: Record<keyof SessionRow | 'updatedAt', FieldType> = { id: 'number', sessionId: 'string', route: 'string', updatedAt: 'number' };

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
/** How much of a bad value a warning quotes. */
const QUOTE_MAX = 40;

/** One dropped row: where it was in the file and why. */
export interface DroppedRow {
  /** `nodes[3]`, `contexts[12]`, … */
  readonly entry: string;
  readonly reason: string;
}

/** How many rows each table holds (the session table: Maxsessionid). */
export interface PersistedSizes extends TableSizes {
  readonly maxSession: number;
}

export interface CheckedSnapshot {
  readonly snapshot: StateSnapshot;
  readonly dropped: DroppedRow[];
}

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value);
}

function isInt32(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
}

/** Durations are stored in microseconds: non-negative, exact. */
function isDuration(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** '' when the text fits, else the reason. */
function tooLong(field: string, value: string, max: number): string {
  const bytes = byteLength(value);
  return bytes > max ? `${field} is ${bytes} bytes, at most ${max} allowed` : '';
}

function textProblems(row: Record<string, unknown>, limits: Record<string, number>): string {
  for (const [field, max] of Object.entries(limits)) {
    const why = tooLong(field, row[field] as string, max);
    if (why !== '') return why;
  }
  return '';
}

/** Copies the listed fields of a raw row, or says which one is missing or of the wrong type. */
function typed(raw: unknown, fields: Record<string, FieldType>): Record<string, unknown> | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a row';
  const row: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(fields)) {
    const v = (raw as Record<string, unknown>)[name];
    if (typeof v !== type) return `${name}: expected a ${type}`;
    row[name] = v;
  }
  return row;
}

function idProblem(id: number, capacity: number, seen: ReadonlyMap<number, string>): string {
  if (!Number.isInteger(id) || id < 0 || id >= capacity) return `id ${id} outside the table (0..${capacity - 1})`;
  const first = seen.get(id);
  return first !== undefined ? `id ${id} already used by ${first}` : '';
}

function nodeProblem(n: NodeRow, balancers: ReadonlySet<string>): string {
  if (n.route === '') return 'empty JVMRoute';
  const text = textProblems(n as unknown as Record<string, unknown>, NODE_TEXT_MAX);
  if (text !== '') return text;
  if (n.host === '') return 'empty Host';
  if (!isNodePort(n.port)) return `Port ${n.port} is not 1..65535`;
  if (!STORED_NODE_TYPES.has(n.type)) return `Type ${quote(n.type)} is not one of ${[...STORED_NODE_TYPES].join(', ')}`;
  if (n.flushPackets !== FlushPackets.Off && n.flushPackets !== FlushPackets.On && n.flushPackets !== FlushPackets.Auto) return `flushPackets ${n.flushPackets} unknown`;
  for (const f of ['flushWaitUs', 'pingUs', 'ttlUs', 'timeoutUs'] as const) {
    if (!isDuration(n[f])) return `${f} ${n[f]} is not a duration`;
  }
  if (!isInt32(n.smax)) return `smax ${n.smax} is not a 32-bit integer`;
  if (!isInt32(n.responseFieldSize) || n.responseFieldSize < 0) return `responseFieldSize ${n.responseFieldSize} out of range`;
  if (!balancers.has(n.balancer)) return `balancer ${quote(n.balancer)} is not in the file`;
  return '';
}

function balancerProblem(b: BalancerRow): string {
  if (b.name === '') return 'empty balancer name';
  const text = textProblems(b as unknown as Record<string, unknown>, BALANCER_TEXT_MAX);
  if (text !== '') return text;
  if (b.name !== b.name.toLowerCase()) return `balancer name ${quote(b.name)} is not lower case`;
  if (!isDuration(b.waitWorkerUs)) return `waitWorkerUs ${b.waitWorkerUs} is not a duration`;
  if (!isInt32(b.maxAttempts)) return `maxAttempts ${b.maxAttempts} is not a 32-bit integer`;
  return '';
}

/** Checks every row of a decoded file; what breaks a rule is left out and listed. */
export function checkSnapshot(tables: Record<string, unknown>, sizes: PersistedSizes): CheckedSnapshot {
  const dropped: DroppedRow[] = [];
  const each = <T>(table: string, fields: Record<string, FieldType>, check: (row: T, entry: string) => string): T[] => {
    const value = tables[table];
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      dropped.push({ entry: table, reason: 'not a list' });
      return [];
    }
    const kept: T[] = [];
    value.forEach((raw: unknown, i) => {
      const entry = `${table}[${i}]`;
      const row = typed(raw, fields);
      const reason = typeof row === 'string' ? row : check(row as T, entry);
      if (reason === '') kept.push(row as T);
      else dropped.push({ entry, reason });
    });
    return kept;
  };

  const balancerIds = new Map<number, string>();
  const balancerNames = new Map<string, string>();
  const balancers = each<BalancerRow>('balancers', BALANCER_FIELDS, (b, entry) => {
    const why = idProblem(b.id, sizes.maxBalancer, balancerIds) || balancerProblem(b);
    if (why !== '') return why;
    const first = balancerNames.get(b.name);
    if (first !== undefined) return `balancer ${quote(b.name)} already defined by ${first}`;
    balancerIds.set(b.id, entry);
    balancerNames.set(b.name, entry);
    return '';
  });

  const nodeIds = new Map<number, string>();
  const routes = new Map<string, string>();
  const names = new Set(balancerNames.keys());
  const nodes = each<NodeRow>('nodes', NODE_FIELDS, (n, entry) => {
    const why = idProblem(n.id, sizes.maxNode, nodeIds) || nodeProblem(n, names);
    if (why !== '') return why;
    // Placeholders of §3.11 all carry the same route.
    const first = n.removed && n.route === REMOVED_ROUTE ? undefined : routes.get(n.route);
    if (first !== undefined) return `JVMRoute ${quote(n.route)} already used by ${first}`;
    nodeIds.set(n.id, entry);
    routes.set(n.route, entry);
    return '';
  });

  const hostIds = new Map<number, string>();
  const vhosts = new Set<string>();
  const aliases = new Map<string, string>();
  const hosts = each<HostRow>('hosts', HOST_FIELDS, (h, entry) => {
    const why =
      idProblem(h.id, sizes.maxHost, hostIds) ||
      (h.alias === '' ? 'empty Alias' : '') ||
      tooLong('alias', h.alias, FIELD_MAX.alias) ||
      (h.alias !== h.alias.toLowerCase() ? `alias ${quote(h.alias)} is not lower case` : '') ||
      (!isInt32(h.vhost) || h.vhost < 1 ? `vhost ${h.vhost} is not a positive integer` : '') ||
      (!nodeIds.has(h.node) ? `node ${h.node} is not in the file` : '');
    if (why !== '') return why;
    const key = `${h.node} ${h.alias}`;
    const first = aliases.get(key);
    if (first !== undefined) return `alias ${quote(h.alias)} of node ${h.node} already defined by ${first}`;
    hostIds.set(h.id, entry);
    aliases.set(key, entry);
    vhosts.add(`${h.node} ${h.vhost}`);
    return '';
  });

  const contextIds = new Map<number, string>();
  const paths = new Map<string, string>();
  const contexts = each<ContextRow>('contexts', CONTEXT_FIELDS, (c, entry) => {
    const why =
      idProblem(c.id, sizes.maxContext, contextIds) ||
      (c.path === '' ? 'empty Context' : '') ||
      tooLong('path', c.path, FIELD_MAX.context) ||
      (c.status !== ContextStatus.Enabled && c.status !== ContextStatus.Disabled && c.status !== ContextStatus.Stopped ? `status ${c.status} unknown` : '') ||
      (!nodeIds.has(c.node) ? `node ${c.node} is not in the file` : '') ||
      (!vhosts.has(`${c.node} ${c.vhost}`) ? `vhost ${c.vhost} of node ${c.node} has no alias in the file` : '');
    if (why !== '') return why;
    const key = `${c.node} ${c.vhost} ${c.path}`;
    const first = paths.get(key);
    if (first !== undefined) return `context ${quote(c.path)} already defined by ${first}`;
    contextIds.set(c.id, entry);
    paths.set(key, entry);
    return '';
  });

  const sessionIds = new Map<number, string>();
  const sessionKeys = new Map<string, string>();
  const sessionCapacity = Math.max(0, sizes.maxSession);
  const sessions = each<SessionRow & { updatedAt: number }>('sessions', SESSION_FIELDS, (s, entry) => {
    const why =
      idProblem(s.id, sessionCapacity, sessionIds) ||
      (s.sessionId === '' ? 'empty session id' : '') ||
      tooLong('sessionId', s.sessionId, FIELD_MAX.sessionId) ||
      tooLong('route', s.route, NODE_TEXT_MAX.route) ||
      (!Number.isFinite(s.updatedAt) ? 'updatedAt is not a time' : '');
    if (why !== '') return why;
    const first = sessionKeys.get(s.sessionId);
    if (first !== undefined) return `session ${quote(s.sessionId)} already defined by ${first}`;
    sessionIds.set(s.id, entry);
    sessionKeys.set(s.sessionId, entry);
    return '';
  });

  return { snapshot: { nodes, balancers, hosts, contexts, sessions }, dropped };
}

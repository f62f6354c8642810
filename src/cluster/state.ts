// The authoritative cluster tables, owned by the primary thread (MCMP.md §3,
// ARCHITECTURE.md). Rows live in fixed-capacity slot tables; every change is
// written through the TablePublisher inside one begin()/commit() batch, so the
// forwarding threads see it before the MCMP reply that caused it is sent.
// What the threads never read (removal timers, idle-probe failures, the
// session-id table) stays here.
import { FIELD_MAX, type Directives } from '../config/directives';
import type { ClusterCounters } from '../slots/counters';
import type { TablePublisher, TableSizes } from '../slots/types';
import { SlotTable } from './slot-table';
import type { BalancerRow, ContextRow, ContextStatus, HostRow, NodeRow, SessionRow } from '../slots/rows';

/** JVMRoute of a node in the placeholder phase of MCMP.md §3.11. */
export const REMOVED_ROUTE = 'REMOVED';

/** Session ids not refreshed for this long are purged (MCMP.md §3.7). */
export const SESSION_MAX_AGE_MS = 300_000;

/** Per-node bookkeeping of the primary (the C node record's runtime fields, §3.2). */
export interface NodeBookkeeping {
  /** ms: last insert/update or removal-phase transition (C `updatetime`). */
  updatedAt: number;
  /** ms at which the row became the `REMOVED` placeholder; undefined before. */
  placeholderSince: number | undefined;
  /** ms of the last STATUS for this node (its registration counts as one). */
  lastStatusAt: number;
  /** NodeTimeout already put this node in error for the current silence. */
  silenceReported: boolean;
  /** ms of the last lbstatus recalculation (C `updatetimelb`). */
  lbUpdatedAt: number;
  /** Bytes read at the last recalculation (C `oldread`). */
  oldRead: bigint;
  /** Consecutive failed idle probes (C `num_failure_idle`). */
  idleFailures: number;
  /** Changes whenever a different node takes the slot, so late probe results can be dropped. */
  generation: number;
}

/** How a node row came to be written: decides what happens to its counters (§2.1 step 8, D11). */
export type NodeWrite = 'update' | 'new' | 'reuse';

export interface ClusterStateOptions {
  directives: Directives;
  publisher: TablePublisher;
  counters: ClusterCounters;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** Everything needed to rebuild the tables (persistence). */
export interface StateSnapshot {
  readonly nodes: NodeRow[];
  readonly balancers: BalancerRow[];
  readonly hosts: HostRow[];
  readonly contexts: ContextRow[];
  readonly sessions: Array<SessionRow & { readonly updatedAt: number }>;
}

export class StateError extends Error {
  readonly code = 'ERR_MCMP_EDGE_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** The upsert key of a context row (MCMP.md §3.5: context, vhost, node). */
function contextKey(c: Pick<ContextRow, 'node' | 'vhost' | 'path'>): string {
  return `${c.node}\u0000${c.vhost}\u0000${c.path}`;
}

export class ClusterState {
  readonly directives: Directives;
  readonly counters: ClusterCounters;
  readonly sizes: TableSizes;
  readonly now: () => number;
  readonly #publisher: TablePublisher;
  readonly #nodes: SlotTable<NodeRow>;
  readonly #balancers: SlotTable<BalancerRow>;
  readonly #hosts: SlotTable<HostRow>;
  readonly #contexts: SlotTable<ContextRow>;
  readonly #sessions: SlotTable<SessionRow>;
  readonly #sessionById = new Map<string, number>();
  readonly #sessionSeen: number[];
  readonly #books: Array<NodeBookkeeping | undefined>;
  readonly #listeners = new Set<() => void>();
  #depth = 0;
  #commits = 0;
  #generation = 0;

  constructor(opts: ClusterStateOptions) {
    const d = opts.directives;
    this.directives = d;
    this.counters = opts.counters;
    this.#publisher = opts.publisher;
    this.now = opts.now ?? Date.now;
    // The capacities of MCMP.md §3.1, exactly as the slot tables are sized
    // (resolveDirectives has already raised Maxhost/Maxcontext).
    const maxNode = d.Maxnode;
    const maxHost = d.Maxhost;
    const maxContext = d.Maxcontext;
    this.sizes = { maxNode, maxHost, maxContext, maxBalancer: maxHost };
    if (opts.counters.maxNode < maxNode || opts.counters.maxContext < maxContext) {
      throw new StateError(`counters sized ${opts.counters.maxNode}/${opts.counters.maxContext} are smaller than the tables ${maxNode}/${maxContext}`);
    }
    this.#nodes = new SlotTable(maxNode);
    this.#balancers = new SlotTable(maxHost);
    this.#hosts = new SlotTable(maxHost);
    this.#contexts = new SlotTable<ContextRow>(maxContext, contextKey);
    this.#sessions = new SlotTable(d.Maxsessionid);
    this.#sessionSeen = new Array<number>(d.Maxsessionid).fill(0);
    this.#books = new Array<NodeBookkeeping | undefined>(maxNode).fill(undefined);
  }

  // ---- batches ----

  /** Runs `fn` inside one publish batch (nested calls join the outer batch). */
  transaction<T>(fn: () => T): T {
    if (this.#depth === 0) this.#publisher.begin();
    this.#depth++;
    try {
      return fn();
    } finally {
      this.#depth--;
      if (this.#depth === 0) {
        // Whatever was written before a throw is published too: state and slots never disagree.
        this.#publisher.commit();
        this.#commits++;
        for (const listener of this.#listeners) listener();
      }
    }
  }

  /** Number of published batches since start. */
  get commits(): number {
    return this.#commits;
  }

  /** Called after every published batch (persistence). Returns the unsubscribe function. */
  onCommit(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- reads ----

  node(id: number): NodeRow | undefined {
    return this.#nodes.get(id);
  }

  nodes(): NodeRow[] {
    return this.#nodes.rows();
  }

  /** The node with this JVMRoute (exact, case-sensitive), lowest slot first. */
  findNode(route: string): NodeRow | undefined {
    return this.#nodes.find((n) => n.route === route);
  }

  findNodeWhere(predicate: (n: NodeRow) => boolean): NodeRow | undefined {
    return this.#nodes.find(predicate);
  }

  freeNodeSlot(): number | undefined {
    return this.#nodes.lowestFree();
  }

  balancers(): BalancerRow[] {
    return this.#balancers.rows();
  }

  findBalancer(name: string): BalancerRow | undefined {
    return this.#balancers.find((b) => b.name === name);
  }

  /** Whether a balancer row with this name exists or could be created. */
  canStoreBalancer(name: string): boolean {
    return this.findBalancer(name) !== undefined || this.#balancers.lowestFree() !== undefined;
  }

  hosts(): HostRow[] {
    return this.#hosts.rows();
  }

  hostsOf(node: number): HostRow[] {
    return this.#hosts.filter((h) => h.node === node);
  }

  /** APP commands look an alias up by (alias, node) only (MCMP.md §3.4). */
  findHost(alias: string, node: number): HostRow | undefined {
    return this.#hosts.find((h) => h.node === node && h.alias === alias);
  }

  /** Highest vhost id used by a node's host rows, 0 when it has none. */
  maxVhost(node: number): number {
    let max = 0;
    for (const h of this.#hosts) if (h.node === node && h.vhost > max) max = h.vhost;
    return max;
  }

  contexts(): ContextRow[] {
    return this.#contexts.rows();
  }

  contextsOf(node: number, vhost?: number): ContextRow[] {
    return this.#contexts.filter((c) => c.node === node && (vhost === undefined || c.vhost === vhost));
  }

  findContext(path: string, vhost: number, node: number): ContextRow | undefined {
    return this.#contexts.getByKey(contextKey({ node, vhost, path }));
  }

  /** The primary's bookkeeping of a used node slot. */
  bookkeeping(node: number): NodeBookkeeping {
    const b = this.#books[node];
    if (b === undefined || this.#nodes.get(node) === undefined) throw new StateError(`node slot ${node} is not in use`);
    return b;
  }

  // ---- writes ----

  /** Creates or replaces the balancer row named `row.name`; undefined when the table is full. */
  putBalancer(row: Omit<BalancerRow, 'id'>): BalancerRow | undefined {
    const id = this.findBalancer(row.name)?.id ?? this.#balancers.lowestFree();
    if (id === undefined) return undefined;
    const stored: BalancerRow = { id, ...row };
    this.transaction(() => {
      this.#balancers.set(stored);
      this.#publisher.balancer(id, stored);
    });
    return stored;
  }

  /**
   * Writes a node row. `new` zeroes the counters (lbfactor 0), `reuse` takes
   * over a removed node's slot (lbfactor -1, decision D11), `update` keeps the
   * statistics; all three reset the removal and idle-probe bookkeeping.
   */
  putNode(row: NodeRow, how: NodeWrite): void {
    const now = this.now();
    this.transaction(() => {
      const previous = this.#books[row.id];
      const fresh = how !== 'update' || previous === undefined || this.#nodes.get(row.id) === undefined;
      if (how === 'new') this.counters.resetNode(row.id, 0);
      if (how === 'reuse') this.counters.resetNode(row.id, -1);
      this.#books[row.id] = {
        updatedAt: now,
        placeholderSince: undefined,
        lastStatusAt: now,
        silenceReported: false,
        lbUpdatedAt: now,
        oldRead: this.counters.read(row.id),
        idleFailures: 0,
        generation: fresh ? ++this.#generation : (previous as NodeBookkeeping).generation,
      };
      this.#nodes.set(row);
      this.#publisher.node(row.id, row);
    });
  }

  /** Marks a node for removal (phase A of MCMP.md §3.11). */
  markRemoved(id: number): void {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.transaction(() => {
      const row: NodeRow = { ...node, removed: true };
      this.#nodes.set(row);
      this.#publisher.node(id, row);
      this.bookkeeping(id).updatedAt = this.now();
    });
  }

  /** Phase B of MCMP.md §3.11: hosts/contexts go, the row is renamed `REMOVED`, Domain cleared. */
  toPlaceholder(id: number): void {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.transaction(() => {
      this.deleteHostsAndContexts(id);
      const row: NodeRow = { ...node, route: REMOVED_ROUTE, domain: '', removed: true };
      this.#nodes.set(row);
      this.#publisher.node(id, row);
      const now = this.now();
      const book = this.bookkeeping(id);
      book.updatedAt = now;
      book.placeholderSince = now;
    });
  }

  /** Frees a node slot and everything that hangs off it. */
  deleteNode(id: number): void {
    if (this.#nodes.get(id) === undefined) return;
    this.transaction(() => {
      this.deleteHostsAndContexts(id);
      this.#nodes.delete(id);
      this.#books[id] = undefined;
      this.#publisher.node(id, undefined);
    });
  }

  /** Upserts host row (alias, vhost, node); undefined when the table is full. */
  putHost(alias: string, vhost: number, node: number): HostRow | undefined {
    const existing = this.#hosts.find((h) => h.node === node && h.vhost === vhost && h.alias === alias);
    if (existing !== undefined) return existing;
    const id = this.#hosts.lowestFree();
    if (id === undefined) return undefined;
    const row: HostRow = { id, alias, vhost, node };
    this.transaction(() => {
      this.#hosts.set(row);
      this.#publisher.host(id, row);
    });
    return row;
  }

  deleteHost(id: number): void {
    if (this.#hosts.get(id) === undefined) return;
    this.transaction(() => {
      this.#hosts.delete(id);
      this.#publisher.host(id, undefined);
    });
  }

  /**
   * Upserts context row (path, vhost, node) with `status`; a new row starts
   * with no request counted. Undefined when the table is full.
   */
  putContext(path: string, vhost: number, node: number, status: ContextStatus): ContextRow | undefined {
    const existing = this.findContext(path, vhost, node);
    if (existing !== undefined && existing.status === status) return existing;
    const id = existing?.id ?? this.#contexts.lowestFree();
    if (id === undefined) return undefined;
    const row: ContextRow = { id, path, vhost, node, status };
    this.transaction(() => {
      if (existing === undefined) this.counters.resetContext(id);
      this.#contexts.set(row);
      this.#publisher.context(id, row);
    });
    return row;
  }

  deleteContext(id: number): void {
    if (this.#contexts.get(id) === undefined) return;
    this.transaction(() => {
      this.#contexts.delete(id);
      this.#publisher.context(id, undefined);
    });
  }

  /** Deletes every host and context row of a node. */
  deleteHostsAndContexts(node: number): void {
    this.transaction(() => {
      for (const h of this.hostsOf(node)) this.deleteHost(h.id);
      for (const c of this.contextsOf(node)) this.deleteContext(c.id);
    });
  }

  // ---- session ids (Maxsessionid > 0; display only, never published) ----

  get sessionTableEnabled(): boolean {
    return this.#sessions.capacity > 0;
  }

  /**
   * Records that `sessionId` belongs to `route` (forwarding threads report the
   * ids they see). `replaces` is the id the request carried when the back end
   * issued a new one: it is dropped (decision D9). Ignored when the table is
   * disabled or full.
   */
  recordSession(sessionId: string, route: string, replaces?: string): void {
    if (!this.sessionTableEnabled || sessionId === '') return;
    // Stored ids are at most 128 characters (MCMP.md §2.0); longer ones are keyed by that prefix.
    const key = sessionId.slice(0, FIELD_MAX.sessionId);
    if (replaces !== undefined) {
      const old = replaces.slice(0, FIELD_MAX.sessionId);
      if (old !== key) this.#dropSession(old);
    }
    const id = this.#sessionById.get(key) ?? this.#sessions.lowestFree();
    if (id === undefined) return;
    this.#sessions.set({ id, sessionId: key, route });
    this.#sessionById.set(key, id);
    this.#sessionSeen[id] = this.now();
  }

  sessions(): SessionRow[] {
    return this.#sessions.rows();
  }

  sessionCount(route: string): number {
    let n = 0;
    for (const s of this.#sessions) if (s.route === route) n++;
    return n;
  }

  /** Drops session ids not refreshed within `maxAgeMs`; returns how many went. */
  purgeSessions(maxAgeMs: number = SESSION_MAX_AGE_MS): number {
    const limit = this.now() - maxAgeMs;
    let purged = 0;
    for (const s of this.#sessions.rows()) {
      if ((this.#sessionSeen[s.id] ?? 0) < limit) {
        this.#dropSession(s.sessionId);
        purged++;
      }
    }
    return purged;
  }

  #dropSession(sessionId: string): void {
    const id = this.#sessionById.get(sessionId);
    if (id === undefined) return;
    this.#sessionById.delete(sessionId);
    this.#sessions.delete(id);
  }

  // ---- persistence ----

  snapshot(): StateSnapshot {
    return {
      nodes: this.nodes(),
      balancers: this.balancers(),
      hosts: this.hosts(),
      contexts: this.contexts(),
      sessions: this.#sessions.rows().map((s) => ({ ...s, updatedAt: this.#sessionSeen[s.id] ?? 0 })),
    };
  }

  /**
   * Loads saved rows into empty tables and publishes them. Rows that do not
   * fit the current capacities are skipped (the directives may have shrunk);
   * returns how many were skipped. Restored nodes count as re-used workers:
   * unusable until their first STATUS (D11).
   */
  restore(saved: StateSnapshot): number {
    if (this.#nodes.size + this.#balancers.size + this.#hosts.size + this.#contexts.size > 0) {
      throw new StateError('restore needs empty tables');
    }
    let skipped = 0;
    const fits = (id: number, capacity: number): boolean => {
      const ok = Number.isInteger(id) && id >= 0 && id < capacity;
      if (!ok) skipped++;
      return ok;
    };
    this.transaction(() => {
      for (const b of saved.balancers) {
        if (!fits(b.id, this.sizes.maxBalancer)) continue;
        this.#balancers.set(b);
        this.#publisher.balancer(b.id, b);
      }
      const nodeIds = new Set<number>();
      for (const n of saved.nodes) {
        if (!fits(n.id, this.sizes.maxNode)) continue;
        this.putNode(n, 'reuse');
        nodeIds.add(n.id);
      }
      for (const h of saved.hosts) {
        if (!fits(h.id, this.sizes.maxHost) || !nodeIds.has(h.node)) continue;
        this.#hosts.set(h);
        this.#publisher.host(h.id, h);
      }
      for (const c of saved.contexts) {
        if (!fits(c.id, this.sizes.maxContext) || !nodeIds.has(c.node)) continue;
        this.counters.resetContext(c.id);
        this.#contexts.set(c);
        this.#publisher.context(c.id, c);
      }
    });
    for (const s of saved.sessions) {
      if (!fits(s.id, this.#sessions.capacity)) continue;
      this.#sessions.set({ id: s.id, sessionId: s.sessionId, route: s.route });
      this.#sessionById.set(s.sessionId, s.id);
      this.#sessionSeen[s.id] = s.updatedAt;
    }
    return skipped;
  }
}

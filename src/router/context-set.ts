// Contexts grouped by path, for the longest-match rule of MCMP.md §5.4
// steps 5–7. A request path only has a handful of prefixes that can match (the
// whole path, each prefix ending before a '/', and the 1-character prefix), and
// only the lengths some context actually has are probed, so a lookup costs one
// or two Map gets.
import type { BalancerRow, ContextRow, NodeRow } from '../slots/rows';

/** A balancer as the router uses it (§5.2 steady-state sticky rule). */
export interface BalancerEntry {
  readonly row: BalancerRow;
  /** Lower-case name: node rows name their balancer case-insensitively. */
  readonly key: string;
  /** StickySession on and both sticky names set (§5.2, §5.3). */
  readonly sticky: boolean;
  readonly force: boolean;
  readonly removeOnFailover: boolean;
  /** Index of this balancer's (cookie, path) name pair; sessions are looked up once per pair. -1 when not sticky. */
  readonly namesSlot: number;
  /** Workers: the balancer's nodes not marked removed, in slot order (tie-break order). */
  readonly workers: readonly NodeRow[];
  /** Workers by JVMRoute, slot order, for the sticky scan (§5.6 step 1). */
  readonly workersByRoute: ReadonlyMap<string, readonly NodeRow[]>;
  /** First node of the table with this route and balancer, removed or not (§5.5 step 1). */
  readonly nodeByRoute: ReadonlyMap<string, NodeRow>;
}

export interface ContextEntry {
  readonly row: ContextRow;
  readonly node: NodeRow;
  /** The node's balancer; undefined when it has no balancer row (never chosen then). */
  readonly balancer: BalancerEntry | undefined;
}

export class ContextSet {
  readonly #byPath = new Map<string, ContextEntry[]>();
  /** Distinct path lengths, longest first. */
  #lengths: number[] = [];
  #size = 0;

  /** Entries must be added in context slot order: candidate order follows it. */
  add(entry: ContextEntry): void {
    const path = entry.row.path;
    // An empty path never matches in C (the longest match must be ≥ 1).
    if (path.length === 0) return;
    const group = this.#byPath.get(path);
    if (group === undefined) {
      this.#byPath.set(path, [entry]);
      if (!this.#lengths.includes(path.length)) {
        this.#lengths.push(path.length);
        this.#lengths.sort((a, b) => b - a);
      }
    } else {
      group.push(entry);
    }
    this.#size++;
  }

  /** Number of contexts (the has_contexts test of §5.4 step 4). */
  get size(): number {
    return this.#size;
  }

  /**
   * The contexts of maximal matching length for decoded path `u`, whatever
   * their state (§5.4 step 6 filters the state afterwards; there is no
   * fallback to a shorter context).
   */
  longestMatch(u: string): readonly ContextEntry[] | undefined {
    const lengths = this.#lengths;
    const ulen = u.length;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i] as number;
      if (len > ulen) continue;
      if (len === ulen) {
        const group = this.#byPath.get(u);
        if (group !== undefined) return group;
      } else if (len === 1 || u.charCodeAt(len) === 0x2f /* / */) {
        const group = this.#byPath.get(u.slice(0, len));
        if (group !== undefined) return group;
      }
    }
    return undefined;
  }
}

/** The contexts visible for one Host (or for every Host when UseAlias is off). */
export class ContextScope {
  readonly all = new ContextSet();
  readonly #byBalancer = new Map<string, ContextSet>();

  add(entry: ContextEntry): void {
    this.all.add(entry);
    const key = entry.node.balancer.toLowerCase();
    let set = this.#byBalancer.get(key);
    if (set === undefined) {
      set = new ContextSet();
      this.#byBalancer.set(key, set);
    }
    set.add(entry);
  }

  /** §5.4 step 3: the contexts of nodes of balancer `key` (lower case). */
  ofBalancer(key: string): ContextSet | undefined {
    return this.#byBalancer.get(key);
  }
}

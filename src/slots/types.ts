// The contract between the primary (single writer of the cluster tables) and
// the forwarding threads (readers). The SharedArrayBuffer implementation is in
// ./tables.ts; the byte layout it uses lives only in ./layout.ts.
import type { BalancerRow, ContextRow, HostRow, NodeRow } from './rows';

/** Capacities of the tables, from Maxnode/Maxhost/Maxcontext (MCMP.md §3.1). */
export interface TableSizes {
  readonly maxNode: number;
  readonly maxHost: number;
  readonly maxContext: number;
  /** The balancer table has Maxhost rows. */
  readonly maxBalancer: number;
}

/**
 * What the primary calls to publish a change. Every MCMP command that changes
 * the tables runs `begin()`, the row writes, then `commit()` before its reply is
 * sent, so a reply means every thread routes accordingly from its next request
 * on (MCMP.md §3.9).
 */
export interface TablePublisher {
  begin(): void;
  /** Writes (row) or frees (undefined) one slot. */
  node(id: number, row: NodeRow | undefined): void;
  balancer(id: number, row: BalancerRow | undefined): void;
  host(id: number, row: HostRow | undefined): void;
  context(id: number, row: ContextRow | undefined): void;
  /** Publishes the batch: bumps the version readers poll. */
  commit(): void;
}

/** A consistent copy of every used slot, indexed by slot id (holes are undefined). */
export interface TablesSnapshot {
  readonly version: number;
  readonly nodes: ReadonlyArray<NodeRow | undefined>;
  readonly balancers: ReadonlyArray<BalancerRow | undefined>;
  readonly hosts: ReadonlyArray<HostRow | undefined>;
  readonly contexts: ReadonlyArray<ContextRow | undefined>;
}

/** What a forwarding thread uses: one Atomics.load per request, a full read only on change. */
export interface TablesReader {
  /** The published version; even when stable. */
  version(): number;
  /** A consistent snapshot of all tables (retries while the primary is writing). */
  snapshot(): TablesSnapshot;
}

// A forwarding thread's view of the cluster tables: one Atomics.load of the
// version per request, and a rebuild of the routing index only when the
// primary published a change (ARCHITECTURE.md "Consistency").
import { RoutingIndex, type RoutingOptions } from '../router/index';
import type { TablesReader, TablesSnapshot } from '../slots/types';

export class RoutingView {
  readonly #reader: TablesReader;
  #options: RoutingOptions;
  readonly #onRebuild: (snapshot: TablesSnapshot) => void;
  #index: RoutingIndex;
  #version: number;

  /** `onRebuild` runs after each rebuild (the thread drops pools of nodes that are gone). */
  constructor(reader: TablesReader, options: RoutingOptions, onRebuild: (snapshot: TablesSnapshot) => void) {
    this.#reader = reader;
    this.#options = options;
    this.#onRebuild = onRebuild;
    const snapshot = reader.snapshot();
    this.#index = RoutingIndex.build(snapshot, options);
    this.#version = snapshot.version;
  }

  /** New routing options (SIGHUP reload): the index is rebuilt for the next request. */
  setOptions(options: RoutingOptions): void {
    this.#options = options;
    this.#version = Number.NaN;
  }

  /** The index for the tables as published now. */
  current(): RoutingIndex {
    if (this.#reader.version() !== this.#version) this.#rebuild();
    return this.#index;
  }

  #rebuild(): void {
    const snapshot = this.#reader.snapshot();
    this.#index = RoutingIndex.build(snapshot, this.#options);
    // The snapshot's own version: a change published between version() and
    // snapshot() is then seen on the next request instead of being skipped.
    this.#version = snapshot.version;
    this.#onRebuild(snapshot);
  }
}

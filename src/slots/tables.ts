// The cluster tables in a SharedArrayBuffer: the primary publishes rows
// (single writer), forwarding threads take consistent snapshots. Two levels of
// sequence words: one per record, so no reader ever keeps a torn record, and a
// global version that is odd while a batch (one MCMP command) is being written,
// so a snapshot never mixes two commands.
import type { BalancerRow, ContextRow, HostRow, NodeRow } from './rows';
import {
  Header,
  LAYOUT_VERSION,
  MAGIC,
  SEQ_OFFSET,
  TABLE_VERSION_WORD,
  USED_OFFSET,
  bufferLayout,
  decodeRecord,
  encodeRecord,
  recordOffset,
  type BufferLayout,
  type TableName,
  type TableRegion,
} from './layout';
import type { TablePublisher, TableSizes, TablesReader, TablesSnapshot } from './types';

export class SlotLayoutError extends Error {
  readonly code = 'ERR_MCMP_EDGE_SLOT_LAYOUT';
  constructor(message: string) {
    super(message);
    this.name = 'SlotLayoutError';
  }
}

export class SlotWriteError extends Error {
  readonly code = 'ERR_MCMP_EDGE_SLOT_WRITE';
  constructor(message: string) {
    super(message);
    this.name = 'SlotWriteError';
  }
}

/** How long a reader waits for the primary to finish a batch before it tries again (ms). */
const READER_BACKOFF_MS = 0.05;
const MAX_SNAPSHOT_TRIES = 10_000;

class Views {
  readonly words: Int32Array;
  readonly view: DataView;
  readonly bytes: Buffer;
  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.view = new DataView(buffer);
    this.bytes = Buffer.from(buffer);
  }
}

class SlotPublisher implements TablePublisher {
  readonly #v: Views;
  readonly #layout: BufferLayout;
  readonly #touched = new Set<TableName>();
  #open = false;

  constructor(v: Views, layout: BufferLayout) {
    this.#v = v;
    this.#layout = layout;
  }

  begin(): void {
    if (this.#open) throw new SlotWriteError('begin() inside an open batch');
    this.#open = true;
    Atomics.add(this.#v.words, Header.Version, 1); // odd: writing
  }

  node(id: number, row: NodeRow | undefined): void {
    this.#write('nodes', id, row);
  }

  balancer(id: number, row: BalancerRow | undefined): void {
    this.#write('balancers', id, row);
  }

  host(id: number, row: HostRow | undefined): void {
    this.#write('hosts', id, row);
  }

  context(id: number, row: ContextRow | undefined): void {
    this.#write('contexts', id, row);
  }

  commit(): void {
    if (!this.#open) throw new SlotWriteError('commit() without begin()');
    for (const t of this.#touched) Atomics.add(this.#v.words, TABLE_VERSION_WORD[t], 1);
    this.#touched.clear();
    this.#open = false;
    Atomics.add(this.#v.words, Header.Version, 1); // even: stable
  }

  #write(name: TableName, id: number, row: object | undefined): void {
    if (!this.#open) throw new SlotWriteError(`${name} slot ${id} written outside begin()/commit()`);
    const table = this.#layout.tables[name];
    const at = recordOffset(table, id);
    const seqIndex = (at + SEQ_OFFSET) >> 2;
    const words = this.#v.words;
    Atomics.add(words, seqIndex, 1); // odd: record being written
    try {
      if (row === undefined) {
        Atomics.store(words, (at + USED_OFFSET) >> 2, 0);
      } else {
        encodeRecord(this.#v.view, this.#v.bytes, at, table.layout, row);
        Atomics.store(words, (at + USED_OFFSET) >> 2, 1);
      }
    } finally {
      Atomics.add(words, seqIndex, 1);
    }
    this.#touched.add(name);
  }
}

class SlotReader implements TablesReader {
  readonly #v: Views;
  readonly #layout: BufferLayout;
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(v: Views, layout: BufferLayout) {
    this.#v = v;
    this.#layout = layout;
  }

  version(): number {
    return Atomics.load(this.#v.words, Header.Version);
  }

  /** Per-table change counters, for readers that rebuild only what changed. */
  tableVersion(name: TableName): number {
    return Atomics.load(this.#v.words, TABLE_VERSION_WORD[name]);
  }

  snapshot(): TablesSnapshot {
    const words = this.#v.words;
    for (let attempt = 0; attempt < MAX_SNAPSHOT_TRIES; attempt++) {
      const before = Atomics.load(words, Header.Version);
      if ((before & 1) === 0) {
        const tables = this.#layout.tables;
        const nodes = this.#readTable<NodeRow>(tables.nodes);
        const balancers = this.#readTable<BalancerRow>(tables.balancers);
        const hosts = this.#readTable<HostRow>(tables.hosts);
        const contexts = this.#readTable<ContextRow>(tables.contexts);
        if (Atomics.load(words, Header.Version) === before) {
          return { version: before, nodes, balancers, hosts, contexts };
        }
      }
      // The primary is inside a batch; batches take microseconds.
      Atomics.wait(this.#sleeper, 0, 0, READER_BACKOFF_MS);
    }
    throw new SlotLayoutError('no consistent snapshot: the primary kept writing');
  }

  #readTable<T>(table: TableRegion): Array<T | undefined> {
    const out = new Array<T | undefined>(table.capacity);
    for (let id = 0; id < table.capacity; id++) out[id] = this.#readRecord<T>(table, id);
    return out;
  }

  #readRecord<T>(table: TableRegion, id: number): T | undefined {
    const at = table.base + id * table.layout.size;
    const words = this.#v.words;
    const seqIndex = (at + SEQ_OFFSET) >> 2;
    for (;;) {
      const s1 = Atomics.load(words, seqIndex);
      if ((s1 & 1) !== 0) continue;
      const used = Atomics.load(words, (at + USED_OFFSET) >> 2) !== 0;
      const row = used ? decodeRecord<T>(this.#v.view, this.#v.bytes, at, table.layout) : undefined;
      if (Atomics.load(words, seqIndex) === s1) return row;
    }
  }
}

export class SlotTables {
  readonly buffer: SharedArrayBuffer;
  readonly sizes: TableSizes;
  readonly layout: BufferLayout;
  readonly reader: SlotReader;
  readonly #views: Views;
  #publisher: SlotPublisher | undefined;

  private constructor(buffer: SharedArrayBuffer, layout: BufferLayout) {
    this.buffer = buffer;
    this.layout = layout;
    this.sizes = layout.sizes;
    this.#views = new Views(buffer);
    this.reader = new SlotReader(this.#views, layout);
  }

  /** The primary creates the buffer; it is the only holder of the publisher. */
  static create(sizes: TableSizes): SlotTables {
    const layout = bufferLayout(sizes);
    const buffer = new SharedArrayBuffer(layout.byteLength);
    const words = new Int32Array(buffer);
    words[Header.Magic] = MAGIC;
    words[Header.LayoutVersion] = LAYOUT_VERSION;
    words[Header.MaxNode] = sizes.maxNode;
    words[Header.MaxHost] = sizes.maxHost;
    words[Header.MaxContext] = sizes.maxContext;
    words[Header.MaxBalancer] = sizes.maxBalancer;
    const tables = new SlotTables(buffer, layout);
    tables.#publisher = new SlotPublisher(tables.#views, layout);
    return tables;
  }

  /** A forwarding thread attaches to the primary's buffer: read-only by convention. */
  static attach(buffer: SharedArrayBuffer): SlotTables {
    const words = new Int32Array(buffer);
    if (words[Header.Magic] !== MAGIC || words[Header.LayoutVersion] !== LAYOUT_VERSION) {
      throw new SlotLayoutError('buffer is not an mcmp-edge slot table of this layout version');
    }
    const sizes: TableSizes = {
      maxNode: words[Header.MaxNode] ?? 0,
      maxHost: words[Header.MaxHost] ?? 0,
      maxContext: words[Header.MaxContext] ?? 0,
      maxBalancer: words[Header.MaxBalancer] ?? 0,
    };
    const layout = bufferLayout(sizes);
    if (layout.byteLength !== buffer.byteLength) throw new SlotLayoutError('buffer size does not match its header');
    return new SlotTables(buffer, layout);
  }

  get publisher(): TablePublisher {
    if (this.#publisher === undefined) throw new SlotWriteError('only the primary that created the tables may publish');
    return this.#publisher;
  }
}

/** Table sizes from the directives (MCMP.md §3.1: balancers have Maxhost rows). */
export function tableSizes(d: { Maxnode: number; Maxhost: number; Maxcontext: number }): TableSizes {
  return { maxNode: d.Maxnode, maxHost: d.Maxhost, maxContext: d.Maxcontext, maxBalancer: d.Maxhost };
}

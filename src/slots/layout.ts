// The byte layout of the cluster tables in the SharedArrayBuffer: the only
// module that knows offsets. Like httpd's slot memory, every table is a fixed
// number of fixed-size records; every record starts with a sequence word
// (seqlock: odd while the primary writes it) and a used flag.
//
//   header  | nodes[maxNode] | balancers[maxBalancer] | hosts[maxHost] | contexts[maxContext]
//
// Strings are stored as UTF-8 with a 16-bit length; capacities are three bytes
// per character of the MCMP.md §2.0 limits so any accepted value fits.
import { FIELD_MAX } from '../config/directives';
import type { TableSizes } from './types';

export const MAGIC = 0x4d434d50; // "MCMP"
export const LAYOUT_VERSION = 1;

/** Header words (Int32 indexes). */
export const Header = {
  Magic: 0,
  LayoutVersion: 1,
  MaxNode: 2,
  MaxHost: 3,
  MaxContext: 4,
  MaxBalancer: 5,
  /** Global sequence: odd while a batch is being published; readers poll it. */
  Version: 6,
  /** Per-table change counters, bumped by the batch that touched the table. */
  NodesVersion: 7,
  BalancersVersion: 8,
  HostsVersion: 9,
  ContextsVersion: 10,
  Words: 16,
} as const;

export type TableName = 'nodes' | 'balancers' | 'hosts' | 'contexts';

export const TABLE_VERSION_WORD: Readonly<Record<TableName, number>> = {
  nodes: Header.NodesVersion,
  balancers: Header.BalancersVersion,
  hosts: Header.HostsVersion,
  contexts: Header.ContextsVersion,
};

type FieldKind = 'i32' | 'f64' | 'bool' | 'str';

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** For 'str': maximum characters. */
  readonly maxChars?: number;
}

export interface Field extends FieldSpec {
  /** Byte offset inside the record. */
  readonly offset: number;
  /** Bytes the field occupies. */
  readonly size: number;
}

export interface RecordLayout {
  readonly fields: readonly Field[];
  /** Record size in bytes, a multiple of 8. */
  readonly size: number;
}

/** Offsets of the two words every record starts with. */
export const SEQ_OFFSET = 0;
export const USED_OFFSET = 4;
const RECORD_HEAD = 8;

const str = (name: string, maxChars: number): FieldSpec => ({ name, kind: 'str', maxChars });
const i32 = (name: string): FieldSpec => ({ name, kind: 'i32' });
const f64 = (name: string): FieldSpec => ({ name, kind: 'f64' });
const bool = (name: string): FieldSpec => ({ name, kind: 'bool' });

function layout(specs: readonly FieldSpec[]): RecordLayout {
  // f64 first so they are 8-byte aligned, then i32/bool, then strings.
  const order: FieldKind[] = ['f64', 'i32', 'bool', 'str'];
  const sorted = [...specs].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  let offset = RECORD_HEAD;
  const fields: Field[] = [];
  for (const s of sorted) {
    const size = s.kind === 'f64' ? 8 : s.kind === 'str' ? 2 + 3 * (s.maxChars ?? 0) : 4;
    fields.push({ ...s, offset, size });
    offset += size;
  }
  return { fields, size: Math.ceil(offset / 8) * 8 };
}

// Field names are the property names of the row types in src/slots/rows.ts.
export const NODE_LAYOUT = layout([
  i32('id'),
  str('route', FIELD_MAX.jvmRoute),
  str('balancer', FIELD_MAX.balancer),
  str('domain', FIELD_MAX.domain),
  str('host', FIELD_MAX.host),
  i32('port'),
  str('type', FIELD_MAX.type),
  str('upgrade', FIELD_MAX.upgrade),
  str('ajpSecret', FIELD_MAX.ajpSecret),
  bool('reversed'),
  i32('flushPackets'),
  f64('flushWaitUs'),
  f64('pingUs'),
  f64('ttlUs'),
  f64('timeoutUs'),
  i32('smax'),
  i32('responseFieldSize'),
  bool('removed'),
]);

export const BALANCER_LAYOUT = layout([
  i32('id'),
  str('name', FIELD_MAX.balancer),
  bool('stickySession'),
  str('stickySessionCookie', FIELD_MAX.stickyName),
  str('stickySessionPath', FIELD_MAX.stickyName),
  bool('stickySessionRemove'),
  bool('stickySessionForce'),
  f64('waitWorkerUs'),
  i32('maxAttempts'),
]);

export const HOST_LAYOUT = layout([i32('id'), str('alias', FIELD_MAX.alias + 1), i32('vhost'), i32('node')]);

export const CONTEXT_LAYOUT = layout([i32('id'), str('path', FIELD_MAX.context + 1), i32('vhost'), i32('node'), i32('status')]);

export const RECORD_LAYOUTS: Readonly<Record<TableName, RecordLayout>> = {
  nodes: NODE_LAYOUT,
  balancers: BALANCER_LAYOUT,
  hosts: HOST_LAYOUT,
  contexts: CONTEXT_LAYOUT,
};

export interface TableRegion {
  readonly name: TableName;
  readonly layout: RecordLayout;
  readonly capacity: number;
  /** Byte offset of record 0. */
  readonly base: number;
}

export interface BufferLayout {
  readonly sizes: TableSizes;
  readonly tables: Readonly<Record<TableName, TableRegion>>;
  readonly byteLength: number;
}

export function bufferLayout(sizes: TableSizes): BufferLayout {
  let offset = Header.Words * 4;
  const region = (name: TableName, capacity: number): TableRegion => {
    const r: TableRegion = { name, layout: RECORD_LAYOUTS[name], capacity, base: offset };
    offset += RECORD_LAYOUTS[name].size * capacity;
    return r;
  };
  const tables = {
    nodes: region('nodes', sizes.maxNode),
    balancers: region('balancers', sizes.maxBalancer),
    hosts: region('hosts', sizes.maxHost),
    contexts: region('contexts', sizes.maxContext),
  };
  return { sizes, tables, byteLength: offset };
}

/** Byte offset of record `id` of a table. */
export function recordOffset(table: TableRegion, id: number): number {
  if (!Number.isInteger(id) || id < 0 || id >= table.capacity) {
    throw new RangeError(`${table.name} slot ${id} outside 0..${table.capacity - 1}`);
  }
  return table.base + id * table.layout.size;
}

/**
 * Writes a row's fields into the record at byte offset `at` (not the seq/used
 * words). The caller holds the record's seqlock.
 */
export function encodeRecord(view: DataView, bytes: Buffer, at: number, layout: RecordLayout, row: object): void {
  const values = row as Record<string, unknown>;
  for (const f of layout.fields) {
    const v = values[f.name];
    const o = at + f.offset;
    switch (f.kind) {
      case 'i32':
        view.setInt32(o, Number(v), true);
        break;
      case 'f64':
        view.setFloat64(o, Number(v), true);
        break;
      case 'bool':
        view.setInt32(o, v === true ? 1 : 0, true);
        break;
      case 'str': {
        const text = typeof v === 'string' ? v : String(v ?? '');
        const max = f.size - 2;
        const len = bytes.write(text, o + 2, max, 'utf8');
        if (Buffer.byteLength(text, 'utf8') > max) {
          throw new RangeError(`${f.name} does not fit its slot (${max} bytes)`);
        }
        view.setUint16(o, len, true);
        break;
      }
    }
  }
}

/** Reads the fields of the record at byte offset `at` into a plain object. */
export function decodeRecord<T>(view: DataView, bytes: Buffer, at: number, layout: RecordLayout): T {
  const out: Record<string, unknown> = {};
  for (const f of layout.fields) {
    const o = at + f.offset;
    switch (f.kind) {
      case 'i32':
        out[f.name] = view.getInt32(o, true);
        break;
      case 'f64':
        out[f.name] = view.getFloat64(o, true);
        break;
      case 'bool':
        out[f.name] = view.getInt32(o, true) !== 0;
        break;
      case 'str': {
        const len = Math.min(view.getUint16(o, true), f.size - 2);
        out[f.name] = bytes.toString('utf8', o + 2, o + 2 + len);
        break;
      }
    }
  }
  return out as T;
}

// ---- traffic counters (metrics) ----
// A region after the cluster counters: per node slot (plus one row for
// requests no node served), per context row and per forwarding thread. Every
// counter is 64 bits kept as two Uint32 words (low, high) so that the hot path
// adds with Atomics on plain numbers and never allocates a BigInt.

/** Upper bounds of the latency histogram buckets, in microseconds (the last bucket is +Inf). */
export const LATENCY_BUCKETS_US: readonly number[] = [
  1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];
const HISTOGRAM_COUNTERS = LATENCY_BUCKETS_US.length + 1 + 1; // buckets, +Inf, sum (µs); the count is the sum of the buckets

/** Status classes counted per node and per context: 0 = no status was sent (the client went away), 1..5 = 1xx..5xx. */
export const STATUS_CLASSES = 6;

/** Counter indexes inside one node's traffic row. */
export const NodeTraffic = {
  /** STATUS_CLASSES counters, by status class. */
  Requests: 0,
  ConnectErrors: STATUS_CLASSES,
  ReadErrors: STATUS_CLASSES + 1,
  Timeouts: STATUS_CLASSES + 2,
  /** Requests that left this node for another after a connection failure. */
  Failovers: STATUS_CLASSES + 3,
  /** Requests sent again on a new connection after a stale kept-alive one (h1 and AJP clients). */
  Retries: STATUS_CLASSES + 4,
  /** Time to the first byte of the response head: buckets, +Inf, sum. */
  Ttfb: STATUS_CLASSES + 5,
  /** Time until the exchange was over. */
  Total: STATUS_CLASSES + 5 + HISTOGRAM_COUNTERS,
  Counters: STATUS_CLASSES + 5 + 2 * HISTOGRAM_COUNTERS,
} as const;

/** Where the sum sits in a histogram (after the buckets and +Inf). */
export const HISTOGRAM_SUM = LATENCY_BUCKETS_US.length + 1;

/** Forwarding threads the region has room for (--threads accepts 1..256). */
export const MAX_THREADS = 256;

export interface TrafficLayout {
  /** Uint32 word index of node row n (n = maxNode: requests no node served). */
  readonly nodeBase: number;
  readonly contextBase: number;
  /** Int32 word index of the per-thread event-loop utilisation (parts per million). */
  readonly threadBase: number;
  /** Uint32 words of the region. */
  readonly words: number;
}

export function trafficLayout(maxNode: number, maxContext: number): TrafficLayout {
  const nodeBase = 0;
  const contextBase = nodeBase + (maxNode + 1) * NodeTraffic.Counters * 2;
  const threadBase = contextBase + maxContext * STATUS_CLASSES * 2;
  return { nodeBase, contextBase, threadBase, words: threadBase + MAX_THREADS };
}

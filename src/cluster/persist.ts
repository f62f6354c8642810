// PersistSlots (MCMP.md §3.1): the tables survive a restart. After every
// published change a snapshot is written with msgpackr to a temporary file and
// renamed over the previous one, so a crash leaves either the old or the new
// file, never half of one. At start the file is loaded before any MCMP traffic.
// Restored nodes count as re-used workers (lbfactor -1, decision D11): they
// take traffic again after their first STATUS, as after an httpd restart.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Packr } from 'msgpackr';
import type { Directives } from '../config/directives';
import type { Logger } from '../log';
import type { ClusterState, StateSnapshot } from './state';
import type { BalancerRow, ContextRow, HostRow, NodeRow, SessionRow } from './types';

export const PERSIST_FILE = 'mcmp-edge.tables.msgpack';
const FORMAT = 'mcmp-edge-tables';
const FORMAT_VERSION = 1;
const DEFAULT_DEBOUNCE_MS = 50;

/** Where the tables are kept: MemManagerFile, or `<serverRoot>/logs` as httpd does; undefined when PersistSlots is Off. */
export function persistenceDirectory(d: Directives, serverRoot: string = process.cwd()): string | undefined {
  if (!d.PersistSlots) return undefined;
  return d.MemManagerFile !== '' ? path.resolve(serverRoot, d.MemManagerFile) : path.resolve(serverRoot, 'logs');
}

export class PersistError extends Error {
  readonly code = 'ERR_MCMP_EDGE_PERSIST';
  constructor(message: string) {
    super(message);
    this.name = 'PersistError';
  }
}

// What a valid row looks like: the type of every field (one source: the row types' fields).
const NODE_FIELDS: Record<keyof NodeRow, 'number' | 'string' | 'boolean'> = {
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
const BALANCER_FIELDS: Record<keyof BalancerRow, 'number' | 'string' | 'boolean'> = {
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
const HOST_FIELDS: Record<keyof HostRow, 'number' | 'string'> = { id: 'number', alias: 'string', vhost: 'number', node: 'number' };
const CONTEXT_FIELDS: Record<keyof ContextRow, 'number' | 'string'> = { id: 'number', path: 'string', vhost: 'number', node: 'number', status: 'number' };
const SESSION_FIELDS: Record<keyof SessionRow | 'updatedAt', 'number' | 'string'> = { id: 'number', sessionId: 'string', route: 'string', updatedAt: 'number' };

/** Copies the listed fields of each row, refusing the file if one is missing or of the wrong type. */
function rows<T>(value: unknown, fields: Record<string, string>, table: string): T[] {
  if (!Array.isArray(value)) throw new PersistError(`${table}: not a list`);
  return value.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null) throw new PersistError(`${table}[${i}]: not a row`);
    const row: Record<string, unknown> = {};
    for (const [name, type] of Object.entries(fields)) {
      const v = (raw as Record<string, unknown>)[name];
      if (typeof v !== type) throw new PersistError(`${table}[${i}].${name}: expected ${type}`);
      row[name] = v;
    }
    return row as T;
  });
}

export function decodeSnapshot(bytes: Buffer): StateSnapshot {
  const packr = new Packr({ useRecords: false });
  let doc: unknown;
  try {
    doc = packr.unpack(bytes);
  } catch (err) {
    throw new PersistError(`not a msgpack document: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new PersistError('not a table snapshot');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT || d.version !== FORMAT_VERSION) throw new PersistError(`unknown format ${String(d.format)} v${String(d.version)}`);
  const t = (d.tables ?? {}) as Record<string, unknown>;
  return {
    nodes: rows<NodeRow>(t.nodes, NODE_FIELDS, 'nodes'),
    balancers: rows<BalancerRow>(t.balancers, BALANCER_FIELDS, 'balancers'),
    hosts: rows<HostRow>(t.hosts, HOST_FIELDS, 'hosts'),
    contexts: rows<ContextRow>(t.contexts, CONTEXT_FIELDS, 'contexts'),
    sessions: rows<SessionRow & { updatedAt: number }>(t.sessions, SESSION_FIELDS, 'sessions'),
  };
}

export function encodeSnapshot(snapshot: StateSnapshot, savedAt: number): Buffer {
  return new Packr({ useRecords: false }).pack({ format: FORMAT, version: FORMAT_VERSION, savedAt, tables: snapshot });
}

export interface TablePersistenceOptions {
  state: ClusterState;
  /** The directory of the table file (created when missing). */
  directory: string;
  logger: Logger;
  /** Changes within this many ms are saved together. */
  debounceMs?: number;
}

export class TablePersistence {
  readonly file: string;
  readonly #state: ClusterState;
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  #dirty = false;
  #saves = 0;

  constructor(opts: TablePersistenceOptions) {
    this.#state = opts.state;
    this.#dir = opts.directory;
    this.#logger = opts.logger;
    this.#debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.file = path.join(opts.directory, PERSIST_FILE);
  }

  /** Completed saves since construction. */
  get saves(): number {
    return this.#saves;
  }

  /**
   * Loads the saved tables into the (empty) state. A missing file is a first
   * start; an unreadable one is logged and ignored, so a bad file never keeps
   * the proxy down. Returns the number of rows restored.
   */
  async load(): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let snapshot: StateSnapshot;
    try {
      snapshot = decodeSnapshot(bytes);
    } catch (err) {
      this.#logger.warn({ file: this.file, err: (err as Error).message }, 'persisted tables ignored');
      return 0;
    }
    const skipped = this.#state.restore(snapshot);
    const restored = snapshot.nodes.length + snapshot.balancers.length + snapshot.hosts.length + snapshot.contexts.length - skipped;
    if (skipped > 0) this.#logger.warn({ file: this.file, skipped }, 'persisted rows beyond the current table sizes were dropped');
    this.#logger.info({ file: this.file, nodes: this.#state.nodes().length }, 'tables restored');
    return restored;
  }

  /** Saves after every published change from now on. */
  start(): void {
    if (this.#unsubscribe !== undefined) return;
    this.#unsubscribe = this.#state.onCommit(() => this.#schedule());
  }

  /** Stops watching and writes any pending change. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#dirty = true;
    }
    await this.#saving;
    if (this.#dirty) await this.save();
  }

  /** Writes the current tables now (temporary file, then rename). */
  async save(): Promise<void> {
    while (this.#saving !== undefined) await this.#saving;
    this.#dirty = false;
    const bytes = encodeSnapshot(this.#state.snapshot(), this.#state.now());
    this.#saving = (async () => {
      await mkdir(this.#dir, { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, this.file);
      this.#saves++;
    })();
    try {
      await this.#saving;
    } finally {
      this.#saving = undefined;
    }
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.save().catch((err: unknown) => this.#logger.error({ err, file: this.file }, 'saving the tables failed'));
    }, this.#debounceMs);
    this.#timer.unref();
  }
}

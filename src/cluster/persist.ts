// PersistSlots (MCMP.md §3.1): the tables survive a restart. After every
// published change a snapshot is written with msgpackr to a temporary file and
// renamed over the previous one, so a crash leaves either the old or the new
// file, never half of one. At start the file is loaded before any MCMP traffic.
// Restored nodes count as re-used workers (lbfactor -1, decision D11): they
// take traffic again after their first STATUS, as after an httpd restart.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Directives } from '../config/directives';
import type { Logger } from '../log';
import type { ClusterState, StateSnapshot } from './state';
import { checkSnapshot, type CheckedSnapshot, type PersistedSizes } from './persisted-rows';

type Msgpackr = typeof import('msgpackr');
let loaded: Msgpackr | undefined;
/** msgpackr (and its native extension, ~0.7 MiB of RSS in the primary) is loaded by the first save or load: PersistSlots is Off by default. */
function newPackr(): InstanceType<Msgpackr['Packr']> {
  loaded ??= require('msgpackr') as Msgpackr;
  return new loaded.Packr({ useRecords: false });
}

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

/** What a file held: the rows that passed persisted-rows.ts, and the ones that did not. */
export type DecodedSnapshot = CheckedSnapshot;

/**
 * Reads a file's bytes. A file that is not ours as a whole (not msgpack, other
 * format) is a PersistError; inside it, each row is checked on its own.
 */
export function decodeSnapshot(bytes: Buffer, sizes: PersistedSizes): DecodedSnapshot {
  const packr = newPackr();
  let doc: unknown;
  try {
    doc = packr.unpack(bytes);
  } catch (err) {
    throw new PersistError(`not a msgpack document: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new PersistError('not a table snapshot');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT || d.version !== FORMAT_VERSION) throw new PersistError(`unknown format ${String(d.format).slice(0, 40)} v${String(d.version).slice(0, 10)}`);
  const tables = d.tables;
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) throw new PersistError('no tables in the file');
  return checkSnapshot(tables as Record<string, unknown>, sizes);
}

export function encodeSnapshot(snapshot: StateSnapshot, savedAt: number): Buffer {
  return newPackr().pack({ format: FORMAT, version: FORMAT_VERSION, savedAt, tables: snapshot });
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
  /** The last save failed (logged once until one works again). */
  #failing = false;

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
   * start. Nothing in or about the file may keep the proxy down: an unreadable
   * path (a directory, no permission) or a file that is not ours is one
   * warning and an empty start; a row that breaks a rule is one warning naming
   * it, and the other rows are restored. Returns the number of rows restored.
   */
  async load(): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 0;
      this.#logger.warn({ file: this.file, code, err: (err as Error).message }, 'persisted tables cannot be read; starting with empty tables');
      return 0;
    }
    let decoded: DecodedSnapshot;
    try {
      decoded = decodeSnapshot(bytes, { ...this.#state.sizes, maxSession: this.#state.directives.Maxsessionid });
    } catch (err) {
      this.#logger.warn({ file: this.file, err: (err as Error).message }, 'persisted tables ignored');
      return 0;
    }
    for (const { entry, reason } of decoded.dropped) {
      this.#logger.warn({ file: this.file, entry, reason }, 'persisted row dropped');
    }
    const { snapshot } = decoded;
    const skipped = this.#state.restore(snapshot);
    const restored = snapshot.nodes.length + snapshot.balancers.length + snapshot.hosts.length + snapshot.contexts.length - skipped;
    if (skipped > 0) this.#logger.warn({ file: this.file, skipped }, 'persisted rows beyond the current table sizes were dropped');
    this.#logger.info({ file: this.file, nodes: this.#state.nodes().length, dropped: decoded.dropped.length }, 'tables restored');
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
      this.save().then(
        () => {
          if (!this.#failing) return;
          this.#failing = false;
          this.#logger.info({ file: this.file }, 'saving the tables works again');
        },
        (err: unknown) => {
          // One line per episode: a read-only disk must not flood the log on every STATUS.
          if (this.#failing) return;
          this.#failing = true;
          this.#logger.error({ file: this.file, code: (err as NodeJS.ErrnoException).code, err: (err as Error).message }, 'saving the tables failed; retried on every change, logged again when it works');
        },
      );
    }, this.#debounceMs);
    this.#timer.unref();
  }
}

// Where one thread's access lines go: a sonic-boom destination of its own
// (pino's writer, already a dependency), so the request path only appends a
// string to a buffer. Lines are written in batches, asynchronously, by whole
// lines: sonic-boom starts a new chunk rather than split a write() call, and
// the file is opened with O_APPEND, so the threads' lines never interleave
// inside a line. Standard output is written in chunks of at most PIPE_BUF
// bytes, the size a pipe keeps whole.
import SonicBoom from 'sonic-boom';
import { STDOUT } from './settings';

/** Bytes gathered before a write to a file; a quieter log is flushed by the timer. */
const FILE_BATCH_BYTES = 16 * 1024;
/** Largest write to a file: many lines in one system call. */
const FILE_MAX_WRITE = 64 * 1024;
/** POSIX PIPE_BUF on Linux: a write to a pipe up to this size is never interleaved with another. */
const PIPE_BUF = 4096;
const STDOUT_BATCH_BYTES = 2048;
/** A line waits at most about this long before it is written. */
export const FLUSH_INTERVAL_MS = 1000;
/** Lines waiting beyond this (a stalled disk or reader) are dropped and counted, not kept in memory. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface DestinationEvents {
  /** A write or reopen failed (lines of that batch may be lost). */
  error(err: Error): void;
  /** A line was dropped because too much was waiting. */
  dropped(): void;
}

export class AccessLogDestination {
  readonly #boom: SonicBoom;
  readonly #toFile: boolean;
  #closed = false;

  constructor(path: string, events: DestinationEvents) {
    this.#toFile = path !== STDOUT;
    this.#boom = this.#toFile
      ? new SonicBoom({ dest: path, append: true, minLength: FILE_BATCH_BYTES, maxWrite: FILE_MAX_WRITE, maxLength: MAX_PENDING_BYTES, periodicFlush: FLUSH_INTERVAL_MS })
      : new SonicBoom({ fd: 1, minLength: STDOUT_BATCH_BYTES, maxWrite: PIPE_BUF, maxLength: MAX_PENDING_BYTES, periodicFlush: FLUSH_INTERVAL_MS });
    this.#boom.on('error', (err: Error) => events.error(err));
    this.#boom.on('drop', () => events.dropped());
  }

  /** Appends one whole line (ending in \n). */
  write(line: string): void {
    if (!this.#closed) this.#boom.write(line);
  }

  /**
   * logrotate's postrotate: the file is opened again by its name; lines not
   * written yet go to the new file, none is lost. Standard output stays.
   */
  reopen(): void {
    if (this.#toFile && !this.#closed) this.#boom.reopen();
  }

  /** Writes what is waiting and closes the file (standard output stays open). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const boom = this.#boom;
    return new Promise((resolve) => {
      boom.once('close', () => resolve());
      boom.once('error', () => resolve());
      boom.end();
    });
  }

  /** The thread is dying: what is buffered is written now, synchronously, as far as it can be. */
  flushSync(): void {
    if (this.#closed) return;
    try {
      this.#boom.flushSync();
    } catch {
      // Not open yet, or the disk refuses: nothing more can be done from an exit handler.
    }
  }
}

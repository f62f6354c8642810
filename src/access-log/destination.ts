// Where one thread's access lines go: a sonic-boom destination of its own
// (pino's writer, already a dependency), so the request path only appends a
// string to a batch. Batches of whole lines are handed to sonic-boom, which
// writes them asynchronously and starts a new write() rather than split one
// of them; the file is opened with O_APPEND, so the threads' lines never
// interleave inside a line. Batching here, not in sonic-boom, matters: its
// write() measures the UTF-8 length of the chunk it appends to, which per
// line would cost ~10 µs at 64 KiB chunks (measured); per batch it is nothing.
import SonicBoom from 'sonic-boom';
import { STDOUT } from './settings';

/** Characters gathered before a batch goes to a file (a quieter log is flushed by the timer). */
const FILE_BATCH_CHARS = 16 * 1024;
/** Largest write to a file: several batches in one system call when the disk is behind. */
const FILE_MAX_WRITE = 64 * 1024;
/** POSIX PIPE_BUF on Linux: a write to a pipe up to this size is never interleaved with another. */
const PIPE_BUF = 4096;
/** A batch for standard output stays within PIPE_BUF even when every character takes 3 bytes. */
const STDOUT_BATCH_CHARS = Math.floor(PIPE_BUF / 3);
/** A line waits at most about this long before it is handed to the writer. */
export const FLUSH_INTERVAL_MS = 1000;
/** Bytes waiting beyond this (a stalled disk or reader): batches are dropped and counted, not kept in memory. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface DestinationEvents {
  /** A write or reopen failed (lines of that batch may be lost). */
  error(err: Error): void;
  /** A batch of lines was dropped because too much was waiting. */
  dropped(): void;
}

export class AccessLogDestination {
  readonly #boom: SonicBoom;
  readonly #toFile: boolean;
  readonly #batchChars: number;
  readonly #timer: NodeJS.Timeout;
  #batch = '';
  #closed = false;

  constructor(path: string, events: DestinationEvents) {
    this.#toFile = path !== STDOUT;
    this.#batchChars = this.#toFile ? FILE_BATCH_CHARS : STDOUT_BATCH_CHARS;
    this.#boom = this.#toFile
      ? new SonicBoom({ dest: path, append: true, maxWrite: FILE_MAX_WRITE, maxLength: MAX_PENDING_BYTES })
      : new SonicBoom({ fd: 1, maxWrite: PIPE_BUF, maxLength: MAX_PENDING_BYTES });
    this.#boom.on('error', (err: Error) => events.error(err));
    this.#boom.on('drop', () => events.dropped());
    this.#timer = setInterval(() => this.#handOver(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Appends one whole line (ending in \n). */
  write(line: string): void {
    if (this.#closed) return;
    if (this.#batch.length > 0 && this.#batch.length + line.length > this.#batchChars) this.#handOver();
    this.#batch += line;
    if (this.#batch.length >= this.#batchChars) this.#handOver();
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
    this.#handOver();
    this.#closed = true;
    clearInterval(this.#timer);
    const boom = this.#boom;
    return new Promise((resolve) => {
      boom.once('close', () => resolve());
      boom.once('error', () => resolve());
      boom.end();
    });
  }

  /** The thread is dying: what is waiting is written now, synchronously, as far as it can be. */
  flushSync(): void {
    if (this.#closed) return;
    try {
      this.#handOver();
      this.#boom.flushSync();
    } catch {
      // Not open yet, or the disk refuses: nothing more can be done from an exit handler.
    }
  }

  /** The batch goes to sonic-boom, which writes it now or after the write in progress. */
  #handOver(): void {
    if (this.#batch === '') return;
    const batch = this.#batch;
    this.#batch = '';
    this.#boom.write(batch);
  }
}

// (c) The bench addon (addon.c): sockets owned in C on this thread's libuv
// loop, one write(2) per send, one read(2) per readable event, and JS hears
// of reads one at a time (call: napi_call_function; make: napi_make_callback)
// or once per loop turn for all of them (batch).
import { Buffer } from 'node:buffer';
import { TransportError, type OnBytes, type Transport } from '../transport';

export type AddonMode = 'call' | 'make' | 'batch';
const MODE_NUMBER: Record<AddonMode, number> = { call: 0, make: 1, batch: 2 };
const KIND_CONNECT = 0;
const KIND_READ = 1;
const MAX_BATCH = 1024;
/** addon.c's MAX_CONNS: ids are below it. */
const MAX_CONNS = 4096;

/** What addon.c exports. */
interface UpstreamIoAddon {
  init(buffer: Buffer, onEvent: (a: number, kind: number, n: number) => void, mode: number, meta?: Int32Array): void;
  connect(port: number): number;
  /** Bytes written, or -errno. */
  write(id: number, data: string | Buffer): number;
  close(id: number): void;
}

export class AddonTransport implements Transport {
  readonly #addon: UpstreamIoAddon;
  readonly #mode: AddonMode;
  readonly #ids: number[] = [];

  constructor(addonPath: string, mode: AddonMode) {
    this.#addon = require(addonPath) as UpstreamIoAddon;
    this.#mode = mode;
  }

  open(port: number, count: number, onBytes: OnBytes): Promise<void> {
    const addon = this.#addon;
    // Reads of one turn each take a slice (batch), so the buffer is larger there.
    const buffer = Buffer.allocUnsafe(this.#mode === 'batch' ? 1024 * 1024 : 64 * 1024);
    const meta = new Int32Array(3 * MAX_BATCH);
    const connOf = new Int32Array(MAX_CONNS);
    let waiting = count;
    return new Promise((resolve, reject) => {
      const onEvent = (a: number, kind: number, n: number): void => {
        if (kind === KIND_CONNECT) {
          if (n < 0) reject(new TransportError(`connect failed: errno ${-n}`));
          else if (--waiting === 0) resolve();
        } else if (kind === KIND_READ) {
          if (n <= 0) throw new TransportError(`connection ${a} ended (${n})`);
          onBytes(connOf[a] as number, buffer, 0, n);
        } else {
          for (let i = 0; i < a; i++) {
            const id = meta[3 * i] as number;
            const offset = meta[3 * i + 1] as number;
            const nread = meta[3 * i + 2] as number;
            if (nread <= 0) throw new TransportError(`connection ${id} ended (${nread})`);
            onBytes(connOf[id] as number, buffer, offset, offset + nread);
          }
        }
      };
      addon.init(buffer, onEvent, MODE_NUMBER[this.#mode], meta);
      for (let i = 0; i < count; i++) {
        const id = addon.connect(port);
        connOf[id] = i;
        this.#ids.push(id);
      }
    });
  }

  send(conn: number, request: string): void {
    const written = this.#addon.write(this.#ids[conn] as number, request);
    if (written !== request.length) throw new TransportError(`write took ${written} of ${request.length} bytes`);
  }

  close(): void {
    for (const id of this.#ids) this.#addon.close(id);
  }
}

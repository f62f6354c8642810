// What each way of doing upstream I/O offers the round-trip loop (loop.ts):
// open connections, write a request, and hand over each read's bytes.

/** Called with bytes of connection `conn`: buf[start, end) is only valid during the call. */
export type OnBytes = (conn: number, buf: Uint8Array, start: number, end: number) => void;

export interface Transport {
  /** Opens `count` connections to 127.0.0.1:port; resolves when all are connected. */
  open(port: number, count: number, onBytes: OnBytes): Promise<void>;
  /** Writes a request (latin1 text, as the h1 client writes a body-less request head). */
  send(conn: number, request: string): void;
  close(): void;
}

export class TransportError extends Error {
  readonly code = 'ERR_UPSTREAM_IO_BENCH';
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

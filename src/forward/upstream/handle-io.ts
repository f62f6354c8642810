// Upstream writes and reads straight through the libuv stream handle under a
// plain net.Socket (the HTTP/1.1 and the AJP client). A request head through socket.write() costs node:stream's
// Writable machinery (writeOrBuffer, a WriteWrap, an afterWrite tick); a read
// costs onStreamRead and the socket's timer bookkeeping. Here a write is one
// call into the handle (the same call node makes at the end of that path) and
// a read goes from the handle to the connection's parser.
//
// These are Node internals (process.binding('stream_wrap'), socket._handle),
// so they are checked once, when this module loads, and each connection checks
// its handle's shape: when anything is missing the connection uses
// socket.write() and the `onread` callback as before, and `HANDLE_IO.reason`
// says why (the forwarding thread logs it once). MCMP_EDGE_UPSTREAM_IO=stream
// forces that path (tests run both).
//
// Connect, close, errors and TLS stay with net.Socket. Ordering: a direct
// write is only made when the socket's own write queue is empty, and libuv
// keeps the order of everything queued on the handle, so bytes never overtake
// each other whichever path they take.
import { Buffer } from 'node:buffer';
import type net from 'node:net';
import process from 'node:process';
import { getSystemErrorName } from 'node:util';

/** Node's WriteWrap (lib/internal/stream_base_commons.js createWriteWrap). */
interface WriteReq {
  handle: StreamHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  /** What libuv reads from until oncomplete: kept alive here. */
  buffer: Buffer | Buffer[] | null;
  /** Ours: who is told when an asynchronous write ends. */
  owner: HandleIo | null;
}

/** What is used of node's LibuvStreamWrap (TCPWrap). */
interface StreamHandle {
  writeLatin1String(req: WriteReq, data: string): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  /** allBuffers true: `chunks` are Buffers (one writev). */
  writev(req: WriteReq, chunks: Buffer[], allBuffers: true): number;
  readStop(): number;
  reading: boolean;
  onread: (this: StreamHandle, arrayBuffer?: ArrayBuffer) => unknown;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

interface Available {
  readonly binding: StreamWrapBinding;
  readonly reason: '';
}
interface Unavailable {
  readonly binding: null;
  readonly reason: string;
}

function probe(): Available | Unavailable {
  if (process.env.MCMP_EDGE_UPSTREAM_IO === 'stream') return { binding: null, reason: 'MCMP_EDGE_UPSTREAM_IO=stream' };
  const get = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof get !== 'function') return { binding: null, reason: 'process.binding is missing' };
  let b: Partial<StreamWrapBinding>;
  try {
    b = get.call(process, 'stream_wrap') as Partial<StreamWrapBinding>;
  } catch (err) {
    return { binding: null, reason: `process.binding('stream_wrap') failed: ${(err as Error).message}` };
  }
  if (
    typeof b.WriteWrap !== 'function' ||
    !(b.streamBaseState instanceof Int32Array) ||
    typeof b.kReadBytesOrError !== 'number' ||
    typeof b.kLastWriteWasAsync !== 'number'
  ) {
    return { binding: null, reason: "process.binding('stream_wrap') lacks WriteWrap/streamBaseState" };
  }
  return { binding: b as StreamWrapBinding, reason: '' };
}

/** Whether this Node offers what direct handle I/O needs; `reason` says why not. */
export const HANDLE_IO: Available | Unavailable = probe();

function handleOf(socket: net.Socket): StreamHandle | null {
  const h = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  if (h === null || h === undefined) return null;
  if (typeof h.writeLatin1String !== 'function' || typeof h.writeBuffer !== 'function' || typeof h.writev !== 'function' || typeof h.readStop !== 'function' || typeof h.onread !== 'function') return null;
  return h as StreamHandle;
}

/** An errno from the handle as node:net would report it (code, errno, syscall). */
function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const err: NodeJS.ErrnoException = new Error(`write ${code}`);
  err.code = code;
  err.errno = errno;
  err.syscall = 'write';
  return err;
}

function onAsyncWriteDone(this: WriteReq, status: number): void {
  const owner = this.owner;
  this.owner = null;
  this.buffer = null;
  owner?.asyncWriteDone(status);
}

/** The I/O of one plain upstream connection. */
export class HandleIo {
  readonly #socket: net.Socket;
  readonly #onError: (err: Error) => void;
  #handle: StreamHandle | null = null;
  /** Reused while writes complete at once (the usual case: a request head fits the socket buffer). */
  #req: WriteReq | null = null;
  /** Between cork() and uncork() on the handle: the Buffers to write as one writev. */
  #batch: Buffer[] | null = null;
  /** cork() went to the stream (fallback): uncork() goes there too. */
  #streamCorked = false;

  /** onError: an asynchronous write failed (the connection is closed by the caller). */
  constructor(socket: net.Socket, onError: (err: Error) => void) {
    this.#socket = socket;
    this.#onError = onError;
  }

  /**
   * Once connected: writes go to the handle, and so do reads when `onRead` is
   * given (it gets the byte count in the socket's `onread` buffer and returns
   * false to stop reading; the socket's resume() starts it again).
   */
  attach(onRead: ((nread: number) => boolean) | null): void {
    if (HANDLE_IO.binding === null) return;
    const handle = handleOf(this.#socket);
    if (handle === null) return;
    this.#handle = handle;
    if (onRead === null) return;
    const state = HANDLE_IO.binding.streamBaseState;
    const nreadAt = HANDLE_IO.binding.kReadBytesOrError;
    const streamRead = handle.onread;
    handle.onread = function (this: StreamHandle, arrayBuffer?: ArrayBuffer): unknown {
      const nread = state[nreadAt] as number;
      // End of stream and errors go node's way: 'end', 'error', 'close' as before.
      if (nread <= 0) return streamRead.call(this, arrayBuffer);
      if (!onRead(nread)) {
        this.reading = false;
        this.readStop();
      }
      return undefined;
    };
  }

  /** Writes latin1 text (a request head). */
  writeLatin1(data: string): void {
    if (this.#batch !== null) {
      this.#batch.push(Buffer.from(data, 'latin1'));
      return;
    }
    const handle = this.#usable();
    if (handle === null) {
      this.#socket.write(data, 'latin1');
      return;
    }
    const req = this.#takeReq(handle);
    this.#after(req, handle.writeLatin1String(req, data), null);
  }

  /** Writes a Buffer. It must stay unchanged until written: libuv may send it later, from this memory. */
  writeBuffer(data: Buffer): void {
    const batch = this.#batch;
    if (batch !== null) {
      batch.push(data);
      return;
    }
    const handle = this.#usable();
    if (handle === null) {
      this.#socket.write(data);
      return;
    }
    const req = this.#takeReq(handle);
    this.#after(req, handle.writeBuffer(req, data), data);
  }

  /**
   * Buffers written until uncork() go out in one system call (writev), as
   * socket.cork()/uncork() does for the stream. writeLatin1 is not batched.
   */
  cork(): void {
    if (this.#batch !== null || this.#streamCorked) return;
    if (this.#usable() !== null) this.#batch = [];
    else {
      this.#streamCorked = true;
      this.#socket.cork();
    }
  }

  uncork(): void {
    if (this.#streamCorked) {
      this.#streamCorked = false;
      this.#socket.uncork();
      return;
    }
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    // Closed meanwhile (a request failed between cork and uncork): nothing goes out, as a destroyed stream drops it.
    if (batch.length === 0 || this.#socket.destroyed) return;
    if (batch.length === 1) {
      this.writeBuffer(batch[0] as Buffer);
      return;
    }
    const handle = this.#usable();
    if (handle === null) {
      const socket = this.#socket;
      socket.cork();
      for (const b of batch) socket.write(b);
      socket.uncork();
      return;
    }
    const req = this.#takeReq(handle);
    this.#after(req, handle.writev(req, batch, true), batch);
  }

  asyncWriteDone(status: number): void {
    if (status < 0 && !this.#socket.destroyed) this.#onError(writeError(status));
  }

  /** The handle, when a direct write keeps the byte order: connected, open, nothing queued in the stream. */
  #usable(): StreamHandle | null {
    const handle = this.#handle;
    const socket = this.#socket;
    if (handle === null || socket.writableLength !== 0 || socket.destroyed) return null;
    return handle;
  }

  #takeReq(handle: StreamHandle): WriteReq {
    let req = this.#req;
    if (req === null) {
      req = new (HANDLE_IO.binding as StreamWrapBinding).WriteWrap();
      req.handle = handle;
      req.oncomplete = onAsyncWriteDone;
      req.async = false;
      req.bytes = 0;
      req.buffer = null;
      req.owner = null;
      this.#req = req;
    }
    return req;
  }

  #after(req: WriteReq, errno: number, data: Buffer | Buffer[] | null): void {
    if (errno !== 0) {
      // As node:net: the socket is destroyed with the error ('error', then 'close').
      this.#socket.destroy(writeError(errno));
      return;
    }
    const binding = HANDLE_IO.binding as StreamWrapBinding;
    if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
      // libuv holds this req (and, for a Buffer, the memory) until it calls oncomplete.
      req.async = true;
      req.owner = this;
      req.buffer = data;
      this.#req = null;
    }
  }
}

// Socket writes and reads straight through the libuv stream handle under a
// plain net.Socket, for the upstream clients (HTTP/1.1 and AJP, forwarding
// threads) and the MCMP listener (primary thread). A write through socket.write() costs
// node:stream's Writable machinery (writeOrBuffer, a WriteWrap, an afterWrite
// tick); a read costs onStreamRead, a Buffer per read, the Readable's push and
// 'data' event and the socket's timer bookkeeping. Here a write is one call
// into the handle (the same call node makes at the end of that path) and a
// read goes from the handle to the owner's parser.
//
// These are Node internals (process.binding('stream_wrap'), socket._handle),
// so they are checked once, when this module loads, and each connection checks
// its handle's shape: when anything is missing the connection uses
// socket.write() and node's reads as before, and `HANDLE_IO.reason` says why
// (the forwarding threads and the primary log it once).
// MCMP_EDGE_UPSTREAM_IO=stream forces that path (tests run both).
//
// Connect, close, errors and TLS stay with net.Socket. Ordering: a direct
// write is only made when the socket's own write queue is empty, and libuv
// keeps the order of everything queued on the handle, so bytes never overtake
// each other whichever path they take. Flow control: bytes libuv still holds
// from direct writes are counted (`queuedBytes`) and the owner hears when they
// are all gone (`onWritable`), as 'drain' tells a stream's writer.
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
  readStart(): number;
  readStop(): number;
  /** Reads go into this buffer instead of a fresh allocation each (StreamBase::UseUserBuffer). */
  useUserBuffer(buffer: Uint8Array): void;
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
  if (
    typeof h.writeLatin1String !== 'function' ||
    typeof h.writeBuffer !== 'function' ||
    typeof h.writev !== 'function' ||
    typeof h.readStart !== 'function' ||
    typeof h.readStop !== 'function' ||
    typeof h.useUserBuffer !== 'function' ||
    typeof h.onread !== 'function'
  ) {
    return null;
  }
  return h as StreamHandle;
}

/** An errno from the handle as node:net would report it (code, errno, syscall). */
function ioError(errno: number, syscall: 'read' | 'write'): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  return err;
}

function onAsyncWriteDone(this: WriteReq, status: number): void {
  const owner = this.owner;
  this.owner = null;
  this.buffer = null;
  owner?.asyncWriteDone(status, this.bytes);
}

/** The I/O of one plain (not TLS) connection. */
export class HandleIo {
  readonly #socket: net.Socket;
  readonly #onError: (err: Error) => void;
  readonly #onWritable: (() => void) | null;
  #handle: StreamHandle | null = null;
  /** Reads come through the handle (attach with onRead), not as 'data' events. */
  #reading = false;
  /** Bytes of direct writes libuv has not written yet. */
  #queued = 0;
  /** Reused while writes complete at once (the usual case: a request head or an MCMP reply fits the socket buffer). */
  #req: WriteReq | null = null;
  /** Between cork() and uncork() on the handle: the Buffers to write as one writev. */
  #batch: Buffer[] | null = null;
  /** cork() went to the stream (fallback): uncork() goes there too. */
  #streamCorked = false;

  /**
   * onError: an asynchronous write failed (the connection is closed by the caller).
   * onWritable: every byte of the direct writes is written (as 'drain').
   */
  constructor(socket: net.Socket, onError: (err: Error) => void, onWritable?: () => void) {
    this.#socket = socket;
    this.#onError = onError;
    this.#onWritable = onWritable ?? null;
  }

  /**
   * Once connected: writes go to the handle, and so do reads when `onRead` is
   * given: it gets the byte count read into the socket's `onread` buffer, or
   * into `readBuffer` when one is given (for sockets made without `onread`,
   * such as accepted ones; the owner must be done with those bytes when
   * onRead returns), and returns false to stop reading (resumeReading() or,
   * with an `onread` socket, its resume() starts it again).
   * Returns whether reads now come to onRead (else they stay node's).
   */
  attach(onRead: ((nread: number) => boolean) | null, readBuffer?: Uint8Array): boolean {
    if (HANDLE_IO.binding === null) return false;
    const handle = handleOf(this.#socket);
    if (handle === null) return false;
    this.#handle = handle;
    if (onRead === null) return false;
    if (readBuffer !== undefined) handle.useUserBuffer(readBuffer);
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
    this.#reading = true;
    return true;
  }

  /** Stops reading (the peer's bytes wait in the kernel). */
  pauseReading(): void {
    const handle = this.#handle;
    if (!this.#reading || handle === null) {
      this.#socket.pause();
      return;
    }
    if (!handle.reading) return;
    handle.reading = false;
    handle.readStop();
  }

  /** Reads again after pauseReading() or onRead's false. */
  resumeReading(): void {
    const handle = this.#handle;
    if (!this.#reading || handle === null) {
      this.#socket.resume();
      return;
    }
    if (handle.reading || this.#socket.destroyed) return;
    handle.reading = true;
    const errno = handle.readStart();
    if (errno !== 0) this.#socket.destroy(ioError(errno, 'read'));
  }

  /** Bytes written but not yet taken by the kernel: the direct writes' and the socket stream's. */
  get queuedBytes(): number {
    return this.#queued + this.#socket.writableLength;
  }

  /** Writes latin1 text (a request head, an MCMP reply). */
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
    this.#after(req, handle.writeLatin1String(req, data), null, data.length);
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
    this.#after(req, handle.writeBuffer(req, data), data, data.length);
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
    let bytes = 0;
    for (const b of batch) bytes += b.length;
    const req = this.#takeReq(handle);
    this.#after(req, handle.writev(req, batch, true), batch, bytes);
  }

  asyncWriteDone(status: number, bytes: number): void {
    this.#queued -= bytes;
    if (status < 0) {
      if (!this.#socket.destroyed) this.#onError(ioError(status, 'write'));
      return;
    }
    if (this.#queued === 0) this.#onWritable?.();
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

  #after(req: WriteReq, errno: number, data: Buffer | Buffer[] | null, bytes: number): void {
    if (errno !== 0) {
      // As node:net: the socket is destroyed with the error ('error', then 'close').
      this.#socket.destroy(ioError(errno, 'write'));
      return;
    }
    const binding = HANDLE_IO.binding as StreamWrapBinding;
    if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0) {
      // libuv holds this req (and, for a Buffer, the memory) until it calls oncomplete.
      req.async = true;
      req.owner = this;
      req.buffer = data;
      req.bytes = bytes;
      this.#queued += bytes;
      this.#req = null;
    }
  }
}

// (b) The proxy's path (src/forward/upstream/h1/connection.ts): net.connect
// with `onread` into one buffer shared by every connection, and on connect
// HandleIo takes writes (writeLatin1String on the handle) and reads
// (handle.onread straight to the owner).
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { HANDLE_IO, HandleIo } from '../../../src/net/handle-io';
import { TransportError, type OnBytes, type Transport } from '../transport';
import { connected } from './stream';

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class HandleTransport implements Transport {
  readonly #io: HandleIo[] = [];
  readonly #sockets: net.Socket[] = [];

  async open(port: number, count: number, onBytes: OnBytes): Promise<void> {
    if (HANDLE_IO.binding === null) throw new TransportError(`handle I/O unavailable: ${HANDLE_IO.reason}`);
    const opened: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const socket = net.connect({
        host: '127.0.0.1',
        port,
        onread: {
          buffer: READ_BUFFER,
          callback: (nread: number, buf: Uint8Array): boolean => {
            onBytes(i, buf, 0, nread);
            return true;
          },
        },
      });
      const io = new HandleIo(socket, (err) => socket.destroy(err));
      opened.push(
        connected(socket).then(() => {
          socket.setNoDelay(true);
          if (!io.attach((nread) => (onBytes(i, READ_BUFFER, 0, nread), true))) {
            throw new TransportError('HandleIo.attach refused the socket');
          }
        }),
      );
      this.#sockets.push(socket);
      this.#io.push(io);
    }
    await Promise.all(opened);
  }

  send(conn: number, request: string): void {
    (this.#io[conn] as HandleIo).writeLatin1(request);
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

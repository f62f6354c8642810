// (a) node:net as an application uses it: socket.write() and 'data' events.
import net from 'node:net';
import { TransportError, type OnBytes, type Transport } from '../transport';

export class StreamTransport implements Transport {
  readonly #sockets: net.Socket[] = [];

  async open(port: number, count: number, onBytes: OnBytes): Promise<void> {
    const opened: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      socket.on('data', (chunk: Buffer) => onBytes(i, chunk, 0, chunk.length));
      opened.push(connected(socket));
      this.#sockets.push(socket);
    }
    await Promise.all(opened);
  }

  send(conn: number, request: string): void {
    (this.#sockets[conn] as net.Socket).write(request, 'latin1');
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

export function connected(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', (err) => reject(new TransportError(`connect: ${err.message}`)));
  });
}

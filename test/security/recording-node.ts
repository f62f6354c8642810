// A node for the security tests that records the exact bytes the proxy sends
// it, and parses them with Node's own HTTP parser (llhttp, strict: the
// lenient flags off, Host required), the way a strict container would. Every
// connection from the proxy goes through a recorder (node:net) into a
// node:http server on its own loopback port; a request that parser refuses
// is a `parseErrors` entry, which the tests require to stay empty. It answers
// 200 "ok", and completes WebSocket handshakes (RFC 6455 §4.2.2), holding
// the socket open. No tests here.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  upgrade: boolean;
}

export class RecordingNode {
  readonly #front: net.Server;
  readonly #parser: http.Server;
  readonly #sockets = new Set<net.Socket>();
  #bytes: Buffer[] = [];
  /** Requests as the strict parser read them, since the last reset(). */
  requests: SeenRequest[] = [];
  /** Errors of the strict parser, since the last reset(). */
  parseErrors: string[] = [];
  port = 0;

  constructor() {
    this.#parser = http.createServer({ insecureHTTPParser: false, requireHostHeader: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks), upgrade: false });
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
      });
    });
    this.#parser.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket) => {
      this.parseErrors.push(`${err.code ?? ''} ${err.message}`);
      socket.destroy();
    });
    this.#parser.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), upgrade: true });
      const key = String(req.headers['sec-websocket-key'] ?? '');
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      // Held open until the proxy closes it: the tunnel's life is not what these tests look at.
      this.#sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#front = net.createServer((client) => {
      this.#sockets.add(client);
      const inner = net.connect((this.#parser.address() as AddressInfo).port, '127.0.0.1');
      this.#sockets.add(inner);
      client.on('data', (d: Buffer) => {
        this.#bytes.push(Buffer.from(d));
        inner.write(d);
      });
      inner.on('data', (d: Buffer) => client.write(d));
      client.on('end', () => inner.end());
      inner.on('end', () => client.end());
      const drop = (): void => {
        client.destroy();
        inner.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(inner);
      };
      client.on('close', drop);
      inner.on('close', drop);
      client.on('error', drop);
      inner.on('error', drop);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#parser.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => this.#front.listen(0, '127.0.0.1', resolve));
    this.port = (this.#front.address() as AddressInfo).port;
    return this;
  }

  /** Every byte received since the last reset(), as latin1. */
  get received(): string {
    return Buffer.concat(this.#bytes).toString('latin1');
  }

  reset(): void {
    this.#bytes = [];
    this.requests = [];
    this.parseErrors = [];
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#parser.closeAllConnections();
    await Promise.all([new Promise((r) => this.#front.close(r)), new Promise((r) => this.#parser.close(r))]);
  }
}

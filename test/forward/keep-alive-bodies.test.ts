// Known-length bodies of the sizes where a node's head and body come in one
// read (16 KiB, 64 KiB) and one that cannot pass without backpressure (4 MiB),
// one after another on ONE kept-alive client connection whose reader pauses
// after every read: each arrives whole and byte-exact, framed by its
// Content-Length, and the connection carries the next response. The body
// writer tracks uWS's write offset itself (response/body.ts), so a response
// that is held back and resumed must still continue at the right byte.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startBackend, startHarness, type Backend, type Harness } from './fixtures';

const BODIES = new Map<string, Buffer>([
  ['16k', crypto.randomBytes(16 * 1024)],
  ['64k', crypto.randomBytes(64 * 1024)],
  ['4m', crypto.randomBytes(4 * 1024 * 1024)],
]);

interface Response {
  status: number;
  head: string;
  body: Buffer;
}

/** A client on one socket that reads one response at a time, pausing `pauseMs` after every read. */
class SlowKeepAliveClient {
  readonly #socket: net.Socket;
  #buffered = Buffer.alloc(0);
  #waiter: (() => void) | null = null;
  #closed = false;

  constructor(port: number, pauseMs: number) {
    this.#socket = net.connect(port, '127.0.0.1');
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#socket.pause();
      setTimeout(() => this.#socket.resume(), pauseMs);
      this.#wake();
    });
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    this.#socket.on('error', () => undefined);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async #until(enough: () => boolean): Promise<void> {
    while (!enough()) {
      if (this.#closed) throw new Error(`connection closed with ${this.#buffered.length} bytes unread`);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  async get(path: string): Promise<Response> {
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    let headEnd = -1;
    await this.#until(() => (headEnd = this.#buffered.indexOf('\r\n\r\n')) >= 0);
    const head = this.#buffered.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    assert.ok(length, `no Content-Length in ${JSON.stringify(head)}`);
    const end = headEnd + 4 + Number(length[1]);
    await this.#until(() => this.#buffered.length >= end);
    const body = this.#buffered.subarray(headEnd + 4, end);
    this.#buffered = this.#buffered.subarray(end);
    return { status: Number(head.slice(9, 12)), head, body };
  }

  /** Bytes that came after the last response (none may). */
  get extra(): number {
    return this.#buffered.length;
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe('known-length bodies on a kept-alive connection with a slow reader', () => {
  let h: Harness;
  let a: Backend;
  before(async () => {
    [h, a] = await Promise.all([
      startHarness({ threads: 1 }),
      startBackend('a', (req, res) => {
        const body = BODIES.get(new URL(req.url ?? '/', 'http://x').pathname.slice('/app/'.length));
        req.resume();
        if (body === undefined) {
          res.writeHead(404).end();
          return;
        }
        // One write: head and body leave the node together, as a static file server sends them.
        res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
        res.end(body);
      }),
    ]);
    h.addNode(0, a, [[0, '/app']]);
  });
  after(async () => {
    await h.close();
    await a.close();
  });

  it('delivers 16 KiB, 64 KiB and 4 MiB bodies whole and byte-exact, in turn, on one connection', async () => {
    const client = new SlowKeepAliveClient(h.port, 30);
    try {
      for (const name of ['16k', '64k', '16k', '4m', '64k', '16k', '4m', '16k']) {
        const expected = BODIES.get(name) as Buffer;
        const res = await client.get(`/app/${name}`);
        assert.equal(res.status, 200, res.head);
        assert.equal(res.body.length, expected.length, name);
        assert.ok(res.body.equals(expected), `${name}: body differs`);
      }
      assert.equal(client.extra, 0);
    } finally {
      client.close();
    }
  });
});

// Issue 7: a hostile node. The real proxy (one forwarding thread, so one
// connection pool) in front of a raw TCP node that answers each vector with
// exact bytes. The client must get 502 (or, once the head was sent, a closed
// connection), never a response the node smuggled, and the node connection
// that carried a bad response must not be used again.
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPWNED!';

interface BadResponse {
  readonly name: string;
  readonly bytes: string;
  /** The node closes the connection after writing. */
  readonly close?: boolean;
  /** What the client gets: a status, or 'closed': 502 if nothing was relayed yet, else the connection cut after a short body. */
  readonly client: number | 'closed';
  /** The node connection may be used again (only for a well-formed response). */
  readonly reusable?: boolean;
  readonly body?: string;
}

const VECTORS: BadResponse[] = [
  { name: 'well-formed (control)', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', client: 200, reusable: true, body: 'ok' },
  { name: 'garbage instead of a status line', bytes: 'HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'four-digit status', bytes: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'HTTP/2 status line', bytes: 'HTTP/2 200\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'NUL in a field value', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'CR alone in a field value', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'bare LF line ends', bytes: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', client: 502 },
  { name: 'bare LF inside the head (a field that splits in two)', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\nSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'DEL in a field value', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'obs-fold', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'space in a field name', bytes: 'HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 2\r\n\r\nok', client: 502 },
  { name: 'space before the colon', bytes: 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', client: 502 },
  { name: 'two different Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 8\r\n\r\nok', client: 502 },
  { name: 'Content-Length not a number', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok', client: 502 },
  { name: 'a head larger than the response buffer', bytes: `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\nok`, client: 502 },
  { name: 'body shorter than Content-Length, then close', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', close: true, client: 'closed' },
  { name: 'body longer than Content-Length (a smuggled response after it)', bytes: `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok${SMUGGLED}`, client: 200, body: 'ok' },
  { name: 'Transfer-Encoding and Content-Length', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n2\r\nok\r\n0\r\n\r\n', client: 200, body: 'ok' },
  { name: 'bad chunk size', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n', client: 'closed' },
];

/** A node speaking raw bytes: GET /app/r/<index> answers VECTORS[index]; it records which connection served which path. */
class RawNode {
  readonly server: net.Server;
  readonly served: Array<{ conn: number; path: string }> = [];
  readonly #sockets = new Set<net.Socket>();
  #conns = 0;
  port = 0;

  constructor() {
    this.server = net.createServer((socket) => {
      const conn = ++this.#conns;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buf = '';
      socket.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          const path = head.split(' ')[1] ?? '';
          this.served.push({ conn, path });
          const m = /^\/app\/r\/(\d+)$/.exec(path);
          const v = m === null ? VECTORS[0] : VECTORS[Number(m[1])];
          socket.write(Buffer.from(v?.bytes ?? '', 'latin1'));
          if (v?.close === true) socket.end();
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let proxy: ProxyProcess;
let node: RawNode;

async function mcmp(method: string, body: string): Promise<void> {
  const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1, timeoutMs: 10_000 });
  assert.equal(responses[0]?.status, 200, `${method}: ${responses[0]?.body.toString() ?? 'no reply'}`);
}

before(async () => {
  node = await new RawNode().start();
  proxy = await startProxy(['--threads', '1', '--log-level', 'warn', '--set', 'EnableOptions=Off']);
  await mcmp('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${node.port}&Type=http`);
  await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app');
  await mcmp('STATUS', 'JVMRoute=node1&Load=100');
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await node?.close();
});

describe('hostile responses from a node', () => {
  VECTORS.forEach((v, index) => {
    it(`${v.name} → ${v.client}${v.reusable === true ? ', connection reused' : ', connection not reused'}`, async () => {
      // A well-formed response first, so that a kept-alive connection exists to be (not) reused.
      const warm = await sendRaw(proxy.listenPort, 'GET /app/r/0 HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
      assert.equal(warm.responses[0]?.status, 200);
      const r = await sendRaw(proxy.listenPort, `GET /app/r/${index} HTTP/1.1\r\nHost: localhost\r\n\r\n`, { expect: 1, timeoutMs: 10_000 });
      const first = r.responses[0];
      if (v.client === 'closed') {
        if (first?.status !== 502) {
          assert.equal(r.closed, true, 'the client connection is closed');
          assert.ok(first === undefined || first.body.length < 10, 'a short body is never taken for a whole one');
        }
      } else {
        assert.equal(first?.status, v.client, `got ${JSON.stringify(r.responses.map((x) => x.statusLine))}`);
        if (v.body !== undefined) assert.equal(first?.body.toString('latin1'), v.body);
      }
      const bad = node.served[node.served.length - 1] as { conn: number; path: string };
      assert.equal(bad.path, `/app/r/${index}`);
      // The next request: a real answer, never bytes left over from the bad one, and on a new connection.
      const next = await sendRaw(proxy.listenPort, 'GET /app/r/0 HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
      assert.equal(next.responses[0]?.status, 200);
      assert.equal(next.responses[0]?.body.toString('latin1'), 'ok');
      const after = node.served[node.served.length - 1] as { conn: number; path: string };
      assert.equal(after.path, '/app/r/0');
      if (v.reusable === true) assert.equal(after.conn, bad.conn, 'a well-formed response leaves the connection reusable');
      else assert.notEqual(after.conn, bad.conn, 'the connection that carried the bad response was used again');
    });
  });

  it('the proxy is still up', () => {
    assert.equal(proxy.child.exitCode, null);
  });
});

// What one read from a node brings leaves the proxy in one write
// (src/forward/upstream/read-batch.ts). Over TLS every uWS write is its own
// SSL_write, so the client sees it as TLS records: a relay between client and
// proxy counts the application-data records of each response (TLS 1.2, where
// every record after the handshake is application data). Nodes that answer a
// whole response in one write: an HTTP node with a chunked body of several
// chunks, an AJP node with SEND_HEADERS, several SEND_BODY_CHUNK and
// END_RESPONSE. Without the batch each chunk and the end were records of
// their own (5 and 4 records).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { parseResponses } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { CPONG, END_KEEP, isCping, sendBodyChunk, sendHeaders, startFakeContainer, type FakeContainer } from '../forward/ajp/fake-container';
import { makeCa, makeLeaf, OPENSSL_MISSING, type Pair } from './certs';
import { registerNode } from './harness';

const CHUNKS = ['first chunk\n', 'second chunk\n', 'third chunk\n', 'fourth chunk\n'];
const BODY = CHUNKS.join('');

/** An HTTP node that answers every request with a chunked body of CHUNKS, head to last chunk in one write. */
async function startChunkedNode(): Promise<{ port: number; close(): Promise<void> }> {
  const body = CHUNKS.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('');
  const answer = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${body}0\r\n\r\n`, 'latin1');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      for (let i = head.indexOf('\r\n\r\n'); i >= 0; i = head.indexOf('\r\n\r\n')) {
        head = head.slice(i + 4);
        s.write(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP relay to `target` that counts the TLS application-data records coming back. */
async function startRecordCounter(target: number): Promise<{ port: number; appRecords(): number; close(): Promise<void> }> {
  let records = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (d: Buffer) => {
      client.write(d);
      pending = Buffer.concat([pending, d]);
      // Record header: content type, version (2), length (2).
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        if (pending[0] === 23) records++;
        pending = pending.subarray(5 + pending.readUInt16BE(3));
      }
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    appRecords: () => records,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** GETs `paths` one after the other on one TLS 1.2 connection; per response its body and the records it came in. */
async function getEach(port: number, ca: Buffer, paths: string[], records: () => number): Promise<Array<{ status: number; body: string; records: number }>> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, maxVersion: 'TLSv1.2' });
  socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const out: Array<{ status: number; body: string; records: number }> = [];
  try {
    for (const p of paths) {
      const before = records();
      socket.write(`GET ${p} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      let data = Buffer.alloc(0);
      const r = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const onData = (c: Buffer): void => {
          data = Buffer.concat([data, c]);
          const got = parseResponses(data, false).responses[0];
          if (got === undefined) return;
          socket.off('data', onData);
          resolve(got);
        };
        socket.on('data', onData);
        socket.once('error', reject);
      });
      // The relay counted the records before it passed them on: all of this response's are in.
      out.push({ status: r.status, body: r.body.toString('latin1'), records: records() - before });
    }
  } finally {
    socket.destroy();
  }
  return out;
}

describe('one node read, one client write (TLS records)', { skip: OPENSSL_MISSING }, () => {
  let dir: string;
  let pair: Pair;
  let ca: Buffer;
  let proxy: ProxyProcess;
  let httpNode: Awaited<ReturnType<typeof startChunkedNode>>;
  let ajpNode: FakeContainer;
  let counter: Awaited<ReturnType<typeof startRecordCounter>>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-records-'));
    makeCa(dir, 'ca', 'record test CA');
    pair = makeLeaf(dir, 'server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'ca');
    ca = fs.readFileSync(path.join(dir, 'ca.pem'));
    httpNode = await startChunkedNode();
    ajpNode = await startFakeContainer(async (conn) => {
      for (;;) {
        const p = await conn.next(60_000);
        if (isCping(p)) {
          conn.send(CPONG);
          continue;
        }
        // No Content-Length: the proxy relays it chunked. Every packet in one write.
        conn.send(sendHeaders(200, [['Content-Type', 'text/plain']], 'OK'), ...CHUNKS.slice(0, 3).map((c) => sendBodyChunk(Buffer.from(c))), END_KEEP);
      }
    });
    proxy = await startProxy(['--threads', '1', '--listen-tls', '127.0.0.1:0', '--tls-cert', pair.cert, '--tls-key', pair.key]);
    await registerNode(proxy.managerPort, 'h1', httpNode.port, { context: '/app' });
    await registerNode(proxy.managerPort, 'ajp', ajpNode.port, { context: '/ajp', type: 'ajp' });
    counter = await startRecordCounter(proxy.tlsPorts[0] as number);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await counter?.close();
    await httpNode?.close();
    await ajpNode?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a chunked response of four chunks read in one piece reaches the client as one TLS record, every time', async () => {
    const rs = await getEach(counter.port, ca, ['/app/a', '/app/b', '/app/c'], () => counter.appRecords());
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.equal(r.body, BODY);
      assert.equal(r.records, 1, `records of one response: ${JSON.stringify(rs.map((x) => x.records))}`);
    }
  });

  it('an AJP response (headers, three body chunks, end) read in one piece: one TLS record', async () => {
    const rs = await getEach(counter.port, ca, ['/ajp/a', '/ajp/b'], () => counter.appRecords());
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.equal(r.body, CHUNKS.slice(0, 3).join(''));
      assert.equal(r.records, 1, `records of one response: ${JSON.stringify(rs.map((x) => x.records))}`);
    }
  });
});

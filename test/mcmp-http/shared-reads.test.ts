// The MCMP listener reads every plain connection into one shared buffer
// through the socket's libuv handle (src/net/handle-io.ts). Connections whose
// requests arrive in pieces, interleaved with each other, and handlers that
// keep a body across an await must each see their own bytes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { HANDLE_IO } from '../../src/net/handle-io';
import type { HttpResponse } from '../../src/mcmp/http/server';
import { mcmpRequest, parseResponses } from '../helpers/raw-http';
import { startServer } from './helpers';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

test('this Node reads the MCMP listener through the handle (else the stream path is the one tested)', () => {
  assert.equal(HANDLE_IO.reason, '');
});

test('20 connections sending their requests in interleaved pieces each get replies made of their own bytes', async () => {
  // The handler keeps the body across an await: it must not be a view of a buffer the next read reuses.
  const s = await startServer({
    handler: async (req): Promise<HttpResponse> => {
      const body = req.body;
      await delay(2);
      return { status: 200, body: `${req.target} ${body.toString('latin1')}` };
    },
  });
  const sockets: net.Socket[] = [];
  try {
    const n = 20;
    const perConnection = 5;
    const received = Array.from({ length: n }, () => [] as Buffer[]);
    for (let c = 0; c < n; c++) {
      const socket = await connect(s.port);
      socket.on('data', (d: Buffer) => received[c]?.push(d));
      sockets.push(socket);
    }
    const streams = sockets.map((_, c) => Array.from({ length: perConnection }, (_, i) => mcmpRequest('STATUS', `JVMRoute=conn${c}-msg${i}&Load=${(c * 7 + i) % 100}`, `/c${c}/${i}`)).join(''));
    // Pieces of 1 to 37 bytes, round robin over the connections, each flushed before the next.
    const offsets = new Array<number>(n).fill(0);
    for (let piece = 1; offsets.some((o, c) => o < (streams[c] as string).length); piece = (piece % 37) + 1) {
      for (let c = 0; c < n; c++) {
        const stream = streams[c] as string;
        const at = offsets[c] as number;
        if (at >= stream.length) continue;
        (sockets[c] as net.Socket).write(stream.slice(at, at + piece), 'latin1');
        offsets[c] = at + piece;
      }
      await delay(1);
    }
    const deadline = Date.now() + 20_000;
    const replies = (c: number): string[] => parseResponses(Buffer.concat(received[c] ?? []), false).responses.map((r) => r.body.toString('latin1'));
    while (Date.now() < deadline && sockets.some((_, c) => replies(c).length < perConnection)) await delay(20);
    for (let c = 0; c < n; c++) {
      assert.deepEqual(replies(c), Array.from({ length: perConnection }, (_, i) => `/c${c}/${i} JVMRoute=conn${c}-msg${i}&Load=${(c * 7 + i) % 100}`), `connection ${c}`);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await s.close();
  }
});

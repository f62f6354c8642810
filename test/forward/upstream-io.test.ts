// What the upstream connections are built on: direct handle I/O (handle-io.ts)
// and the one-deadline timer (deadline.ts).
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Deadline } from '../../src/forward/upstream/deadline';
import { HANDLE_IO, HandleIo } from '../../src/net/handle-io';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('handle-io', () => {
  it('this Node offers what direct handle I/O needs (else every connection falls back to node:net streams)', () => {
    assert.equal(HANDLE_IO.reason, '');
    assert.notEqual(HANDLE_IO.binding, null);
  });

  it('writes reach the peer in order, whichever path each takes, and reads come through the onread buffer', async () => {
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      s.on('data', (d) => {
        got.push(d);
        if (Buffer.concat(got).toString('latin1').endsWith('END')) s.end('pong');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const buffer = Buffer.alloc(1024);
    let read = '';
    const socket = net.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', onread: { buffer, callback: () => true } });
    const io = new HandleIo(socket, (err) => assert.fail(err));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    io.attach((n) => {
      read += buffer.toString('latin1', 0, n);
      return true;
    });
    io.writeLatin1('a\u00ff-');
    io.writeBuffer(Buffer.from('b-'));
    // A large stream write queues in the socket; the direct writes after it must wait their turn.
    socket.write(Buffer.alloc(4 * 1024 * 1024, 0x78));
    io.writeLatin1('c-');
    io.writeBuffer(Buffer.from('END'));
    await new Promise<void>((resolve) => socket.once('end', resolve));
    const all = Buffer.concat(got);
    assert.equal(all.length, 4 * 1024 * 1024 + 'a\u00ff-b-c-END'.length);
    assert.equal(all.subarray(0, 5).toString('latin1'), 'a\u00ff-b-');
    assert.equal(all.subarray(all.length - 5).toString('latin1'), 'c-END');
    assert.equal(read, 'pong');
    socket.destroy();
    server.close();
  });
  it('cork()/uncork() send what was written between them in order, as one batch, after anything the stream still holds', async () => {
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      s.on('data', (d) => {
        got.push(d);
        if (Buffer.concat(got).toString('latin1').endsWith('END')) s.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
    const io = new HandleIo(socket, (err) => assert.fail(err));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    io.attach(null);
    io.cork();
    io.writeBuffer(Buffer.from('1-'));
    io.writeLatin1('2\u00e9-');
    io.writeBuffer(Buffer.from('3-'));
    io.uncork();
    // Queued in the stream first: the next batch goes the stream's way, behind it.
    socket.write(Buffer.alloc(2 * 1024 * 1024, 0x78));
    io.cork();
    io.writeBuffer(Buffer.from('4-'));
    io.writeBuffer(Buffer.from('END'));
    io.uncork();
    await new Promise<void>((resolve) => socket.once('end', resolve));
    const all = Buffer.concat(got);
    assert.equal(all.length, 2 * 1024 * 1024 + '1-2\u00e9-3-4-END'.length);
    assert.equal(all.subarray(0, 7).toString('latin1'), '1-2\u00e9-3-');
    assert.equal(all.subarray(all.length - 5).toString('latin1'), '4-END');
    socket.destroy();
    server.close();
  });
});

describe('deadline', () => {
  /** Resolves once `fired` has `n` entries (bounded: a loaded machine runs timers late, never early). */
  async function until(fired: number[], n: number, boundMs = 10_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (fired.length < n && Date.now() < deadline) await sleep(10);
  }

  it('fires once with the kind armed last, not before its time; disarm and clear keep it quiet', async () => {
    const fired: number[] = [];
    const d = new Deadline<number>((kind) => fired.push(kind));
    const t0 = Date.now();
    d.arm(1, 300);
    d.arm(2, 60_000);
    d.arm(3, 300);
    await until(fired, 1);
    assert.deepEqual(fired, [3]);
    assert.ok(Date.now() - t0 >= 290, 'not before its time');
    assert.equal(d.kind, 0);
    d.arm(2, 200);
    d.disarm();
    d.arm(6, 100);
    d.clear();
    await sleep(600);
    assert.deepEqual(fired, [3]);
  });

  it('alternating two durations (request, idle, request ...) re-arms the same two timers; only the current one counts', async () => {
    const fired: number[] = [];
    const d = new Deadline<number>((kind) => fired.push(kind));
    for (let i = 0; i < 5; i++) {
      d.arm(4, 3000);
      await sleep(10);
      d.arm(5, 1000);
      await sleep(10);
    }
    d.refresh();
    await until(fired, 1);
    assert.deepEqual(fired, [5]);
    // The 3 s timer of kind 4 still runs out meanwhile; it is not the current one, so it does nothing.
    await sleep(3500);
    assert.deepEqual(fired, [5]);
    d.clear();
  });
});

// What the upstream connections are built on: direct handle I/O (handle-io.ts)
// and the one-deadline timer (deadline.ts).
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Deadline } from '../../src/forward/upstream/deadline';
import { HANDLE_IO, HandleIo } from '../../src/forward/upstream/handle-io';

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
});

describe('deadline', () => {
  it('fires once with the kind armed last; disarm and re-arming in time keep it quiet', async () => {
    const fired: number[] = [];
    const d = new Deadline<number>((kind) => fired.push(kind));
    d.arm(1, 40);
    d.arm(2, 200);
    d.arm(3, 40);
    await sleep(120);
    assert.deepEqual(fired, [3]);
    assert.equal(d.kind, 0);
    d.arm(2, 200);
    await sleep(100);
    d.disarm();
    await sleep(200);
    assert.deepEqual(fired, [3]);
    // Alternating two durations (a keep-alive connection: request, idle, request...) keeps counting from the last arm.
    for (let i = 0; i < 5; i++) {
      d.arm(4, 60);
      await sleep(20);
      d.arm(5, 200);
      await sleep(20);
    }
    d.refresh();
    await sleep(100);
    assert.deepEqual(fired, [3]);
    await sleep(200);
    assert.deepEqual(fired, [3, 5]);
    d.arm(6, 30);
    d.clear();
    await sleep(80);
    assert.deepEqual(fired, [3, 5]);
  });
});

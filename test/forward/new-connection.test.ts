// A new client connection per request (wrk -H "Connection: close", README
// issue 10): the client's Connection header is hop-by-hop, so each response
// says close and the client connection closes, while the node keeps being
// reached over the same kept-alive connection. The common lone option is read
// in place (request/connection-option.ts); every other form takes the general
// reading, and both are checked here on the wire.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendRaw } from '../helpers/raw-http';
import { startBackend, startHarness, type Backend, type Harness } from './fixtures';

describe('a new client connection per request', () => {
  let h: Harness;
  let node: Backend;
  /** TCP connections the node accepted. */
  let nodeConnections = 0;
  before(async () => {
    // One thread: one pool, so reuse of its node connection is visible in the count.
    [h, node] = await Promise.all([startHarness({ threads: 1 }), startBackend('n')]);
    node.server.on('connection', () => nodeConnections++);
    h.addNode(0, node, [[0, '/app']]);
  });
  after(async () => {
    await h.close();
    await node.close();
  });

  const request = (connection: string, extra = ''): string => `GET /app/x HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\n${extra}\r\n`;

  it('each close request is answered with Connection: close and closed, in any spelling, over one node connection', async () => {
    const seenBefore = node.seen.length;
    const spellings = ['close', 'CLOSE', 'Close', 'close ', '\tcLoSe'];
    for (const spelling of spellings) {
      const r = await sendRaw(h.port, request(spelling), { timeoutMs: 5000 });
      assert.equal(r.responses.length, 1, JSON.stringify(spelling));
      assert.equal(r.responses[0]?.status, 200);
      assert.equal(r.responses[0]?.headers.connection, 'close', JSON.stringify(spelling));
      assert.equal(r.closed, true, `closed after ${JSON.stringify(spelling)}`);
    }
    const seen = node.seen.slice(seenBefore);
    assert.equal(seen.length, spellings.length);
    // Node's server adds no Connection header of its own to what it parsed: none came from the proxy's client.
    for (const s of seen) assert.notEqual(s.headers.connection, 'close', 'the client\u2019s close must not reach the node');
    assert.equal(nodeConnections, 1, 'the node connection is kept alive across client connections');
  });

  it('close listed with a header name: the named header is dropped and the response says close', async () => {
    // (uWS itself closes only on a lone close; the client, told close, closes its side.)
    const r = await sendRaw(h.port, request('close, X-Hop', 'X-Hop: secret\r\nX-Kept: yes\r\n'), { expect: 1, timeoutMs: 5000 });
    assert.equal(r.responses[0]?.status, 200);
    assert.equal(r.responses[0]?.headers.connection, 'close');
    const last = node.seen[node.seen.length - 1];
    assert.equal(last?.headers['x-hop'], undefined);
    assert.equal(last?.headers['x-kept'], 'yes');
  });

  it('a lone keep-alive (any case) keeps the client connection open and asks for nothing', async () => {
    for (const spelling of ['keep-alive', 'Keep-Alive', ' KEEP-ALIVE ']) {
      const r = await sendRaw(h.port, request(spelling), { expect: 1, timeoutMs: 5000 });
      assert.equal(r.responses.length, 1, JSON.stringify(spelling));
      assert.equal(r.responses[0]?.status, 200);
      assert.equal(r.responses[0]?.headers.connection, undefined, JSON.stringify(spelling));
      assert.equal(r.closed, false);
    }
    assert.equal(nodeConnections, 1);
  });
});

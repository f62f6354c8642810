// The response head a client gets from an h1 node: the status line and the
// kept header lines are relayed as the node's bytes (response/client-head.ts),
// so these tests use a node that writes exact bytes, check the client sees
// exactly the kept lines, and that no dropped header slips through.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sendRaw, type RawResponse } from '../helpers/raw-http';
import { startHarness, type Harness } from './fixtures';
import { parseResponseHead, findHeadEnd, ResponseHead } from '../../src/forward/upstream/h1/response-head';
import { ClientHeadBuilder } from '../../src/forward/response/client-head';

/** What the node answers to a path: the bytes, written in these parts with a pause between them. */
type Script = Array<string | Buffer>;

interface RawNode {
  readonly port: number;
  close(): Promise<void>;
}

/** A node speaking exact bytes: each request (no body) is answered by the script of its path; unknown paths get 404. */
async function startRawNode(scripts: Map<string, Script>): Promise<RawNode> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let data = '';
    let busy = Promise.resolve();
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      for (let end = data.indexOf('\r\n\r\n'); end >= 0; end = data.indexOf('\r\n\r\n')) {
        const head = data.slice(0, end);
        data = data.slice(end + 4);
        const path = head.split(' ')[1] ?? '';
        const script = scripts.get(path) ?? ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'];
        busy = busy.then(async () => {
          for (let i = 0; i < script.length; i++) {
            if (i > 0) await new Promise((r) => setTimeout(r, 20));
            if (socket.destroyed) return;
            const part = script[i] as string | Buffer;
            socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
          }
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Lines uWS writes itself after the node's kept lines. */
const UWS_LINE = /^(date|content-length|transfer-encoding|uwebsockets|connection): /i;

/** The node's kept lines come first, exactly; after them only uWS's own lines, with one Date. */
function assertKeptLines(res: RawResponse, kept: string[]): void {
  assert.deepEqual(res.rawHeaders.slice(0, kept.length), kept);
  const rest = res.rawHeaders.slice(kept.length);
  for (const line of rest) assert.match(line, UWS_LINE, `only uWS's own lines after the node's: ${JSON.stringify(res.rawHeaders)}`);
  assert.equal(res.rawHeaders.filter((l) => /^date:/i.test(l)).length, 1, 'one Date');
}

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
}

/** Every hop-by-hop and uWS-written header, in odd case, with a value that must not reach the client. */
const DROPPED = [
  'DATE: Mon, 01 Jan 2024 00:00:00 GMT',
  'Connection: keep-alive, X-Named, x-other',
  'X-Named: dropped-named',
  'x-OTHER: dropped-other',
  'Keep-Alive: timeout=5, dropped-ka',
  'proxy-Authenticate: dropped-proxy',
  'TE: dropped-te',
  'Trailer: dropped-trailer',
  'UPGRADE: dropped-upgrade',
];

const ODD_KEPT = ['sErVeR: odd-case', 'X-Rep: a', 'x-rep: b', 'X-Spaces:   padded  \t', 'X-Empty:', 'X-Latin: caf\xe9', 'X-Rep: c'];

function mixedHead(status: string, body: string): string {
  const lines: string[] = [];
  // Kept and dropped lines interleaved, so the block is copied in several runs.
  for (let i = 0; i < Math.max(ODD_KEPT.length, DROPPED.length); i++) {
    if (i < DROPPED.length) lines.push(DROPPED[i] as string);
    if (i < ODD_KEPT.length) lines.push(ODD_KEPT[i] as string);
  }
  return `HTTP/1.1 ${status}\r\n${lines.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

describe('the response head relayed as the bytes an h1 node sent', () => {
  let h: Harness;
  let node: RawNode;
  const bigKept: string[] = [];
  for (let i = 0; bigKept.join('\r\n').length < 60 * 1024; i++) bigKept.push(`X-Big-${i}: ${'v'.repeat(200)}`);
  const scripts = new Map<string, Script>([
    ['/app/mixed', [mixedHead('200 OK', 'hello')]],
    ['/app/custom-reason', ['HTTP/1.1 299 Fine By Me\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok']],
    ['/app/no-reason', ['HTTP/1.1 200\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok']],
    ['/app/only-dropped', ['HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok']],
    ['/app/ctl-reason', ['HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 2\r\n\r\nok']],
    [
      '/app/split',
      // The head across four reads, cut inside a name, a value and the CRLF of the blank line; the body separate.
      ['HTTP/1.1 200 OK\r\nX-Fir', 'st: one\r\nDate: x\r\nX-Second: t', 'wo\r\nContent-Length: 4\r\n\r', '\n', 'body'],
    ],
    ['/app/big', [`HTTP/1.1 200 OK\r\nDate: x\r\n${bigKept.join('\r\n')}\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nbig`]],
    ['/app/big-split', [`HTTP/1.1 200 OK\r\n${bigKept.slice(0, 100).join('\r\n')}\r\n`, `${bigKept.slice(100).join('\r\n')}\r\nContent-Length: 3\r\n\r\n`, 'big']],
    [
      '/app/cookie',
      ['HTTP/1.1 200 OK\r\nSet-Cookie: other=1; Path=/\r\nset-cookie: JSESSIONID=s1.node0; Path=/app\r\nConnection: x-sess\r\nX-Sess: gone\r\nContent-Length: 2\r\n\r\nok'],
    ],
    ['/app/head', ['HTTP/1.1 200 OK\r\nX-H: 1\r\nContent-Length: 1234\r\nConnection: X-H2\r\nX-H2: gone\r\n\r\n']],
    ['/app/te-and-cl', ['HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n']],
  ]);

  before(async () => {
    [h, node] = await Promise.all([startHarness({ threads: 1, maxSessionId: 100 }), startRawNode(scripts)]);
    h.addNode(0, node, [[0, '/app']], { route: 'node0' });
  });
  after(async () => {
    await h.close();
    await node.close();
  });

  it('keeps every other line as sent (case, repeats, spacing, obs-text), in order, and drops the hop-by-hop ones', async () => {
    // Twice: the second response comes on the node connection the first one left idle.
    for (let i = 0; i < 2; i++) {
      const res = (await sendRaw(h.port, get('/app/mixed'), { expect: 1 })).responses[0] as RawResponse;
      assert.equal(res.statusLine, 'HTTP/1.1 200 OK');
      assertKeptLines(res, ODD_KEPT);
      assert.equal(res.body.toString(), 'hello');
      const head = res.raw.subarray(0, res.raw.indexOf('\r\n\r\n')).toString('latin1');
      assert.doesNotMatch(head, /dropped|Mon, 01 Jan 2024/i, 'no dropped header reaches the client');
      assert.equal(res.rawHeaders.filter((l) => /^content-length:/i.test(l)).length, 1);
    }
  });

  it("relays the node's reason phrase, fills in the standard one when there is none, refuses one with control bytes", async () => {
    const custom = (await sendRaw(h.port, get('/app/custom-reason'), { expect: 1 })).responses[0] as RawResponse;
    assert.equal(custom.statusLine, 'HTTP/1.1 299 Fine By Me');
    assertKeptLines(custom, ['X-A: 1']);
    const none = (await sendRaw(h.port, get('/app/no-reason'), { expect: 1 })).responses[0] as RawResponse;
    assert.equal(none.statusLine, 'HTTP/1.1 200 OK');
    assertKeptLines(none, ['X-A: 1']);
    const onlyDropped = (await sendRaw(h.port, get('/app/only-dropped'), { expect: 1 })).responses[0] as RawResponse;
    assert.equal(onlyDropped.statusLine, 'HTTP/1.1 200 OK');
    assertKeptLines(onlyDropped, []);
    const ctl = (await sendRaw(h.port, get('/app/ctl-reason'), { expect: 1 })).responses[0] as RawResponse;
    assert.equal(ctl.status, 502);
    assert.ok(!ctl.raw.toString('latin1').includes('X-Injected'));
  });

  it('a head split across reads, and a 60 KiB head whole or split, reach the client line for line', async () => {
    const split = (await sendRaw(h.port, get('/app/split'), { expect: 1 })).responses[0] as RawResponse;
    assertKeptLines(split, ['X-First: one', 'X-Second: two']);
    assert.equal(split.body.toString(), 'body');
    for (const path of ['/app/big', '/app/big-split']) {
      const big = (await sendRaw(h.port, get(path), { expect: 1 })).responses[0] as RawResponse;
      assert.equal(big.status, 200, path);
      assertKeptLines(big, bigKept);
      assert.equal(big.body.toString(), 'big');
    }
  });

  it('reads the session id from Set-Cookie (sticky sessions on) and relays every Set-Cookie', async () => {
    const res = (await sendRaw(h.port, get('/app/cookie'), { expect: 1 })).responses[0] as RawResponse;
    assertKeptLines(res, ['Set-Cookie: other=1; Path=/', 'set-cookie: JSESSIONID=s1.node0; Path=/app']);
    const deadline = Date.now() + 5000;
    while (!h.sessions.some((s) => s.sessionId === 's1.node0') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      h.sessions.find((s) => s.sessionId === 's1.node0'),
      { sessionId: 's1.node0', route: 'node0' },
    );
  });

  it('HEAD keeps the length it announces, drops what Connection names; Connection: close from the client is added', async () => {
    const r = await sendRaw(h.port, `HEAD /app/head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, { expect: 1, headOnly: new Set([0]) });
    const res = r.responses[0] as RawResponse;
    assertKeptLines(res, ['X-H: 1']);
    assert.equal(res.headers['content-length'], '1234');
    assert.equal(res.headers.connection, 'close');
    assert.ok(!res.raw.toString('latin1').includes('gone'));
  });

  it('a Content-Length that Transfer-Encoding overrides is not relayed: the body goes chunked', async () => {
    const res = (await sendRaw(h.port, get('/app/te-and-cl'), { expect: 1 })).responses[0] as RawResponse;
    assertKeptLines(res, ['X-A: 1']);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.body.toString(), 'abc');
  });
});

describe('client head blocks (response/client-head.ts)', () => {
  function parsed(text: string): ResponseHead {
    const buf = Buffer.from(text, 'latin1');
    const head = new ResponseHead();
    parseResponseHead(buf, 0, findHeadEnd(buf, 0, buf.length), head);
    return head;
  }

  it('builds the same block from the raw head as from its header pairs (AJP and undici path), for one set of rules', () => {
    const heads = [
      `HTTP/1.1 200 OK\r\n${DROPPED.join('\r\n')}\r\nX-A: 1\r\nContent-Length: 5\r\nSet-Cookie: JSESSIONID=a.b\r\n\r\n`,
      'HTTP/1.1 404 Not Found\r\nServer: s\r\nX-Named: a\r\nConnection: X-NAMED\r\n\r\n',
      'HTTP/1.0 200 OK\r\nDate: d\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 201 Made\r\n\r\n',
      'HTTP/1.1 200\r\nA: b\r\n\r\n',
    ];
    const builder = new ClientHeadBuilder();
    for (const text of heads) {
      const head = parsed(text);
      const raw = builder.fromRaw(head, 'JSESSIONID').toString('latin1');
      const rawLength = builder.contentLength;
      const rawSession = builder.sessionId;
      const pairs = builder.fromPairs(head.status, head.statusText, head.headerBuffers(), 'JSESSIONID').toString('latin1');
      assert.equal(raw, pairs, text);
      assert.equal(rawLength, builder.contentLength, text);
      assert.equal(rawSession, builder.sessionId, text);
    }
    const first = parsed(heads[0] as string);
    assert.equal(builder.fromRaw(first, 'JSESSIONID').toString('latin1'), '200 OK\r\nX-A: 1\r\nSet-Cookie: JSESSIONID=a.b');
    assert.equal(builder.contentLength, 5);
    assert.equal(builder.sessionId, 'a.b');
    assert.equal(builder.fromRaw(first, '').toString('latin1'), '200 OK\r\nX-A: 1\r\nSet-Cookie: JSESSIONID=a.b');
    assert.equal(builder.sessionId, '', 'no session id read when sessions are off');
  });

  it('never builds a block where one still lent out lies, and builds there again once it is given back', () => {
    const builder = new ClientHeadBuilder();
    const a = parsed('HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n');
    const b = parsed('HTTP/1.1 200 OK\r\nX-B: 2\r\n\r\n');
    const first = builder.fromRaw(a, '');
    const second = builder.fromRaw(b, '');
    assert.equal(first.toString('latin1'), '200 OK\r\nX-A: 1', 'the lent block is not overwritten');
    assert.equal(second.toString('latin1'), '200 OK\r\nX-B: 2');
    assert.notEqual(first.buffer, second.buffer);
    builder.giveBack(second);
    assert.equal(builder.fromRaw(b, '').toString('latin1'), '200 OK\r\nX-B: 2', 'giving back a block not lent frees nothing');
    builder.giveBack(first);
    const third = builder.fromRaw(b, '');
    assert.equal(third.toString('latin1'), '200 OK\r\nX-B: 2');
    assert.equal(third.buffer, first.buffer, 'the same memory once given back');
    builder.giveBack(third);
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'v'.repeat(2000)}\r\n\r\n`;
    const large = builder.fromRaw(parsed(big), '');
    assert.equal(large.toString('latin1'), big.slice(9, -4));
    assert.notEqual(large.buffer, first.buffer);
  });

  it('finds the end of a head cut anywhere when the search resumes 3 bytes before the cut', () => {
    for (const text of ['HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody', 'HTTP/1.1 200 OK\n\nbody', 'HTTP/1.1 204 No Content\r\n\r\n']) {
      const buf = Buffer.from(text, 'latin1');
      const whole = findHeadEnd(buf, 0, buf.length);
      assert.ok(whole > 0, text);
      for (let cut = 1; cut < whole; cut++) {
        assert.equal(findHeadEnd(buf, 0, cut), -1, `${JSON.stringify(text)} cut at ${cut}`);
        assert.equal(findHeadEnd(buf, Math.max(0, cut - 3), buf.length), whole, `${JSON.stringify(text)} resumed at ${cut}`);
      }
    }
  });

  it('refuses what must not be relayed as bytes: bare CR or LF, control bytes, a name without a colon', () => {
    const refused: Array<[string, RegExp]> = [
      ['HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n', /invalid header value/],
      ['HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n', /invalid header value/],
      ['HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n', /invalid header value/],
      ['HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n', /bare LF/],
      ['HTTP/1.1 200 OK\r\nA\nB: c\r\n\r\n', /bare LF/],
      ['HTTP/1.1 200 OK\r\nA b: c\r\n\r\n', /invalid header name/],
      ['HTTP/1.1 200 OK\r\nAb\r\n\r\n', /invalid header name/],
      ['HTTP/1.1 200 OK\r\n folded\r\n\r\n', /folding/],
      ['HTTP/1.1 200 OK\nA: b\r\n\r\n', /bare LF/],
      ['HTTP/1.1 200 OK\rA: b\r\n\r\n', /bare CR|reason phrase/],
      ['HTTP/1.1\x01200 OK\r\n\r\n', /status line/],
      ['HTTP/1.1 200 OK\r\nA: b\r\n\r\r\n\r\n', /invalid header name/],
    ];
    for (const [text, error] of refused) assert.throws(() => parsed(text), error, JSON.stringify(text));
    const ok = parsed('HTTP/1.1 200 OK\r\nA:\t b \xff\t\r\nB:\r\n\r\n');
    assert.deepEqual(
      ok.headerBuffers().map((b) => b.toString('latin1')),
      ['A', 'b \xff', 'B', ''],
    );
  });

  it('takes a head of 10 000 lines, and a connection does not keep its offsets afterwards', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? `a${i}: b` : 'Date: x'));
    const head = parsed(`HTTP/1.1 200 OK\r\n${lines.join('\r\n')}\r\n\r\n`);
    assert.equal(head.headerCount, 10_000);
    const block = new ClientHeadBuilder().fromRaw(head, '').toString('latin1');
    assert.deepEqual(block.split('\r\n'), ['200 OK', ...lines.filter((l) => l !== 'Date: x')]);
    head.release();
    assert.ok(head.fields.length <= 256 * 4, `fields kept: ${head.fields.length}`);
  });

  it('refuses control bytes in the reason phrase before anything is relayed', () => {
    assert.throws(() => parsed('HTTP/1.1 200 O\x01K\r\n\r\n'), /reason phrase/);
    assert.throws(() => parsed('HTTP/1.1 200 OK\x7f\r\n\r\n'), /reason phrase/);
    assert.equal(parsed('HTTP/1.1 200 O\tK \xe9\r\n\r\n').statusText, 'O\tK \xe9');
  });
});

// Routing through real forwarding threads: contexts and their states, sticky
// sessions, table changes under load, WaitWorker, --docroot, session reports.
import net from 'node:net';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContextStatus } from '../../src/slots/rows';
import { sendRaw } from '../helpers/raw-http';
import {
  contextRow,
  fetchText,
  json,
  newAgent,
  nowSeconds,
  startBackend,
  startHarness,
  waitFor,
  type Backend,
  type Harness,
} from './fixtures';

describe('routing by context and state', () => {
  let h: Harness;
  let a: Backend;
  let b: Backend;
  const agent = newAgent();
  before(async () => {
    [h, a, b] = await Promise.all([startHarness(), startBackend('a'), startBackend('b')]);
    h.addNode(0, a, [[0, '/app']]);
    h.addNode(1, b, [[1, '/shop']]);
  });
  after(async () => {
    await agent.close();
    await h.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('sends each context to the node that serves it, with the path and query untouched', async () => {
    const r1 = await fetchText(agent, h.origin, '/app/page;x=1?q=%20a&b');
    assert.equal(r1.status, 200);
    assert.equal(json(r1).backend, 'a');
    assert.equal(json(r1).url, '/app/page;x=1?q=%20a&b');
    const r2 = await fetchText(agent, h.origin, '/shop');
    assert.equal(json(r2).backend, 'b');
    const r3 = await fetchText(agent, h.origin, '/shop/cart', { method: 'POST', body: 'x=1' });
    assert.equal(json(r3).backend, 'b');
    assert.equal(json(r3).method, 'POST');
    assert.equal(json(r3).bodyBytes, 3);
  });

  it('answers ResponseStatusCodeOnNoContext (404) for a path no context matches', async () => {
    const r = await fetchText(agent, h.origin, '/application');
    assert.equal(r.status, 404);
    assert.equal(a.seen.some((s) => s.url === '/application'), false);
  });

  it('a DISABLED context takes only requests with a session; a STOPPED one takes none', async () => {
    h.publish({ contexts: [contextRow(0, '/app', 0, ContextStatus.Disabled)] });
    assert.equal((await fetchText(agent, h.origin, '/app/x')).status, 404);
    const sticky = await fetchText(agent, h.origin, '/app/x', { headers: { cookie: 'JSESSIONID=s1.node0' } });
    assert.equal(sticky.status, 200);
    assert.equal(json(sticky).backend, 'a');
    h.publish({ contexts: [contextRow(0, '/app', 0, ContextStatus.Stopped)] });
    assert.equal((await fetchText(agent, h.origin, '/app/x', { headers: { cookie: 'JSESSIONID=s1.node0' } })).status, 404);
    h.publish({ contexts: [contextRow(0, '/app', 0, ContextStatus.Enabled)] });
    assert.equal((await fetchText(agent, h.origin, '/app/x')).status, 200);
  });

  it('the counters are back to zero once the requests are over', async () => {
    // A request stops counting before its last bytes are sent: a client that
    // has its response never sees it still counted (STOP-APP's Requests=).
    for (let i = 0; i < 20; i++) {
      assert.equal((await fetchText(agent, h.origin, '/app/y')).status, 200);
      assert.equal(h.counters.busy(0), 0);
      assert.equal(h.counters.contextRequests(0), 0);
    }
    assert.ok(h.counters.read(0) > 0n, 'bytes read from the node are counted');
    const before = h.counters.transferred(1);
    await fetchText(agent, h.origin, '/shop', { method: 'PUT', body: 'x'.repeat(1000) });
    assert.equal(h.counters.transferred(1) - before, 1000n);
  });
});

describe('sticky sessions', () => {
  let h: Harness;
  let a: Backend;
  let b: Backend;
  const agent = newAgent();
  before(async () => {
    [h, a, b] = await Promise.all([startHarness({ maxSessionId: 100 }), startBackend('a', sessionHandler), startBackend('b', sessionHandler)]);
    h.addNode(0, a, [[0, '/app']]);
    h.addNode(1, b, [[1, '/app']]);
  });
  after(async () => {
    await agent.close();
    await h.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('spreads requests without a session over both nodes', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await fetchText(agent, h.origin, '/app/')).body);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('keeps a session cookie on the node its route names', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await fetchText(agent, h.origin, '/app/', { headers: { cookie: 'other=1; JSESSIONID=abc.node1' } });
      assert.equal(r.body, 'b');
    }
  });

  it('keeps a ;jsessionid= path parameter on its node', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await fetchText(agent, h.origin, '/app/x;jsessionid=abc.node0')).body, 'a');
  });

  it('reports the session ids of responses to the primary, with the replaced id', async () => {
    const reported = (id: string) => h.sessions.find((s) => s.sessionId === id);
    await fetchText(agent, h.origin, '/app/login', { headers: { cookie: 'JSESSIONID=old1.node0' } });
    await waitFor(() => reported('new-a.node0') !== undefined, 2000, 'the new session id');
    assert.deepEqual(reported('new-a.node0'), { sessionId: 'new-a.node0', route: 'node0', oldSessionId: 'old1.node0' });
    await fetchText(agent, h.origin, '/app/page', { headers: { cookie: 'JSESSIONID=keep.node1' } });
    await waitFor(() => reported('keep.node1') !== undefined, 2000, 'the kept session id');
    assert.deepEqual(reported('keep.node1'), { sessionId: 'keep.node1', route: 'node1' });
    // A response that sets only other cookies and a request without session report nothing.
    const count = h.sessions.length;
    await fetchText(agent, h.origin, '/app/page');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(h.sessions.length, count);
  });
});

/** Answers its name; /app/login sets a new session cookie routed to this node. */
function sessionHandler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, name: string): void {
  req.resume();
  req.on('end', () => {
    if (req.url === '/app/login') res.setHeader('set-cookie', [`other=x; Path=/`, `JSESSIONID=new-${name}.node${name === 'a' ? 0 : 1}; Path=/app; HttpOnly`]);
    res.end(name);
  });
}

describe('tables changing under load', () => {
  it('a node added or removed takes effect from the next request on every thread', async () => {
    const [h, a, b] = await Promise.all([startHarness({ threads: 2 }), startBackend('a'), startBackend('b')]);
    const agent = newAgent(16);
    let clients: Array<Promise<void>> = [];
    let stop = false;
    try {
      h.addNode(0, a, [[0, '/app']]);
      let phase = 0;
      const wrong: string[] = [];
      const byPhase = [new Set<string>(), new Set<string>(), new Set<string>()];
      const client = async (): Promise<void> => {
        // Bounded in count; the phases below end it much earlier on any machine.
        for (let i = 0; i < 20_000 && !stop; i++) {
          const started = phase;
          const r = await fetchText(agent, h.origin, '/app/x');
          if (r.status !== 200) wrong.push(`status ${r.status} in phase ${started}`);
          else {
            const who = json(r).backend;
            byPhase[started]?.add(who);
            // Sent after the removal was published: node a must not see it.
            if (started === 2 && who !== 'b') wrong.push(`phase 2 reached ${who}`);
          }
        }
      };
      clients = Array.from({ length: 8 }, () => client());
      // Each phase lasts until its requests have been answered (event-driven, not timed: a loaded machine only slows it).
      await waitFor(() => (byPhase[0]?.size ?? 0) > 0, 30_000, 'requests to node a');
      assert.deepEqual([...(byPhase[0] ?? [])], ['a']);
      h.addNode(1, b, [[1, '/app']]);
      phase = 1;
      await waitFor(() => (byPhase[1]?.has('b') ?? false) && (byPhase[1]?.has('a') ?? false), 30_000, 'both nodes in use');
      h.publish({ nodes: [[0, undefined]], contexts: [[0, undefined]] });
      phase = 2;
      await waitFor(() => (byPhase[2]?.size ?? 0) > 0, 30_000, 'requests after the removal');
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(wrong, []);
      assert.ok((byPhase[2]?.size ?? 0) === 1, 'requests were sent after the removal');
    } finally {
      // A failed assertion must not close the agent under running loops (their rejections would outlive the test).
      stop = true;
      await Promise.allSettled(clients);
      await agent.close();
      await h.close();
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('WaitWorker', () => {
  it('waits for a worker to become usable instead of answering 503 at once, up to WaitWorker', async () => {
    const [h, a] = await Promise.all([startHarness({ balancer: { waitWorkerUs: 3_000_000 } }), startBackend('a')]);
    const agent = newAgent();
    try {
      h.addNode(0, a, [[0, '/app']]);
      h.counters.markError(0, nowSeconds());
      let started = Date.now();
      const pending = fetchText(agent, h.origin, '/app/');
      setTimeout(() => h.counters.applyLoad(0, 100, nowSeconds()), 200);
      const r = await pending;
      const waited = Date.now() - started;
      assert.equal(r.status, 200);
      // Answered once the node is usable (~200 ms), well before WaitWorker (3 s) runs out.
      assert.ok(waited >= 150 && waited < 2500, `waited ${waited} ms`);
      h.counters.markError(0, nowSeconds());
      started = Date.now();
      const r2 = await fetchText(agent, h.origin, '/app/');
      const waited2 = Date.now() - started;
      assert.equal(r2.status, 503);
      assert.ok(waited2 >= 2950 && waited2 < 30_000, `gave up after ${waited2} ms`);
    } finally {
      await agent.close();
      await h.close();
      await a.close();
    }
  });
});

describe('requests no balancer takes: --docroot', () => {
  let h: Harness;
  let a: Backend;
  let dir: string;
  const agent = newAgent();
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-docroot-'));
    const root = path.join(dir, 'www');
    fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>');
    fs.writeFileSync(path.join(root, 'style.css'), 'body{}');
    fs.writeFileSync(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>');
    fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(300_000, 7));
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link.txt'));
    [h, a] = await Promise.all([startHarness({ docroot: root }), startBackend('a')]);
    h.addNode(0, a, [[0, '/app']]);
  });
  after(async () => {
    await agent.close();
    await h.close();
    await a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves files with a Content-Type by extension, index.html for directories', async () => {
    const home = await fetchText(agent, h.origin, '/');
    assert.equal(home.status, 200);
    assert.equal(home.body, '<h1>home</h1>');
    assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
    const css = await fetchText(agent, h.origin, '/style.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await fetchText(agent, h.origin, '/docs/')).body, '<h1>docs</h1>');
    const big = await fetchText(agent, h.origin, '/big.bin');
    assert.equal(big.headers['content-length'], '300000');
    assert.equal(big.body.length, 300_000);
    assert.equal(h.counters.busy(0), 0);
  });

  it('HEAD gives the length without a body; other methods get 405; a missing file 404', async () => {
    const head = await sendRaw(h.port, 'HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1, headOnly: new Set([0]) });
    assert.equal(head.responses[0]?.status, 200);
    assert.equal(head.responses[0]?.headers['content-length'], '6');
    assert.equal(head.rest.length, 0);
    assert.equal((await fetchText(agent, h.origin, '/style.css', { method: 'DELETE' })).status, 405);
    assert.equal((await fetchText(agent, h.origin, '/nope.html')).status, 404);
  });

  it('never serves a file outside the docroot (dot segments, encoded or not, and symlinks)', async () => {
    for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/link.txt', '/%00']) {
      const r = await sendRaw(h.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, { expect: 1 });
      const status = r.responses[0]?.status;
      assert.ok(status === 404 || status === 400 || r.closed, `${target}: ${status}`);
      assert.equal(r.responses[0]?.body.toString().includes('secret'), false, target);
    }
  });

  it('still proxies mapped contexts', async () => {
    assert.equal(json(await fetchText(agent, h.origin, '/app/')).backend, 'a');
  });
});

describe('ajp nodes', () => {
  it('get traffic like HTTP nodes: one that refuses connections is put in error, GETs fail over, a context only it serves answers 503', async () => {
    const [h, b] = await Promise.all([startHarness(), startBackend('b')]);
    const agent = newAgent();
    // A port nothing listens on (taken from the kernel, then released).
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    try {
      h.addNode(0, { port: closed }, [[0, '/app']], { type: 'ajp' }, 100);
      h.addNode(1, b, [[1, '/app']], {}, 1);
      for (let i = 0; i < 6; i++) {
        const r = await fetchText(agent, h.origin, '/app/x');
        assert.equal(r.status, 200);
        assert.equal(json(r).backend, 'b');
      }
      assert.ok(h.counters.errorTime(0) > 0, 'the ajp node was tried and put in error');
      h.addNode(2, { port: closed }, [[2, '/only-ajp']], { type: 'ajp' });
      assert.equal((await fetchText(agent, h.origin, '/only-ajp/')).status, 503);
    } finally {
      await agent.close();
      await h.close();
      await b.close();
    }
  });
});

describe("a node's connection settings", () => {
  it('smax caps the connections to the node; ttl closes them when idle', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const closedAt: number[] = [];
    const [h, a] = await Promise.all([
      startHarness({ threads: 1 }),
      startBackend('a', (req, res) => {
        if (!sockets.has(req.socket)) {
          sockets.add(req.socket);
          req.socket.once('close', () => closedAt.push(Date.now()));
        }
        req.resume();
        setTimeout(() => res.end('ok'), 30);
      }),
    ]);
    const agent = newAgent(8);
    try {
      h.addNode(0, a, [[0, '/app']], { smax: 1, ttlUs: 300_000 });
      const replies = await Promise.all(Array.from({ length: 6 }, () => fetchText(agent, h.origin, '/app/')));
      const done = Date.now();
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
      );
      assert.equal(sockets.size, 1, 'one connection to the node');
      await waitFor(() => closedAt.length === 1, 3000, 'the idle connection to close');
      const idle = (closedAt[0] as number) - done;
      assert.ok(idle >= 200 && idle < 2000, `closed after ${idle} ms idle`);
    } finally {
      await agent.close();
      await h.close();
      await a.close();
    }
  });
});

// HTTP/1.1 semantics of the forwarding path, checked on the wire: hop-by-hop
// headers, X-Forwarded-*, Host, HEAD/204/304, chunked both ways, Expect:
// 100-continue, and the session strip of remove-on-failover.
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseResponses, sendRaw, type RawResponse } from '../helpers/raw-http';
import { echoHandler, fetchText, json, newAgent, nowSeconds, startBackend, startHarness, type Backend, type Harness } from './fixtures';

/** Back end for this file: special paths answer specially, everything else echoes. */
function semanticsHandler(req: http.IncomingMessage, res: http.ServerResponse, name: string): void {
  const url = req.url ?? '';
  if (url === '/app/hop') {
    req.resume();
    res.writeHead(200, {
      connection: 'keep-alive, x-resp-hop',
      'keep-alive': 'timeout=60',
      'x-resp-hop': 'must-go',
      'proxy-authenticate': 'Basic',
      'x-normal': 'stays',
      'content-length': '2',
    });
    res.end('ok');
    return;
  }
  if (url === '/app/head') {
    req.resume();
    res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' });
    res.end();
    return;
  }
  if (url === '/app/204') {
    req.resume();
    res.writeHead(204, { 'x-kind': 'no-content' });
    res.end();
    return;
  }
  if (url === '/app/304') {
    req.resume();
    res.writeHead(304, { etag: '"v1"', 'content-length': '10' });
    res.end();
    return;
  }
  if (url === '/app/chunked') {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const timer = setInterval(() => {
      res.write(`part${i}-`);
      if (++i === 5) {
        clearInterval(timer);
        res.end('end');
      }
    }, 5);
    return;
  }
  echoHandler(req, res, name);
}

/**
 * Sends the requests one after the other on one connection, each once the
 * previous response is complete; fails if a response does not come in 3 s or
 * bytes follow the last one.
 */
async function sequential(port: number, requests: string[]): Promise<RawResponse[]> {
  const socket = net.connect(port, '127.0.0.1');
  let data = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const heads = new Set(requests.flatMap((r, i) => (r.startsWith('HEAD ') ? [i] : [])));
  try {
    for (let i = 0; i < requests.length; i++) {
      socket.write(requests[i] as string);
      const deadline = Date.now() + 3000;
      while (parseResponses(data, false, heads).responses.length <= i) {
        if (Date.now() > deadline) throw new Error(`no response to ${JSON.stringify(requests[i])}: ${JSON.stringify(data.toString('latin1'))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    const { responses, rest } = parseResponses(data, false, heads);
    assert.equal(rest.length, 0, `bytes after the last response: ${JSON.stringify(rest.toString('latin1'))}`);
    return responses;
  } finally {
    socket.destroy();
  }
}

describe('HTTP semantics through the proxy', () => {
  let h: Harness;
  let a: Backend;
  let gone: Backend;
  let b: Backend;
  const agent = newAgent();
  before(async () => {
    [h, a, b] = await Promise.all([
      startHarness({ balancer: { stickySessionRemove: true } }),
      startBackend('a', semanticsHandler),
      startBackend('b', semanticsHandler),
    ]);
    gone = await startBackend('gone');
    h.addNode(0, a, [[0, '/app']]);
  });
  after(async () => {
    await agent.close();
    await h.close();
    await Promise.all([a.close(), b.close(), gone.close()]);
  });

  it('drops hop-by-hop request headers, keeps Host, adds X-Forwarded-For/-Proto/-Host', async () => {
    const r = await sendRaw(
      h.port,
      'GET /app/x HTTP/1.1\r\nHost: shop.example:8443\r\nConnection: keep-alive, X-Custom-Hop\r\nKeep-Alive: timeout=5\r\n' +
        'X-Custom-Hop: 1\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n' +
        'X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Other: kept\r\n\r\n',
      { expect: 1 },
    );
    assert.equal(r.responses[0]?.status, 200);
    const seen = JSON.parse(r.responses[0]?.body.toString() ?? '{}') as { headers: Record<string, string> };
    const hd = seen.headers;
    for (const gone of ['x-custom-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'expect', 'upgrade']) {
      assert.equal(hd[gone], undefined, `${gone} must not reach the node`);
    }
    assert.equal(hd.host, 'shop.example:8443');
    assert.equal(hd['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
    assert.equal(hd['x-forwarded-proto'], 'http');
    assert.equal(hd['x-forwarded-host'], 'shop.example:8443');
    assert.equal(hd['x-other'], 'kept');
  });

  it('drops hop-by-hop response headers (and those Connection names), uWS frames the body', async () => {
    const r = await sendRaw(h.port, 'GET /app/hop HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
    const res = r.responses[0];
    assert.ok(res);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-normal'], 'stays');
    assert.equal(res.headers['x-resp-hop'], undefined);
    assert.equal(res.headers['keep-alive'], undefined);
    assert.equal(res.headers['proxy-authenticate'], undefined);
    assert.equal(res.headers.connection, undefined);
    assert.equal(res.headers['content-length'], '2');
    assert.equal(res.rawHeaders.filter((l) => /^date:/i.test(l)).length, 1, 'one Date header');
    assert.equal(res.body.toString(), 'ok');
  });

  it('a client that asks for Connection: close is told so, and the connection closes', async () => {
    const proxied = await sendRaw(h.port, 'GET /app/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
    assert.equal(proxied.responses[0]?.status, 200);
    assert.equal(proxied.responses[0]?.headers.connection, 'close');
    assert.equal(proxied.closed, true);
    const local = await sendRaw(h.port, 'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
    assert.equal(local.responses[0]?.status, 404);
    assert.equal(local.responses[0]?.headers.connection, 'close');
    assert.equal(local.closed, true);
    for (const r of [proxied, local]) {
      assert.equal(r.responses[0]?.rawHeaders.filter((l) => /^connection:/i.test(l)).length, 1, 'one Connection header');
    }
  });

  it('HEAD, 204 and 304 carry no body and leave the connection usable', async () => {
    // One connection, one request at a time: a body sent where none belongs
    // would be read as the start of the next response.
    const replies = await sequential(h.port, [
      'HEAD /app/head HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /app/204 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /app/304 HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\n\r\n',
      'GET /app/again HTTP/1.1\r\nHost: x\r\n\r\n',
    ]);
    const [head, noContent, notModified, again] = replies;
    assert.equal(head?.status, 200);
    assert.equal(head?.headers['content-length'], '1234');
    assert.equal(noContent?.status, 204);
    assert.equal(noContent?.headers['x-kind'], 'no-content');
    assert.equal(noContent?.headers['content-length'], undefined);
    assert.equal(notModified?.status, 304);
    assert.equal(notModified?.headers.etag, '"v1"');
    assert.equal(notModified?.headers['content-length'], '10');
    assert.equal(again?.status, 200);
    assert.equal((JSON.parse(again?.body.toString() ?? '{}') as { url: string }).url, '/app/again');
  });

  it('streams a chunked request body to the node and a chunked response back', async () => {
    // The body is still coming when the request is dispatched: the node gets it chunked.
    const socket = net.connect(h.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /app/up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await new Promise((r) => setTimeout(r, 100));
    socket.write('6\r\n world\r\n0\r\n\r\n');
    const deadline = Date.now() + 3000;
    while (parseResponses(Buffer.concat(chunks), false).responses.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    const up = parseResponses(Buffer.concat(chunks), false).responses[0];
    const echoed = JSON.parse(up?.body.toString() ?? '{}') as { bodyBytes: number; headers: Record<string, string> };
    assert.equal(echoed.bodyBytes, 11);
    assert.equal(echoed.headers['transfer-encoding'], 'chunked');
    assert.equal(echoed.headers['content-length'], undefined);
    const down = await sendRaw(h.port, 'GET /app/chunked HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
    const res = down.responses[0];
    assert.ok(res);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.toString(), 'part0-part1-part2-part3-part4-end');
  });

  it('answers Expect: 100-continue, then forwards the body (without the Expect header)', async () => {
    const socket = net.connect(h.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('PUT /app/doc HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    const deadline = Date.now() + 2000;
    while (!Buffer.concat(chunks).toString().includes('100 Continue') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    socket.write('abcde');
    while (parseResponses(Buffer.concat(chunks), false).responses.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    const [, final] = parseResponses(Buffer.concat(chunks), false).responses;
    assert.equal(final?.status, 200);
    const echoed = JSON.parse(final?.body.toString() ?? '{}') as { bodyBytes: number; headers: Record<string, string> };
    assert.equal(echoed.bodyBytes, 5);
    assert.equal(echoed.headers.expect, undefined);
  });

  it('remove-on-failover strips the session id of a failed-over request from the URL and the cookie', async () => {
    // node9 exists but is in error: its sessions fail over to node1 without their id.
    h.addNode(1, b, [[1, '/app']]);
    h.addNode(2, gone, [[2, '/app']], { route: 'node9' });
    h.counters.applyLoad(0, -1, nowSeconds());
    h.counters.markError(2, nowSeconds());
    // The name that matched is the one stripped (D7): the cookie here...
    const byCookie = await fetchText(agent, h.origin, '/app/x?a=1', { headers: { cookie: 'a=1; JSESSIONID=abc.node9; b=2' } });
    assert.equal(byCookie.status, 200);
    const seen = json(byCookie);
    assert.equal(seen.backend, 'b');
    assert.equal(seen.headers.cookie?.includes('JSESSIONID'), false, seen.headers.cookie);
    assert.match(seen.headers.cookie ?? '', /a=1/);
    assert.match(seen.headers.cookie ?? '', /b=2/);
    // ...the path parameter there.
    const byPath = json(await fetchText(agent, h.origin, '/app/x;jsessionid=abc.node9?a=1'));
    assert.equal(byPath.backend, 'b');
    assert.equal(byPath.url.includes('abc.node9'), false, byPath.url);
    assert.match(byPath.url, /a=1/);
    // A session whose node is fine keeps its id.
    const kept = json(await fetchText(agent, h.origin, '/app/x', { headers: { cookie: 'JSESSIONID=abc.node1' } }));
    assert.equal(kept.headers.cookie, 'JSESSIONID=abc.node1');
  });
});

describe('the path sent to the node (UseNocanon, MCMP.md §5.12)', () => {
  for (const useNocanon of [false, true]) {
    it(`UseNocanon ${useNocanon ? 'On forwards the raw path' : 'Off (default) re-canonicalises the path'} (MODCLUSTER-640)`, async () => {
      const [h, a] = await Promise.all([startHarness({ useNocanon }), startBackend('a')]);
      try {
        h.addNode(0, a, [[0, '/webapp1']]);
        const r = await sendRaw(h.port, 'GET /webapp1/jsr%3aroot/toto?q=%3a HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
        const seen = JSON.parse(r.responses[0]?.body.toString() ?? '{}') as { url: string };
        assert.equal(seen.url, useNocanon ? '/webapp1/jsr%3aroot/toto?q=%3a' : '/webapp1/jsr:root/toto?q=%3a');
      } finally {
        await h.close();
        await a.close();
      }
    });
  }
});

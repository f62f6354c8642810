// The small pure pieces of the forwarding path, on their own.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connectionTokens, ResponseHeader, responseHeaderKind } from '../../src/forward/response/head-rules';
import { statusLine } from '../../src/forward/response/replies';
import { decodeSessionBatch, sessionIdFromSetCookie } from '../../src/forward/sessions';
import { contentTypeOf, StaticFiles } from '../../src/forward/static/files';
import { nodeOrigin } from '../../src/forward/upstream/upstreams';
import { pack } from 'msgpackr';
import { nodeRow } from './fixtures';

describe('response header classification', () => {
  const kind = (name: string): ResponseHeader => responseHeaderKind(Buffer.from(name, 'latin1'));
  it('drops hop-by-hop headers and the ones uWS writes itself, in any case', () => {
    for (const name of ['Connection', 'connection']) assert.equal(kind(name), ResponseHeader.Connection);
    for (const name of ['Keep-Alive', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authenticate', 'proxy-whatever', 'Date', 'DATE']) {
      assert.equal(kind(name), ResponseHeader.Drop, name);
    }
    assert.equal(kind('Content-Length'), ResponseHeader.ContentLength);
    assert.equal(kind('Set-Cookie'), ResponseHeader.SetCookie);
    for (const name of ['Content-Type', 'Server', 'X-Proxy', 'proxy-', 'Dates', 'Tee', 'Upgrades', 'ETag', 'Location', 'X-Keep-Alive']) {
      assert.equal(kind(name), ResponseHeader.Forward, name);
    }
  });
  it('reads the names a Connection header lists', () => {
    assert.deepEqual(connectionTokens('keep-alive, X-Foo ,close,,x-bar'), ['x-foo', 'x-bar']);
    assert.deepEqual(connectionTokens('close'), []);
  });
});

describe('session cookies in responses', () => {
  it('finds the value of the named cookie only', () => {
    assert.equal(sessionIdFromSetCookie('JSESSIONID=abc.node1; Path=/; HttpOnly', 'JSESSIONID'), 'abc.node1');
    assert.equal(sessionIdFromSetCookie(' JSESSIONID = "q.n2" ;Path=/', 'JSESSIONID'), 'q.n2');
    assert.equal(sessionIdFromSetCookie('JSESSIONID=last.n3', 'JSESSIONID'), 'last.n3');
    assert.equal(sessionIdFromSetCookie('JSESSIONIDX=abc.node1', 'JSESSIONID'), '');
    assert.equal(sessionIdFromSetCookie('jsessionid=abc.node1', 'JSESSIONID'), '');
    assert.equal(sessionIdFromSetCookie('other=1; JSESSIONID=abc', 'JSESSIONID'), '');
  });
  it('decodes a msgpackr batch, and nothing from garbage shapes', () => {
    const batch = [{ sessionId: 'a.n1', route: 'n1' }, { sessionId: 'b.n2', route: 'n2', oldSessionId: 'a.n1' }];
    assert.deepEqual(decodeSessionBatch(new Uint8Array(pack(batch))), batch);
    assert.deepEqual(decodeSessionBatch(new Uint8Array(pack({ not: 'a list' }))), []);
  });
});

describe('small helpers', () => {
  it('status lines keep a custom reason and know the standard ones', () => {
    assert.equal(statusLine(503), '503 Service Unavailable');
    assert.equal(statusLine(200, 'OK'), '200 OK');
    assert.equal(statusLine(200, 'Fine'), '200 Fine');
    assert.equal(statusLine(299), '299 Unknown');
  });
  it('node origins: http/ws, https/wss, IPv6 in brackets; ajp has none (it has its own client)', () => {
    assert.equal(nodeOrigin(nodeRow(0, 'n', 8080)), 'http://127.0.0.1:8080');
    assert.equal(nodeOrigin(nodeRow(0, 'n', 8443, { type: 'wss', host: '::1' })), 'https://[::1]:8443');
    assert.equal(nodeOrigin(nodeRow(0, 'n', 80, { type: 'ws', host: 'app.local' })), 'http://app.local:80');
    assert.equal(nodeOrigin(nodeRow(0, 'n', 8009, { type: 'ajp' })), null);
  });
  it('content types by extension', () => {
    assert.equal(contentTypeOf('/x/INDEX.HTML'), 'text/html; charset=utf-8');
    assert.equal(contentTypeOf('/x/a.woff2'), 'font/woff2');
    assert.equal(contentTypeOf('/x/noext'), 'application/octet-stream');
  });
  it('docroot paths never leave the docroot', () => {
    const files = new StaticFiles('/srv/www');
    assert.equal(files.resolvePath('/a/b.html?x=1'), path.join('/srv/www', 'a/b.html'));
    assert.equal(files.resolvePath('/a;jsessionid=1'), path.join('/srv/www', 'a'));
    assert.equal(files.resolvePath('/%61.txt'), path.join('/srv/www', 'a.txt'));
    assert.equal(files.resolvePath('/'), path.join('/srv/www', '/'));
    for (const bad of ['/../etc/passwd', '/a/../../etc', '/%2e%2e/x', '/..%2fx', '/%zz', '/a%00b', 'relative']) {
      const got = files.resolvePath(bad);
      assert.ok(got === null || got === '/srv/www' || got.startsWith('/srv/www/'), `${bad} -> ${got}`);
    }
    assert.equal(files.resolvePath('/%zz'), null);
    assert.equal(files.resolvePath('/a%00b'), null);
  });
});

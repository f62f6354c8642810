// The request-target normaliser alone (src/forward/request/path.ts): every rule
// of README "Security", for both UseNocanon settings and every
// AllowEncodedSlashes value. The same vectors go through the real proxy in
// hostile-requests.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EncodedSlashes, normalisePath, normaliseRequestTarget, type PathRules } from '../../src/forward/request/path';
import { routingPath } from '../../src/router/request-target';

const CANON: PathRules = { encodedSlashes: EncodedSlashes.Off, canonical: true };
const NOCANON: PathRules = { encodedSlashes: EncodedSlashes.Off, canonical: false };
const ON: PathRules = { encodedSlashes: EncodedSlashes.On, canonical: true };
const NODECODE: PathRules = { encodedSlashes: EncodedSlashes.NoDecode, canonical: true };

/** [raw target, UseNocanon Off result, UseNocanon On result] */
const TABLE: Array<[string, string | number, string | number]> = [
  // plain paths are returned as they are
  ['/', '/', '/'],
  ['/app/x', '/app/x', '/app/x'],
  ['/app/x;jsessionid=abc.node1', '/app/x;jsessionid=abc.node1', '/app/x;jsessionid=abc.node1'],
  ['/app;jsessionid=abc.node1/x', '/app;jsessionid=abc.node1/x', '/app;jsessionid=abc.node1/x'],
  ['/app/.well-known/x', '/app/.well-known/x', '/app/.well-known/x'],
  ['/app/...', '/app/...', '/app/...'],
  ['/app/x.', '/app/x.', '/app/x.'],
  // dot-segments (RFC 3986 §5.2.4)
  ['/app/../secret', '/secret', '/secret'],
  ['/app/./x', '/app/x', '/app/x'],
  ['/app/x/..', '/app/', '/app/'],
  ['/app/x/.', '/app/x/', '/app/x/'],
  ['/app/a/b/../../c', '/app/c', '/app/c'],
  ['/..', 400, 400],
  ['/../app/x', 400, 400],
  ['/app/../../x', 400, 400],
  ['/app/..', '/', '/'],
  ['/.', '/', '/'],
  // encoded dots, any case
  ['/app/%2e%2e/secret', '/secret', '/secret'],
  ['/app/%2E%2e/secret', '/secret', '/secret'],
  ['/app/.%2E/secret', '/secret', '/secret'],
  ['/app/%2e/x', '/app/x', '/app/x'],
  ['/%2e%2e/app', 400, 400],
  // encoded slashes (AllowEncodedSlashes Off: 404, as httpd)
  ['/app%2f..%2fsecret', 404, 404],
  ['/app/..%2fsecret', 404, 404],
  ['/app/x%2Fy', 404, 404],
  // Java path parameters on a dot-segment: refused
  ['/app/..;/secret', 400, 400],
  ['/app/..;x=y/secret', 400, 400],
  ['/app/.;x/secret', 400, 400],
  ['/app/%2e%2e;/secret', 400, 400],
  ['/app/..;jsessionid=abc/x', 400, 400],
  // an escaped ";" is a parameter only once the node reads the decoded form (UseNocanon Off decodes it)
  ['/app/..%3b/secret', 400, '/app/..%3b/secret'],
  ['/app/..%3Bx/secret', 400, '/app/..%3Bx/secret'],
  ['/app/x%3bjsessionid=1', '/app/x;jsessionid=1', '/app/x%3bjsessionid=1'],
  // ";" elsewhere is kept
  ['/app/;x/y', '/app/;x/y', '/app/;x/y'],
  ['/app/x;a;b=c/y;d', '/app/x;a;b=c/y;d', '/app/x;a;b=c/y;d'],
  ['/;/app', '/;/app', '/;/app'],
  ['/app;/../x', '/x', '/x'],
  // empty segments are merged
  ['//app/x', '/app/x', '/app/x'],
  ['///app//x//', '/app/x/', '/app/x/'],
  ['//', '/', '/'],
  ['/app//../x', '/x', '/x'],
  // NUL, controls, backslash, fragment
  ['/app/%00/x', 400, 400],
  ['/app/x%00', 400, 400],
  ['/app\\..\\secret', 400, 400],
  ['/app/%5c../secret', 400, 400],
  ['/app/%5C', 400, 400],
  ['/app/x#frag', 400, 400],
  ['/app/x\u007f', 400, 400],
  ['/app/x\u0001', 400, 400],
  ['/app/a b', 400, 400],
  // malformed escapes
  ['/app/%zz', 400, 400],
  ['/app/%4', 400, 400],
  ['/app/%', 400, 400],
  ['/app/%%32e', 400, 400],
  // overlong and invalid UTF-8
  ['/app/%c0%ae%c0%ae/secret', 400, 400],
  ['/app/%c0%af', 400, 400],
  ['/app/%e0%80%ae', 400, 400],
  ['/app/%f0%80%80%ae', 400, 400],
  ['/app/%ed%a0%80', 400, 400],
  ['/app/%ff', 400, 400],
  ['/app/%c3', 400, 400],
  ['/app/\ufffd', 400, 400],
  // valid UTF-8 is kept escaped (upper-case hex when canonical); Unicode dots are not dots
  ['/app/caf%c3%a9', '/app/caf%C3%A9', '/app/caf%c3%a9'],
  ['/app/café', '/app/caf%C3%A9', '/app/caf%C3%A9'],
  ['/app/%e2%80%a5/secret', '/app/%E2%80%A5/secret', '/app/%e2%80%a5/secret'],
  ['/app/\u2025/secret', '/app/%E2%80%A5/secret', '/app/%E2%80%A5/secret'],
  ['/app/%ef%bc%8e%ef%bc%8e/secret', '/app/%EF%BC%8E%EF%BC%8E/secret', '/app/%ef%bc%8e%ef%bc%8e/secret'],
  ['/app/\uff0e\uff0e/secret', '/app/%EF%BC%8E%EF%BC%8E/secret', '/app/%EF%BC%8E%EF%BC%8E/secret'],
  ['/app/%ef%bc%8f', '/app/%EF%BC%8F', '/app/%ef%bc%8f'],
  ['/app/😀', '/app/%F0%9F%98%80', '/app/%F0%9F%98%80'],
  // MODCLUSTER-640: escapes of allowed characters decoded unless UseNocanon
  ['/webapp1/jsr%3aroot/toto', '/webapp1/jsr:root/toto', '/webapp1/jsr%3aroot/toto'],
  ['/a%7eb', '/a~b', '/a~b'],
  ['/a%20b', '/a%20b', '/a%20b'],
  ['/a%25b', '/a%25b', '/a%25b'],
  ['/a%25%32%65', '/a%252e', '/a%252e'],
  ['/a"b<c>', '/a%22b%3Cc%3E', '/a"b<c>'],
  // the query is forwarded as received, non-ASCII escaped
  ['/app/x?a=%2e%2e/../b', '/app/x?a=%2e%2e/../b', '/app/x?a=%2e%2e/../b'],
  ['/app/../x?q=1', '/x?q=1', '/x?q=1'],
  ['/app/x?q=é', '/app/x?q=%C3%A9', '/app/x?q=%C3%A9'],
  ['/app/x?q=a#b', 400, 400],
  ['/app/x?q=\u007f', 400, 400],
  ['/app/x?q=\ufffd', 400, 400],
  ['/app/x?', '/app/x?', '/app/x?'],
  // not origin-form
  ['app/x', 400, 400],
  ['*', 400, 400],
];

describe('normaliseRequestTarget', () => {
  for (const [raw, canon, nocanon] of TABLE) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(canon)} / UseNocanon ${JSON.stringify(nocanon)}`, () => {
      assert.equal(normaliseRequestTarget(raw, CANON), canon);
      assert.equal(normaliseRequestTarget(raw, NOCANON), nocanon);
    });
  }

  it('a normalised path is a fixed point, and routes on the context the node will serve', () => {
    for (const [raw, canon] of TABLE) {
      if (typeof canon !== 'string') continue;
      assert.equal(normaliseRequestTarget(canon, CANON), canon, raw);
      // The slow path agrees with the fast one on every plain path.
      const path = canon.split('?')[0] as string;
      assert.equal(normalisePath(path, CANON), path, raw);
    }
  });

  it('an unchanged target is the same string (no copy on the hot path)', () => {
    const url = '/app/x;jsessionid=abc.node1';
    assert.equal(normaliseRequestTarget(url, CANON), url);
  });
});

describe('AllowEncodedSlashes', () => {
  it('On: %2F is a "/" before dot-segments are removed', () => {
    assert.equal(normaliseRequestTarget('/app%2fx', ON), '/app/x');
    assert.equal(normaliseRequestTarget('/app%2f..%2fsecret', ON), '/secret');
    assert.equal(normaliseRequestTarget('/app/..%2f..%2fsecret', ON), 400);
  });

  it('NoDecode: %2F is kept escaped and separates nothing', () => {
    assert.equal(normaliseRequestTarget('/app/a%2fb', NODECODE), '/app/a%2Fb');
    assert.equal(normaliseRequestTarget('/app/..%2fsecret', NODECODE), '/app/..%2Fsecret');
    assert.equal(normaliseRequestTarget('/app/a%2fb', { encodedSlashes: EncodedSlashes.NoDecode, canonical: false }), '/app/a%2fb');
  });

  it('Off: 404 wherever the %2F is', () => {
    assert.equal(normaliseRequestTarget('/%2F', CANON), 404);
    assert.equal(normaliseRequestTarget('/app/x?q=%2F', CANON), '/app/x?q=%2F');
  });
});

describe('the routing path of a normalised target', () => {
  it('drops the parameters of every segment, as the container', () => {
    assert.equal(routingPath(normaliseRequestTarget('/;x/other/y', CANON) as string), '/other/y');
    assert.equal(routingPath(normaliseRequestTarget('/app;jsessionid=abc.n1/x', CANON) as string), '/app/x');
    assert.equal(routingPath(normaliseRequestTarget('/app/x%3bjsessionid=1', CANON) as string), '/app/x');
    assert.equal(routingPath(normaliseRequestTarget('/app/x%3bjsessionid=1', NOCANON) as string), '/app/x;jsessionid=1');
  });
});

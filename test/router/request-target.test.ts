import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostName, percentDecode, routingPath } from '../../src/router/request-target';

describe('routingPath (§5.4 step 1)', () => {
  it('drops the query and the path parameters', () => {
    assert.equal(routingPath('/app/x?y=1'), '/app/x');
    assert.equal(routingPath('/app;jsessionid=abc.n1/x'), '/app/x');
    assert.equal(routingPath('/;x/other;a=b;c/y'), '/other/y');
    assert.equal(routingPath('/app;'), '/app');
    assert.equal(routingPath('/app/x;jsessionid=abc.n1?y=1'), '/app/x');
    assert.equal(routingPath('/'), '/');
  });

  it('decodes percent-escapes before matching', () => {
    assert.equal(routingPath('/my%20app/x'), '/my app/x');
    assert.equal(routingPath('/caf%C3%A9/x'), '/café/x');
    assert.equal(routingPath('/webapp1/jsr%3aroot/toto'), '/webapp1/jsr:root/toto');
  });

  it('cuts the decoded path at an encoded "?"; an encoded ";" is part of the name, as the node reads it', () => {
    assert.equal(routingPath('/a%3Fb;c'), '/a');
    assert.equal(routingPath('/ab%3Fc'), '/ab');
    assert.equal(routingPath('/a%3bb/c'), '/a;b/c');
  });

  it('rejects malformed escapes in the path but not in the query', () => {
    assert.equal(routingPath('/bad%zz'), undefined);
    assert.equal(routingPath('/bad%4'), undefined);
    assert.equal(routingPath('/ok?x=%zz'), '/ok');
  });

  it('percentDecode keeps a string without escapes as it is', () => {
    const s = '/plain/path';
    assert.equal(percentDecode(s), s);
  });
});

describe('hostName (§5.4 step 2)', () => {
  it('drops the port and lower-cases', () => {
    assert.equal(hostName('Example.COM:8080'), 'example.com');
    assert.equal(hostName('localhost'), 'localhost');
  });

  it('drops IPv6 brackets and port', () => {
    assert.equal(hostName('[::1]:8080'), '::1');
    assert.equal(hostName('[FE80::1]'), 'fe80::1');
    assert.equal(hostName('::1'), '::1');
  });

  it('drops a trailing dot', () => {
    assert.equal(hostName('example.com.:80'), 'example.com');
  });

  it('gives "" for an empty Host', () => {
    assert.equal(hostName(''), '');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripSessionFromCookie, stripSessionFromUrl } from '../../src/router/route';
import { findSessionId, routeOfSession, sessionIdFromCookie, sessionIdFromPath } from '../../src/router/session';

const C = 'JSESSIONID';
const P = 'jsessionid';

describe('findSessionId: cookie (§5.3 step 1)', () => {
  it('finds the cookie at the start of the header', () => {
    assert.deepEqual(findSessionId('JSESSIONID=abc.node1', '/app', C, P), { id: 'abc.node1', name: C });
  });

  it('finds the cookie after ";", "," or whitespace', () => {
    assert.equal(sessionIdFromCookie('a=1;JSESSIONID=x.n1', C), 'x.n1');
    assert.equal(sessionIdFromCookie('a=1,JSESSIONID=x.n2', C), 'x.n2');
    assert.equal(sessionIdFromCookie('a=1; JSESSIONID=x.n3', C), 'x.n3');
    assert.equal(sessionIdFromCookie('a=1\tJSESSIONID=x.n4', C), 'x.n4');
  });

  it('does not take a name that is the tail of another name', () => {
    assert.equal(sessionIdFromCookie('MYJSESSIONID=bad.n1; JSESSIONID=good.n2', C), 'good.n2');
    assert.equal(sessionIdFromCookie('MYJSESSIONID=bad.n1', C), undefined);
  });

  it('skips whitespace between the name and "="', () => {
    assert.equal(sessionIdFromCookie('JSESSIONID  =x.n1', C), 'x.n1');
  });

  it('is case-sensitive', () => {
    assert.equal(sessionIdFromCookie('jsessionid=x.n1', C), undefined);
    assert.equal(findSessionId('jsessionid=x.n1', '/app', C, P), undefined);
  });

  it('removes the double quotes of a version-1 cookie', () => {
    assert.equal(sessionIdFromCookie('JSESSIONID="abc.node1"; a=2', C), 'abc.node1');
    // A lone quote is not a quoted value.
    assert.equal(sessionIdFromCookie('JSESSIONID="abc.node1', C), '"abc.node1');
  });

  it('ends the value at ";" or ","', () => {
    assert.equal(sessionIdFromCookie('JSESSIONID=abc.n1;b=2', C), 'abc.n1');
    assert.equal(sessionIdFromCookie('JSESSIONID=abc.n1,b=2', C), 'abc.n1');
  });

  it('takes the first occurrence', () => {
    assert.equal(sessionIdFromCookie('JSESSIONID=a.n1; JSESSIONID=b.n2', C), 'a.n1');
  });

  it('needs "=" and a value', () => {
    assert.equal(sessionIdFromCookie('JSESSIONID', C), undefined);
    assert.equal(sessionIdFromCookie('JSESSIONID=', C), undefined);
    assert.equal(sessionIdFromCookie('JSESSIONID=; JSESSIONID=b.n2', C), 'b.n2');
  });

  it('prefers the cookie over the path parameter', () => {
    assert.deepEqual(findSessionId('JSESSIONID=c.n1', '/app;jsessionid=p.n2', C, P), { id: 'c.n1', name: C });
  });
});

describe('findSessionId: path parameter (§5.3 step 2)', () => {
  it('finds ;jsessionid= and records the path name (D7)', () => {
    assert.deepEqual(findSessionId('', '/app/x;jsessionid=abc.node2', C, P), { id: 'abc.node2', name: P });
  });

  it('ends the value at ";", "?" or "&"', () => {
    assert.equal(sessionIdFromPath('/app;jsessionid=a.n1;x=1', P), 'a.n1');
    assert.equal(sessionIdFromPath('/app;jsessionid=a.n1?x=1', P), 'a.n1');
    assert.equal(sessionIdFromPath('/app;jsessionid=a.n1&x=1', P), 'a.n1');
  });

  it('needs the ";" before the name, the "=" after it and a value', () => {
    assert.equal(sessionIdFromPath('/app/jsessionid=a.n1', P), undefined);
    assert.equal(sessionIdFromPath('/app;jsessionidx=a.n1', P), undefined);
    assert.equal(sessionIdFromPath('/app;jsessionid=', P), undefined);
    assert.equal(sessionIdFromPath('/app;JSESSIONID=a.n1', P), undefined);
  });

  it('ignores the query', () => {
    assert.equal(sessionIdFromPath('/app?x=1;jsessionid=a.n1', P), undefined);
  });
});

describe('routeOfSession (§5.3 step 3)', () => {
  it('is what follows the first dot', () => {
    assert.equal(routeOfSession('ABC123.node1'), 'node1');
    assert.equal(routeOfSession('A.b.c'), 'b.c');
    assert.equal(routeOfSession('ABC123'), '');
    assert.equal(routeOfSession('ABC123.'), '');
  });
});

describe('stripSessionFromUrl (§5.9.6)', () => {
  it('removes the path parameter and keeps the rest', () => {
    assert.equal(stripSessionFromUrl('/app/x;jsessionid=abc.n1', P), '/app/x');
    assert.equal(stripSessionFromUrl('/app/x;jsessionid=abc.n1?a=1', P), '/app/x?a=1');
    assert.equal(stripSessionFromUrl('/app/x;jsessionid=abc.n1;v=2?a=1', P), '/app/x;v=2?a=1');
  });

  it('removes a query parameter with its separator', () => {
    assert.equal(stripSessionFromUrl('/app?jsessionid=abc.n1', P), '/app');
    assert.equal(stripSessionFromUrl('/app?jsessionid=abc.n1&a=1', P), '/app?a=1');
    assert.equal(stripSessionFromUrl('/app?a=1&jsessionid=abc.n1&b=2', P), '/app?a=1&b=2');
    assert.equal(stripSessionFromUrl('/app?a=1&jsessionid=abc.n1', P), '/app?a=1');
  });

  it('leaves other names alone', () => {
    assert.equal(stripSessionFromUrl('/app?xjsessionid=1&a=1', P), '/app?xjsessionid=1&a=1');
    assert.equal(stripSessionFromUrl('/jsessionid/x', P), '/jsessionid/x');
    assert.equal(stripSessionFromUrl('/app', P), '/app');
  });
});

describe('stripSessionFromCookie (§5.9.6)', () => {
  it('removes the pair with one separator', () => {
    assert.equal(stripSessionFromCookie('a=1; JSESSIONID=abc.n1; b=2', C), 'a=1; b=2');
    assert.equal(stripSessionFromCookie('JSESSIONID=abc.n1; b=2', C), 'b=2');
    assert.equal(stripSessionFromCookie('a=1; JSESSIONID=abc.n1', C), 'a=1');
    assert.equal(stripSessionFromCookie('a=1,JSESSIONID="abc.n1",b=2', C), 'a=1,b=2');
  });

  it('returns an empty header when only the session was there', () => {
    assert.equal(stripSessionFromCookie('JSESSIONID=abc.n1', C), '');
  });

  it('removes every occurrence and nothing else', () => {
    assert.equal(stripSessionFromCookie('JSESSIONID=a.n1; x=1; JSESSIONID=b.n2', C), 'x=1');
    assert.equal(stripSessionFromCookie('MYJSESSIONID=a.n1; x=1', C), 'MYJSESSIONID=a.n1; x=1');
    assert.equal(stripSessionFromCookie('jsessionid=a.n1', C), 'jsessionid=a.n1');
  });
});

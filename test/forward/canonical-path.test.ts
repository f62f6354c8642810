import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalisePath } from '../../src/forward/canonical-path';

test('MODCLUSTER-640: an escaped ":" reaches the node decoded unless UseNocanon', () => {
  assert.equal(canonicalisePath('/webapp1/jsr%3aroot/toto'), '/webapp1/jsr:root/toto');
  assert.equal(canonicalisePath('/webapp1/index.html'), '/webapp1/index.html');
});

test('escapes of characters that must stay escaped are kept, with upper-case hex', () => {
  assert.equal(canonicalisePath('/a%2fb'), '/a%2Fb');
  assert.equal(canonicalisePath('/a%20b'), '/a%20b');
  assert.equal(canonicalisePath('/a%25b'), '/a%25b');
  assert.equal(canonicalisePath('/%c3%a9'), '/%C3%A9');
  assert.equal(canonicalisePath('/a%7eb'), '/a~b');
});

test('characters not allowed in a path are escaped; the query is untouched', () => {
  assert.equal(canonicalisePath('/a b"c'), '/a%20b%22c');
  assert.equal(canonicalisePath('/é'), '/%C3%A9');
  assert.equal(canonicalisePath('/x%3a?q=%3a b'), '/x:?q=%3a b');
  assert.equal(canonicalisePath('/bad%zz'), '/bad%25zz');
});

test('an unchanged URL is returned as the same string', () => {
  const url = '/app/x;jsessionid=abc.node1?x=1';
  assert.equal(canonicalisePath(url), url);
});

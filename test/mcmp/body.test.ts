import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMcmpBody } from '../../src/mcmp/body';
import { McmpError } from '../../src/mcmp/errors';

const SMESPAR = "SYNTAX: Can't parse MCMP message. It might have contained illegal symbols or unknown elements.";

test('an empty body is one empty name without value', () => {
  assert.deepEqual(parseMcmpBody(''), [['', undefined]]);
});

test('pairs come in body order', () => {
  assert.deepEqual(parseMcmpBody('JVMRoute=node1&Load=50'), [
    ['JVMRoute', 'node1'],
    ['Load', '50'],
  ]);
});

test('& and = are both plain separators: a=b=c&d=e pairs (a,b) (c,d) (e,missing)', () => {
  assert.deepEqual(parseMcmpBody('a=b=c&d=e'), [
    ['a', 'b'],
    ['c', 'd'],
    ['e', undefined],
  ]);
});

test('percent escapes decode after splitting, so %26 and %3D stay inside a value', () => {
  assert.deepEqual(parseMcmpBody('Context=%2Fa%26b%3Dc'), [['Context', '/a&b=c']]);
});

test('hex escapes decode in either case', () => {
  assert.deepEqual(parseMcmpBody('x=%2f%2F'), [['x', '//']]);
});

test('a % not followed by two hex digits is kept literally', () => {
  assert.deepEqual(parseMcmpBody('x=50%&y=%zz&z=%4'), [
    ['x', '50%'],
    ['y', '%zz'],
    ['z', '%4'],
  ]);
});

test('+ is not a space', () => {
  assert.deepEqual(parseMcmpBody('Alias=a+b'), [['Alias', 'a+b']]);
});

test('UTF-8 escapes decode to text', () => {
  assert.deepEqual(parseMcmpBody('Alias=%C3%A9t%C3%A9'), [['Alias', 'été']]);
});

for (const [label, body] of [
  ['literal <', 'Alias=a<b'],
  ['literal >', 'Alias=a>b'],
  ['literal "', 'Alias=a"b'],
  ["literal '", "Alias=a'b"],
  ['encoded <', 'Alias=a%3Cb'],
  ['encoded "', 'Alias=%22'],
  ['encoded CR', 'Alias=a%0Db'],
  ['encoded LF', 'Alias=a%0ab'],
  ['literal LF', 'Alias=a\nb'],
  ['in a name', 'Ali<as=a'],
] as const) {
  test(`${label} anywhere rejects the whole message with SMESPAR`, () => {
    assert.throws(
      () => parseMcmpBody(body),
      (e: unknown) => e instanceof McmpError && e.id === 'SMESPAR' && e.type === 'SYNTAX' && e.mess === SMESPAR && e.code === 'ERR_MCMP',
    );
  });
}

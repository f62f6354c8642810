import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllowList, AllowListError } from '../../src/mcmp/http/allow';

test('IPv4 CIDRs and bare addresses match, including v4-mapped IPv6 peers', () => {
  const a = AllowList.parse('127.0.0.0/8, 10.1.2.3');
  assert.equal(a.allows('127.0.0.1'), true);
  assert.equal(a.allows('127.255.0.9'), true);
  assert.equal(a.allows('::ffff:127.0.0.1'), true);
  assert.equal(a.allows('10.1.2.3'), true);
  assert.equal(a.allows('::ffff:10.1.2.3'), true);
  assert.equal(a.allows('10.1.2.4'), false);
  assert.equal(a.allows('128.0.0.1'), false);
  assert.equal(a.allows('::ffff:128.0.0.1'), false);
  assert.equal(a.allows('::1'), false);
});

test('IPv6 addresses and prefixes match in any spelling; zone ids are ignored', () => {
  const a = AllowList.parse('::1,fd00:abcd::/32,fe80::1');
  assert.equal(a.allows('::1'), true);
  assert.equal(a.allows('0:0:0:0:0:0:0:1'), true);
  assert.equal(a.allows('fd00:abcd:1::5'), true);
  assert.equal(a.allows('fd00:abce::5'), false);
  assert.equal(a.allows('fe80::1%eth0'), true);
  assert.equal(a.allows('127.0.0.1'), false);
});

test('a /32 admits exactly one address', () => {
  const a = AllowList.parse('127.0.0.1/32');
  assert.equal(a.allows('127.0.0.1'), true);
  assert.equal(a.allows('127.0.0.2'), false);
});

test('non-addresses are never allowed', () => {
  const a = AllowList.parse('0.0.0.0/0');
  assert.equal(a.allows('1.2.3.4'), true);
  assert.equal(a.allows(''), false);
  assert.equal(a.allows('localhost'), false);
  assert.equal(a.allows('1.2.3'), false);
});

test('bad items throw AllowListError naming the item', () => {
  for (const [list, item] of [
    ['127.0.0.1,nothost', 'nothost'],
    ['10.0.0.0/33', '10.0.0.0/33'],
    ['::1/129', '::1/129'],
    ['10.0.0.0/', '10.0.0.0/'],
    ['10.0.0.0/-1', '10.0.0.0/-1'],
    ['10.0.0.0/8/8', '10.0.0.0/8/8'],
    ['300.1.1.1', '300.1.1.1'],
  ] as const) {
    assert.throws(() => AllowList.parse(list), (err: unknown) => {
      assert.ok(err instanceof AllowListError);
      assert.equal(err.code, 'ERR_MCMP_EDGE_ALLOW');
      assert.ok(err.message.includes(item), `${err.message} should name ${item}`);
      return true;
    });
  }
  assert.throws(() => AllowList.parse(''), AllowListError);
  assert.throws(() => AllowList.parse('127.0.0.1,,::1'), AllowListError);
});

test('toString prints the list back, normalised', () => {
  assert.equal(AllowList.parse(' 127.0.0.0/8 ,::1, 10.0.0.1/32,fd00::/8').toString(), '127.0.0.0/8,::1,10.0.0.1,fd00::/8');
  const again = AllowList.parse(AllowList.parse('127.0.0.0/8,::1').toString());
  assert.equal(again.allows('127.3.3.3'), true);
  assert.equal(again.allows('::1'), true);
});

test('verdicts are remembered per peer address and stay right past the cache bound', () => {
  const a = AllowList.parse('10.0.0.0/16');
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1500; i++) {
      const inside = `10.0.${i >> 8}.${i & 255}`;
      const outside = `10.1.${i >> 8}.${i & 255}`;
      assert.equal(a.allows(inside), true, inside);
      assert.equal(a.allows(outside), false, outside);
      assert.equal(a.allows(`::ffff:${inside}`), true);
    }
  }
  assert.equal(a.allows('not an address'), false);
  assert.equal(a.allows('not an address'), false);
});

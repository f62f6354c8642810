// The client's Connection header read in place when it is one bare option
// (request/connection-option.ts), and readRequestHead giving the same answer
// for it as the general reading does for every other form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionOption, soleConnectionOption } from '../../src/forward/request/connection-option';

test('a lone close or keep-alive is recognised in any case, with optional whitespace', () => {
  for (const v of ['close', 'Close', 'CLOSE', ' close', 'close ', '\tclose\t', '  cLoSe  ']) {
    assert.equal(soleConnectionOption(v), ConnectionOption.Close, JSON.stringify(v));
  }
  for (const v of ['keep-alive', 'Keep-Alive', 'KEEP-ALIVE', ' keep-alive\t']) {
    assert.equal(soleConnectionOption(v), ConnectionOption.KeepAlive, JSON.stringify(v));
  }
});

test('anything else is left to the general reading', () => {
  for (const v of [
    '',
    ' ',
    'close, x-secret',
    'x-secret, close',
    'close,',
    'keep-alive, close',
    'clos',
    'closed',
    'xclose',
    'close x',
    'upgrade',
    'x-secret',
    // CR | 0x20 is '-': it must not pass for the hyphen.
    'keep\ralive',
    'keep_alive',
    'keepalive',
    // Only SP and HTAB are optional whitespace around it.
    '\u00a0close',
    'close\r',
    // Letters outside ASCII whose lower case is ASCII (Kelvin sign) are not the token.
    '\u212aeep-alive',
  ]) {
    assert.equal(soleConnectionOption(v), ConnectionOption.Other, JSON.stringify(v));
  }
});

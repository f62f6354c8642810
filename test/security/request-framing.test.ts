// The RFC 9112 checks on a request head (src/forward/request/framing.ts and
// readRequestHead), on header lists as uWS's HttpRequest.forEach hands them
// over, duplicates included. The same cases go through the real proxy in
// hostile-requests.test.ts where uWS lets them reach JavaScript.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpRequest } from 'uWebSockets.js';
import { readRequestHead } from '../../src/forward/request/headers';
import { contentLengthValue, isValidHost, MAX_REQUEST_HEAD_BYTES, transferCoding } from '../../src/forward/request/framing';

/** The two HttpRequest methods readRequestHead uses, over a fixed header list. */
function fakeRequest(headers: Array<[string, string]>, method = 'GET'): HttpRequest {
  return {
    getCaseSensitiveMethod: () => method,
    forEach: (cb: (name: string, value: string) => void) => {
      for (const [n, v] of headers) cb(n, v);
    },
  } as unknown as HttpRequest;
}

function refusal(headers: Array<[string, string]>, url = '/app/x'): number {
  return readRequestHead(fakeRequest(headers), url, '127.0.0.1', 'http').refusal;
}

describe('Content-Length', () => {
  it('one decimal number, or -1', () => {
    assert.equal(contentLengthValue('0'), 0);
    assert.equal(contentLengthValue('12'), 12);
    for (const bad of ['', ' 1', '+1', '-1', '0x2', '1e3', '1,1', '1 1', '9'.repeat(16)]) assert.equal(contentLengthValue(bad), -1, bad);
  });

  it('conflicting or malformed values are a 400; an identical repeat is served and forwarded once', () => {
    assert.equal(refusal([['host', 'a'], ['content-length', '1'], ['content-length', '2']]), 400);
    assert.equal(refusal([['host', 'a'], ['content-length', '']]), 400);
    assert.equal(refusal([['host', 'a'], ['content-length', '2'], ['content-length', '2, 2']]), 400);
    const head = readRequestHead(fakeRequest([['host', 'a'], ['content-length', '2'], ['content-length', '2']], 'POST'), '/app/x', '127.0.0.1', 'http');
    assert.equal(head.refusal, 0);
    assert.equal(head.contentLength, 2);
    assert.equal(head.headers.filter((h) => h === 'content-length').length, 1);
  });
});

describe('Transfer-Encoding', () => {
  it('only exactly chunked is served; a final coding other than chunked is a 400, another coding a 501', () => {
    assert.equal(transferCoding('chunked'), 'chunked');
    assert.equal(transferCoding(' Chunked '), 'chunked');
    assert.equal(transferCoding('CHUNKED'), 'chunked');
    for (const bad of ['xchunked', 'chunked, gzip', 'gzip', 'identity', '', ',', 'chunked, chunked', 'chunked,chunked', 'chunked x', 'chunked;q=1']) {
      assert.equal(transferCoding(bad), 400, bad);
    }
    assert.equal(transferCoding('gzip, chunked'), 501);
    assert.equal(transferCoding('gzip,chunked'), 501);
  });

  it('several fields are one list; with Content-Length it is a 400; it is never forwarded', () => {
    assert.equal(refusal([['host', 'a'], ['transfer-encoding', 'chunked'], ['transfer-encoding', 'gzip']]), 400);
    assert.equal(refusal([['host', 'a'], ['transfer-encoding', 'gzip'], ['transfer-encoding', 'chunked']]), 501);
    assert.equal(refusal([['host', 'a'], ['transfer-encoding', 'chunked'], ['content-length', '3']]), 400);
    assert.equal(refusal([['host', 'a'], ['transfer-encoding', '']]), 400);
    const head = readRequestHead(fakeRequest([['host', 'a'], ['transfer-encoding', 'chunked']], 'POST'), '/app/x', '127.0.0.1', 'http');
    assert.equal(head.refusal, 0);
    assert.equal(head.chunked, true);
    assert.equal(head.headers.includes('transfer-encoding'), false);
  });
});

describe('Host', () => {
  it('exactly one, and a valid uri-host[:port]', () => {
    assert.equal(refusal([['host', 'a'], ['host', 'b']]), 400);
    assert.equal(refusal([['host', 'a'], ['host', 'a']]), 400);
    assert.equal(refusal([]), 400);
    assert.equal(refusal([['host', '']]), 0);
    for (const ok of ['example.com', 'example.com:8080', '127.0.0.1:1', '[::1]:80', '[fe80::1%25eth0]', 'xn--caf-dma.example', 'a_b']) assert.equal(isValidHost(ok), true, ok);
    for (const bad of ['a/b', 'a b', 'a@b', 'a:b:c', 'a:123456', '[::1', 'a\\b', 'é', 'a?b', 'a#b']) {
      assert.equal(isValidHost(bad), false, bad);
      assert.equal(refusal([['host', bad]]), 400, bad);
    }
  });
});

describe('size and target', () => {
  it(`a head over ${MAX_REQUEST_HEAD_BYTES} bytes is a 431`, () => {
    assert.equal(refusal([['host', 'a'], ['x', 'a'.repeat(MAX_REQUEST_HEAD_BYTES)]]), 431);
    assert.equal(refusal([['host', 'a'], ['x', 'a'.repeat(MAX_REQUEST_HEAD_BYTES - 100)]]), 0);
    const many: Array<[string, string]> = [['host', 'a']];
    for (let i = 0; i < 40; i++) many.push([`x-${i}`, 'b'.repeat(2000)]);
    assert.equal(refusal(many), 431);
  });

  it('the target is normalised into head.url, or refused', () => {
    const head = readRequestHead(fakeRequest([['host', 'a']]), '/app/%2e%2e/secret?q=1', '127.0.0.1', 'http');
    assert.equal(head.url, '/secret?q=1');
    assert.equal(refusal([['host', 'a']], '/app/..;/x'), 400);
    assert.equal(refusal([['host', 'a']], '/app%2fx'), 404);
    assert.equal(refusal([['host', 'a']], '/app/x'), 0);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpErrorCode, HttpParseError, RequestParser, type HttpRequest, type RequestParserOptions } from '../../src/mcmp/http/parser';
import { MCMP_METHODS } from './helpers';

interface Outcome {
  requests: HttpRequest[];
  error: HttpParseError | null;
  parser: RequestParser;
  continues: number;
}

function parse(chunks: Array<string | Buffer>, opts: Partial<RequestParserOptions> = {}): Outcome {
  const requests: HttpRequest[] = [];
  let continues = 0;
  const parser = new RequestParser({
    maxHeaderSize: 8192,
    maxBodySize: 1024,
    methods: new Set([...MCMP_METHODS, 'GET', 'OPTIONS']),
    remoteAddress: '127.0.0.1',
    remotePort: 4242,
    onRequest: (r) => requests.push(r),
    onContinue: () => continues++,
    ...opts,
  });
  let error: HttpParseError | null = null;
  try {
    for (const c of chunks) parser.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  } catch (err) {
    assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${String(err)}`);
    error = err;
  }
  return { requests, error, parser, continues };
}

function parseError(input: string, opts: Partial<RequestParserOptions> = {}): HttpParseError {
  const out = parse([input], opts);
  assert.notEqual(out.error, null, `expected an error for ${JSON.stringify(input)}`);
  return out.error as HttpParseError;
}

const JAVA_CONFIG = 'CONFIG / HTTP/1.1\r\nHost: 10.0.0.1:6666\r\nContent-Length: 73\r\nUser-Agent: ClusterListener/1.0\r\nConnection: Keep-Alive\r\n\r\n'
  + 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp';

test('a Java CONFIG (MCMP.md §1.7) parses field for field', () => {
  const { requests, error, parser } = parse([JAVA_CONFIG]);
  assert.equal(error, null);
  assert.equal(requests.length, 1);
  const r = requests[0] as HttpRequest;
  assert.equal(r.method, 'CONFIG');
  assert.equal(r.methodUpper, 'CONFIG');
  assert.equal(r.target, '/');
  assert.equal(r.httpVersion, '1.1');
  assert.deepEqual(r.headers, [
    ['host', '10.0.0.1:6666'], ['content-length', '73'], ['user-agent', 'ClusterListener/1.0'], ['connection', 'Keep-Alive'],
  ]);
  assert.equal(r.header('USER-agent'), 'ClusterListener/1.0');
  assert.equal(r.header('x-missing'), undefined);
  assert.equal(r.body.toString('latin1'), 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp');
  assert.equal(r.bodyTooLarge, false);
  assert.equal(r.keepAlive, true);
  assert.equal(r.remoteAddress, '127.0.0.1');
  assert.equal(r.remotePort, 4242);
  assert.equal(parser.inRequest, false);
});

test('methods are matched case-insensitively; method keeps what was sent (reference #19)', () => {
  const { requests, error } = parse(['config / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc', 'Enable-App /* HTTP/1.1\r\nHost: h\r\n\r\n']);
  assert.equal(error, null);
  assert.deepEqual(requests.map((r) => [r.method, r.methodUpper, r.target]), [['config', 'CONFIG', '/'], ['Enable-App', 'ENABLE-APP', '/*']]);
});

test('every request split at every byte boundary parses the same', () => {
  const stream = JAVA_CONFIG
    + 'STATUS / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nJVMRo\r\n11\r\nute=node1&Load=87\r\n0\r\nX-Trailer: t\r\n\r\n'
    + '\r\nINFO / HTTP/1.1\r\nHost: h\r\n\r\n'
    + 'VERSION / HTTP/1.0\r\n\r\n';
  const whole = parse([stream]);
  assert.equal(whole.error, null);
  const expected = whole.requests.map((r) => [r.methodUpper, r.target, r.httpVersion, r.body.toString('latin1'), r.keepAlive, r.headers]);
  assert.equal(expected.length, 4);
  assert.equal(expected[1]?.[3], 'JVMRoute=node1&Load=87');
  for (let cut = 1; cut < stream.length; cut++) {
    const two = parse([stream.slice(0, cut), stream.slice(cut)]);
    assert.equal(two.error, null, `cut at ${cut}`);
    assert.deepEqual(two.requests.map((r) => [r.methodUpper, r.target, r.httpVersion, r.body.toString('latin1'), r.keepAlive, r.headers]), expected, `cut at ${cut}`);
  }
  const bytes = parse([...stream].map((c) => c));
  assert.equal(bytes.error, null);
  assert.deepEqual(bytes.requests.map((r) => [r.methodUpper, r.target, r.httpVersion, r.body.toString('latin1'), r.keepAlive, r.headers]), expected);
});

test('a body that arrives whole is a view of the input, not a copy', () => {
  const input = Buffer.from(JAVA_CONFIG, 'latin1');
  const { requests } = parse([input]);
  assert.equal((requests[0] as HttpRequest).body.buffer, input.buffer);
});

test('transientChunks: every split of a stream pushed through one reused buffer parses as the whole, nothing aliases it', () => {
  const stream = JAVA_CONFIG
    + 'STATUS / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nJVMRo\r\n11\r\nute=node1&Load=87\r\n0\r\nX-Trailer: t\r\n\r\n'
    + 'STATUS / HTTP/1.1\r\nHost: h\r\nContent-Length: 22\r\n\r\nJVMRoute=node2&Load=12'
    + 'VERSION / HTTP/1.0\r\n\r\n';
  const describe = (rs: HttpRequest[]): unknown[] => rs.map((r) => [r.methodUpper, r.target, r.httpVersion, r.body.toString('latin1'), r.keepAlive, r.headers]);
  const expected = describe(parse([stream]).requests);
  assert.equal(expected.length, 4);
  const shared = Buffer.alloc(stream.length);
  for (const size of [1, 2, 7, 64, stream.length]) {
    for (let first = 1; first < Math.min(size + 1, stream.length); first += Math.max(1, Math.floor(size / 3))) {
      const requests: HttpRequest[] = [];
      const parser = new RequestParser({
        maxHeaderSize: 8192,
        maxBodySize: 1024,
        remoteAddress: '127.0.0.1',
        remotePort: 4242,
        transientChunks: true,
        onRequest: (r) => requests.push(r),
      });
      // Pieces of `size` bytes after a first piece of `first`, each read into the same buffer, which is then scribbled over.
      for (let at = 0; at < stream.length; ) {
        const n = Math.min(at === 0 ? first : size, stream.length - at);
        shared.write(stream.slice(at, at + n), 0, 'latin1');
        parser.push(shared.subarray(0, n));
        shared.fill(0x7e);
        at += n;
      }
      assert.deepEqual(describe(requests), expected, `pieces of ${size} after ${first}`);
      for (const r of requests) assert.notEqual(r.body.buffer, shared.buffer);
    }
  }
});

test('inRequest is true from the first byte until the request is complete', () => {
  const p = parse(['CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab']);
  assert.equal(p.parser.inRequest, true);
  p.parser.push(Buffer.from('cd'));
  assert.equal(p.parser.inRequest, false);
  assert.equal(p.requests.length, 1);
  p.parser.push(Buffer.from('I'));
  assert.equal(p.parser.inRequest, true);
});

test('HTTP/1.0 closes after the reply, and bytes after a closing request are ignored', () => {
  const { requests, error, parser } = parse(['INFO / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nINFO / HTTP/1.1\r\nHost: h\r\n\r\n']);
  assert.equal(error, null);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.httpVersion, '1.0');
  assert.equal(requests[0]?.keepAlive, false);
  assert.equal(parser.finished, true);
});

test('HTTP/1.0 without Content-Length has an empty body', () => {
  const { requests } = parse(['CONFIG / HTTP/1.0\r\n\r\nJVMRoute=x']);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.body.length, 0);
});

test('Connection: close (any case, in a list) ends keep-alive', () => {
  const { requests } = parse(['PING / HTTP/1.1\r\nHost: h\r\nConnection: TE, Close\r\n\r\n']);
  assert.equal(requests[0]?.keepAlive, false);
});

test('header values are trimmed, obs-text is kept, names are lower-cased in order', () => {
  const { requests, error } = parse(['INFO / HTTP/1.1\r\nHost:h\r\nX-A: \t v\xe9 w \t\r\nX-a: second\r\nAccept: text/xml\r\n\r\n']);
  assert.equal(error, null);
  const r = requests[0] as HttpRequest;
  assert.deepEqual(r.headers, [['host', 'h'], ['x-a', 'v\xe9 w'], ['x-a', 'second'], ['accept', 'text/xml']]);
  assert.equal(r.header('X-A'), 'v\xe9 w');
});

test('identical repeated Content-Length values are accepted', () => {
  const { requests, error } = parse(['CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3, 003\r\n\r\nabc']);
  assert.equal(error, null);
  assert.equal(requests[0]?.body.toString(), 'abc');
});

test('chunked: extensions ignored, trailers dropped, upper-case hex and leading zeros accepted', () => {
  const { requests, error } = parse(['CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n00A ; a=b;c="d e"\r\n0123456789\r\n1\r\nX\r\n0;last\r\nT1: a\r\nT2: b\r\n\r\n']);
  assert.equal(error, null);
  assert.equal(requests[0]?.body.toString(), '0123456789X');
  assert.equal(requests[0]?.headers.some(([n]) => n === 't1'), false);
});

test('a body over maxBodySize is read and dropped: bodyTooLarge, empty body, keepAlive off', () => {
  for (const input of [
    `CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 1025\r\n\r\n${'x'.repeat(1025)}`,
    `CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'x'.repeat(1024)}\r\n1\r\ny\r\n0\r\n\r\n`,
  ]) {
    const { requests, error, parser } = parse([input.slice(0, 100), input.slice(100)]);
    assert.equal(error, null);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.bodyTooLarge, true);
    assert.equal(requests[0]?.body.length, 0);
    assert.equal(requests[0]?.keepAlive, false);
    assert.equal(parser.finished, true);
  }
  const exact = parse([`CONFIG / HTTP/1.1\r\nHost: h\r\nContent-Length: 1024\r\n\r\n${'x'.repeat(1024)}`]);
  assert.equal(exact.requests[0]?.bodyTooLarge, false);
  assert.equal(exact.requests[0]?.body.length, 1024);
});

test('request target * is 400 except for OPTIONS (reference #2, #56, #66)', () => {
  for (const m of ['VERSION', 'ENABLE-APP', 'REMOVE-APP', 'GET']) {
    const e = parseError(`${m} * HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(e.status, 400);
    assert.equal(e.code, HttpErrorCode.Target);
  }
  const ok = parse(['OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n']);
  assert.equal(ok.error, null);
  assert.equal(ok.requests[0]?.target, '*');
});

test('targets: absolute form accepted; empty, relative or with control bytes rejected', () => {
  assert.equal(parse(['INFO http://proxy:6666/ HTTP/1.1\r\nHost: h\r\n\r\n']).requests[0]?.target, 'http://proxy:6666/');
  for (const t of ['', 'relative', 'proxy:6666', '/a\x01b', '/\x7f', '/caf\xe9']) {
    const e = parseError(`INFO ${t} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(e.status, 400, JSON.stringify(t));
  }
});

test('malformed request lines are 400', () => {
  for (const line of [
    'INFO /', 'INFO', 'INFO  / HTTP/1.1', 'INFO / HTTP/1.1 ', ' INFO / HTTP/1.1', 'INFO\t/ HTTP/1.1', 'IN(FO / HTTP/1.1',
    'INFO / http/1.1', 'INFO / HTTP/1', 'INFO / HTTP/1.10', 'INFO / HTTPS/1.1', '/ HTTP/1.1',
  ]) {
    const e = parseError(`${line}\r\nHost: h\r\n\r\n`);
    assert.equal(e.status, 400, JSON.stringify(line));
  }
});

test('versions other than 1.0 and 1.1 are 505', () => {
  for (const v of ['0.9', '1.2', '2.0', '3.1']) {
    const e = parseError(`INFO / HTTP/${v}\r\nHost: h\r\n\r\n`);
    assert.equal(e.status, 505, v);
    assert.equal(e.code, HttpErrorCode.Version);
  }
});

test('bare LF and bare CR are 400, anywhere in the head or chunk framing', () => {
  for (const input of [
    'INFO / HTTP/1.1\nHost: h\r\n\r\n',
    'INFO / HTTP/1.1\r\nHost: h\n\r\n',
    'INFO / HTTP/1.1\r\nHost: h\r\n\n',
    '\nINFO / HTTP/1.1\r\nHost: h\r\n\r\n',
    'INFO / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n',
    'INFO /\r HTTP/1.1\r\nHost: h\r\n\r\n',
    'CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n',
    'CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n',
    'CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: x\n\r\n',
  ]) {
    const e = parseError(input);
    assert.equal(e.status, 400, JSON.stringify(input));
  }
});

test('malformed header lines are 400: obs-fold, space before colon, no colon, bad name, control bytes', () => {
  for (const h of ['X-A: a\r\n continued', 'X-A : a', 'X-A', ': a', 'X A: a', 'X-A: a\x00b', 'X-A: a\x1bb', 'X-A: a\x7f', '\tX-A: a']) {
    const e = parseError(`INFO / HTTP/1.1\r\nHost: h\r\n${h}\r\n\r\n`);
    assert.equal(e.status, 400, JSON.stringify(h));
    assert.equal(e.code, HttpErrorCode.Header);
  }
});

test('Host: required once in HTTP/1.1, at most once in 1.0', () => {
  assert.equal(parseError('INFO / HTTP/1.1\r\n\r\n').code, HttpErrorCode.Host);
  assert.equal(parseError('INFO / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n').code, HttpErrorCode.Host);
  assert.equal(parseError('INFO / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n').code, HttpErrorCode.Host);
  assert.equal(parse(['INFO / HTTP/1.0\r\n\r\n']).requests.length, 1);
});

test('ambiguous framing is 400: CL with TE, differing CLs, non-numeric CL, other codings, TE in 1.0', () => {
  for (const h of [
    'Content-Length: 3\r\nTransfer-Encoding: chunked',
    'Transfer-Encoding: chunked\r\nContent-Length: 3',
    'Content-Length: 3\r\nContent-Length: 4',
    'Content-Length: 3, 4',
    'Content-Length: abc',
    'Content-Length: -1',
    'Content-Length: +3',
    'Content-Length: 0x10',
    'Content-Length: 3 3',
    'Content-Length:',
    'Content-Length: 9999999999999999',
    'Transfer-Encoding: gzip',
    'Transfer-Encoding: gzip, chunked',
    'Transfer-Encoding: chunked, chunked',
    'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked',
    'Transfer-Encoding:',
  ]) {
    const e = parseError(`CONFIG / HTTP/1.1\r\nHost: h\r\n${h}\r\n\r\nabc`);
    assert.equal(e.status, 400, JSON.stringify(h));
    assert.equal(e.code, HttpErrorCode.Framing, JSON.stringify(h));
  }
  assert.equal(parseError('CONFIG / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n').code, HttpErrorCode.Framing);
});

test('malformed chunks are 400', () => {
  for (const body of ['g\r\n', '\r\n', ' 1\r\nx\r\n', '1 x\r\nx\r\n', '1\r\nxy\r\n0\r\n\r\n', `${'1'.repeat(14)}\r\n`, '1;\x01\r\nx\r\n', `1;${'e'.repeat(5000)}`]) {
    const e = parseError(`CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.code, HttpErrorCode.Chunk, JSON.stringify(body));
  }
  assert.equal(parseError('CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n').code, HttpErrorCode.Header);
});

test('unknown methods are 501 once the head is read; HEAD is accepted when GET is', () => {
  for (const m of ['FOO-APP', 'STATUS-RSP', 'POST', 'QUERY', 'ADDID']) {
    const e = parseError(`${m} / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx`);
    assert.equal(e.status, 501, m);
    assert.equal(e.code, HttpErrorCode.Method);
    assert.ok(e.message.includes(m));
  }
  const head = parse(['HEAD /mod_cluster_manager HTTP/1.1\r\nHost: h\r\n\r\n']);
  assert.equal(head.requests[0]?.method, 'HEAD');
  assert.equal(head.requests[0]?.methodUpper, 'GET');
  const explicit = parse(['head / HTTP/1.1\r\nHost: h\r\n\r\n'], { methods: new Set(['GET', 'HEAD']) });
  assert.equal(explicit.requests[0]?.methodUpper, 'HEAD');
  assert.equal(parseError('HEAD / HTTP/1.1\r\nHost: h\r\n\r\n', { methods: new Set(['INFO']) }).status, 501);
  const any = parse(['WHATEVER / HTTP/1.1\r\nHost: h\r\n\r\n'], { methods: undefined });
  assert.equal(any.requests[0]?.methodUpper, 'WHATEVER');
});

test('head over maxHeaderSize is 431, whether complete or still arriving; at the limit it parses', () => {
  const head = (pad: number): string => `INFO / HTTP/1.1\r\nHost: h\r\nX-Pad: ${'p'.repeat(pad)}\r\n\r\n`;
  const base = head(0).length;
  const atLimit = parse([head(200 - base)], { maxHeaderSize: 200 });
  assert.equal(atLimit.error, null);
  assert.equal(atLimit.requests.length, 1);
  const over = parse([head(201 - base)], { maxHeaderSize: 200 });
  assert.equal(over.error?.status, 431);
  assert.equal(over.error?.code, HttpErrorCode.HeaderTooLarge);
  const endless = parse(['INFO / HTTP/1.1\r\nHost: h\r\nX-Pad: ', 'p'.repeat(300)], { maxHeaderSize: 200 });
  assert.equal(endless.error?.status, 431);
  const emptyLines = parse(['\r\n'.repeat(150)], { maxHeaderSize: 200 });
  assert.equal(emptyLines.error?.status, 431);
  const trailers = parse([`CONFIG / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ${'t'.repeat(300)}\r\n\r\n`], { maxHeaderSize: 200 });
  assert.equal(trailers.error?.status, 431);
});

test('empty lines before a request line are skipped', () => {
  const { requests, error } = parse(['\r\n\r\nINFO / HTTP/1.1\r\nHost: h\r\n\r\n']);
  assert.equal(error, null);
  assert.equal(requests.length, 1);
});

test('after an error the parser stays failed and delivers nothing more', () => {
  const out = parse(['INFO / HTTP/1.1\r\nHost: h\r\n\r\nBAD\r\n\r\n']);
  assert.equal(out.requests.length, 1);
  assert.equal(out.error?.status, 400);
  assert.throws(() => out.parser.push(Buffer.from('INFO / HTTP/1.1\r\nHost: h\r\n\r\n')), HttpParseError);
  assert.equal(out.requests.length, 1);
  assert.equal(out.parser.finished, true);
});

test('pause() holds buffered requests back until resume(), including from inside onRequest', () => {
  const seen: string[] = [];
  const parser: RequestParser = new RequestParser({
    maxHeaderSize: 8192, maxBodySize: 1024, remoteAddress: '127.0.0.1', remotePort: 1,
    onRequest: (r) => {
      seen.push(r.target);
      parser.pause();
    },
  });
  parser.push(Buffer.from('INFO /1 HTTP/1.1\r\nHost: h\r\n\r\nINFO /2 HTTP/1.1\r\nHost: h\r\n\r\nINFO /3 HTTP/1.1\r\nHost: h\r\n\r\n'));
  assert.deepEqual(seen, ['/1']);
  assert.equal(parser.paused, true);
  parser.resume();
  assert.deepEqual(seen, ['/1', '/2']);
  parser.resume();
  parser.resume();
  assert.deepEqual(seen, ['/1', '/2', '/3']);
  assert.equal(parser.inRequest, false);
});

test('stop() drops buffered bytes and ends delivery', () => {
  const seen: string[] = [];
  const parser: RequestParser = new RequestParser({
    maxHeaderSize: 8192, maxBodySize: 1024, remoteAddress: '127.0.0.1', remotePort: 1,
    onRequest: (r) => {
      seen.push(r.target);
      parser.stop();
    },
  });
  parser.push(Buffer.from('INFO /1 HTTP/1.1\r\nHost: h\r\n\r\nINFO /2 HTTP/1.1\r\nHost: h\r\n\r\n'));
  parser.push(Buffer.from('INFO /3 HTTP/1.1\r\nHost: h\r\n\r\n'));
  assert.deepEqual(seen, ['/1']);
  assert.equal(parser.finished, true);
  assert.equal(parser.inRequest, false);
});

test('Expect: 100-continue is reported only while the body is still missing', () => {
  const waiting = parse(['CONFIG / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n']);
  assert.equal(waiting.continues, 1);
  waiting.parser.push(Buffer.from('abc'));
  assert.equal(waiting.requests[0]?.body.toString(), 'abc');
  assert.equal(parse(['CONFIG / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc']).continues, 0);
  assert.equal(parse(['INFO / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n']).continues, 0);
});

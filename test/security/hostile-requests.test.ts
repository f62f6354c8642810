// Issue 7: hostile requests against the real proxy (threads, uWS, the h1
// client) with a node that records the exact bytes it receives. For every
// vector: the status the client gets (0: no answer at all) and exactly what
// the node saw (the request line it parsed, or nothing). Whatever reaches the
// node must be accepted by Node's strict HTTP parser and, read the most
// permissive way a Java container can, stay inside the ENABLED context /app.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendRaw } from '../helpers/raw-http';
import { insideApp, startCluster, type Cluster } from './cluster';
import type { SeenRequest } from './recording-node';

/** What the node must have seen: nothing, one request line, or a head without a complete request (a body cut by uWS). */
type NodeSees = null | string | 'incomplete';

interface Vector {
  readonly name: string;
  readonly request: string;
  /** The status of the (first) answer; 0: no answer (uWS dropped the request before JavaScript saw it). */
  readonly status: number;
  readonly node: NodeSees;
  /** Answers to wait for (pipelined vectors). */
  readonly answers?: number;
  readonly check?: (seen: SeenRequest[], statuses: number[]) => void;
}

const H = 'Host: localhost\r\n';
const get = (target: string, headers = ''): string => `GET ${target} HTTP/1.1\r\n${H}${headers}\r\n`;
const post = (headers: string, body: string): string => `POST /app/x HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

const SMUGGLED = `GET /secret HTTP/1.1\r\n${H}\r\n`;
const bodyIs = (expected: string) => (seen: SeenRequest[]): void => assert.equal(seen[0]?.body.toString('latin1'), expected);

/** The table of issue 7, in its order. */
const ISSUE_TABLE: Vector[] = [
  { name: 'GET /app/../secret', request: get('/app/../secret'), status: 404, node: null },
  { name: 'GET /app/%2e%2e/secret', request: get('/app/%2e%2e/secret'), status: 404, node: null },
  { name: 'GET /app%2f..%2fsecret', request: get('/app%2f..%2fsecret'), status: 404, node: null },
  { name: 'GET /app/..%2fsecret', request: get('/app/..%2fsecret'), status: 404, node: null },
  { name: 'GET /app/..;/secret', request: get('/app/..;/secret'), status: 400, node: null },
  { name: 'two different Content-Length', request: post('Content-Length: 1\r\nContent-Length: 2\r\n', 'ab'), status: 400, node: null },
  { name: 'Transfer-Encoding: xchunked', request: post('Transfer-Encoding: xchunked\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 400, node: null },
  { name: 'Transfer-Encoding: chunked + Content-Length', request: post('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 0, node: null },
  { name: 'bare LF line ends', request: 'GET /app/x HTTP/1.1\nHost: localhost\n\n', status: 0, node: null },
  { name: 'space before the colon', request: get('/app/x', 'X-A : 1\r\n'), status: 0, node: null },
  { name: 'NUL in a header value', request: get('/app/x', 'X-A: a\0b\r\n'), status: 0, node: null },
  { name: 'obs-fold', request: get('/app/x', 'X-A: a\r\n b\r\n'), status: 0, node: null },
  { name: 'HTTP/1.1 without Host', request: 'GET /app/x HTTP/1.1\r\n\r\n', status: 0, node: null },
  { name: 'a 200 KB header', request: get('/app/x', `X-A: ${'a'.repeat(200 * 1024)}\r\n`), status: 0, node: null },
  { name: 'absolute-form GET http://host/app/who', request: `GET http://localhost/app/who HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'chunk size ffffffffffffffffff', request: post('Transfer-Encoding: chunked\r\n', 'ffffffffffffffffff\r\nab\r\n0\r\n\r\n'), status: 0, node: 'incomplete' },
];

/** Path confusion: dot-segments, encodings, parameters, slashes, Unicode. */
const PATHS: Vector[] = [
  { name: 'mixed case %2E%2e', request: get('/app/%2E%2e/secret'), status: 404, node: null },
  { name: 'half-encoded .%2e', request: get('/app/.%2e/secret'), status: 404, node: null },
  { name: 'dot-segment inside /app', request: get('/app/./x'), status: 200, node: 'GET /app/x' },
  { name: 'dot-dot staying inside /app', request: get('/app/x/../y'), status: 200, node: 'GET /app/y' },
  { name: 'trailing dot-dot', request: get('/app/x/..'), status: 200, node: 'GET /app/' },
  { name: 'two levels up and back', request: get('/app/a/b/../../c'), status: 200, node: 'GET /app/c' },
  { name: 'leading /..', request: get('/../app/x'), status: 400, node: null },
  { name: 'climbing above /', request: get('/app/../../x'), status: 400, node: null },
  { name: 'encoded climb above /', request: get('/%2e%2e/app/x'), status: 400, node: null },
  { name: '/app/.. is the root', request: get('/app/%2e%2e?x=1'), status: 404, node: null },
  { name: '// prefix', request: get('//app/x'), status: 200, node: 'GET /app/x' },
  { name: 'many slashes', request: get('///app//x'), status: 200, node: 'GET /app/x' },
  { name: '// prefix to another context', request: get('//secret'), status: 404, node: null },
  { name: 'empty segment before ..', request: get('/app//../secret'), status: 404, node: null },
  { name: '..;x=y', request: get('/app/..;x=y/secret'), status: 400, node: null },
  { name: '.;x', request: get('/app/.;x/secret'), status: 400, node: null },
  { name: '%2e%2e;', request: get('/app/%2e%2e;/secret'), status: 400, node: null },
  { name: '..%3b (an escaped ";" the canonical path decodes)', request: get('/app/..%3b/secret'), status: 400, node: null },
  { name: '..;jsessionid=', request: get('/app/..;jsessionid=abc.node1/x'), status: 400, node: null },
  { name: '; on the context segment, then ..', request: get('/app;x/../secret'), status: 404, node: null },
  { name: '; on an empty first segment', request: get('/;x/app/x'), status: 200, node: 'GET /;x/app/x' },
  { name: '; on a segment that .. removes', request: get('/secret;/../app/x'), status: 200, node: 'GET /app/x' },
  { name: ';jsessionid= on the context', request: get('/app;jsessionid=abc.node1/x'), status: 200, node: 'GET /app;jsessionid=abc.node1/x' },
  { name: ';jsessionid= at the end', request: get('/app/x;jsessionid=abc.node1?a=1'), status: 200, node: 'GET /app/x;jsessionid=abc.node1?a=1' },
  { name: '; alone on a segment', request: get('/app/;/x'), status: 200, node: 'GET /app/;/x' },
  { name: '; before /app, ROOT not registered', request: get('/x;/app/y'), status: 404, node: null },
  { name: '%00 in a segment', request: get('/app/%00/x'), status: 400, node: null },
  { name: '%00 at the end', request: get('/app/x%00'), status: 400, node: null },
  { name: '%00 then ..', request: get('/app/%00/../../secret'), status: 400, node: null },
  { name: 'raw backslashes', request: get('/app\\..\\secret'), status: 400, node: null },
  { name: 'encoded backslashes', request: get('/app/%5c..%5csecret'), status: 400, node: null },
  { name: 'backslash inside /app', request: get('/app/x\\y'), status: 400, node: null },
  { name: 'overlong dots %c0%ae', request: get('/app/%c0%ae%c0%ae/secret'), status: 400, node: null },
  { name: 'overlong slash %c0%af', request: get('/app/..%c0%afsecret'), status: 400, node: null },
  { name: 'three-byte overlong dots', request: get('/app/%e0%80%ae%e0%80%ae/secret'), status: 400, node: null },
  { name: 'four-byte overlong dot', request: get('/app/%f0%80%80%ae/x'), status: 400, node: null },
  { name: 'encoded surrogate', request: get('/app/%ed%a0%80'), status: 400, node: null },
  { name: 'lone continuation byte', request: get('/app/%80'), status: 400, node: null },
  { name: 'raw invalid UTF-8 byte', request: get('/app/\xe9'), status: 400, node: null },
  { name: 'fullwidth dots (Unicode) stay a name', request: get('/app/%ef%bc%8e%ef%bc%8e/secret'), status: 200, node: 'GET /app/%EF%BC%8E%EF%BC%8E/secret' },
  { name: 'two-dot leader, raw UTF-8', request: get('/app/\xe2\x80\xa5/secret'), status: 200, node: 'GET /app/%E2%80%A5/secret' },
  { name: 'one-dot leaders', request: get('/app/%e2%80%a4%e2%80%a4/secret'), status: 200, node: 'GET /app/%E2%80%A4%E2%80%A4/secret' },
  { name: 'fullwidth solidus', request: get('/app%ef%bc%8f..%ef%bc%8fsecret'), status: 404, node: null },
  { name: 'raw UTF-8 name', request: get('/app/caf\xc3\xa9'), status: 200, node: 'GET /app/caf%C3%A9' },
  { name: '"#" in the target', request: get('/app/x#/../../secret'), status: 400, node: null },
  { name: 'malformed escape', request: get('/app/%zz'), status: 400, node: null },
  { name: 'truncated escape', request: get('/app/x%2'), status: 400, node: null },
  { name: 'double-encoded dots stay escaped', request: get('/app/%252e%252e/secret'), status: 200, node: 'GET /app/%252e%252e/secret' },
  { name: '%2F inside /app (AllowEncodedSlashes Off)', request: get('/app/x%2fy'), status: 404, node: null },
  { name: 'DEL in the path', request: get('/app/x\x7f'), status: 400, node: null },
  { name: 'a quote in the path is escaped', request: get('/app/a"b'), status: 200, node: 'GET /app/a%22b' },
  { name: 'query left as received', request: get('/app/x?q=/../../secret&r=%2e%2e'), status: 200, node: 'GET /app/x?q=/../../secret&r=%2e%2e' },
  { name: 'raw UTF-8 query is escaped', request: get('/app/x?q=\xc3\xa9'), status: 200, node: 'GET /app/x?q=%C3%A9' },
  { name: 'raw invalid byte in the query', request: get('/app/x?q=\xe9'), status: 400, node: null },
  { name: 'a STOPPED context', request: get('/stopped/x'), status: 404, node: null },
  { name: 'into a STOPPED context by ..', request: get('/app/../stopped/x'), status: 404, node: null },
  { name: 'into a STOPPED context by ;', request: get('/;x/stopped/x'), status: 404, node: null },
  { name: 'context names are case-sensitive', request: get('/APP/x'), status: 404, node: null },
  { name: 'unmapped root', request: get('/'), status: 404, node: null },
];

/** Framing and header vectors (RFC 9112). */
const FRAMING: Vector[] = [
  { name: 'identical Content-Length twice: one reaches the node', request: post('Content-Length: 2\r\nContent-Length: 2\r\n', 'ab'), status: 200, node: 'POST /app/x', check: (seen) => {
    bodyIs('ab')(seen);
    assert.equal(seen[0]?.rawHeaders.filter((h) => h.toLowerCase() === 'content-length').length, 1);
  } },
  { name: 'empty Content-Length', request: post('Content-Length:\r\n', 'ab'), status: 400, node: null },
  { name: 'GET with a body that looks like a request (CL)', request: get('/app/x', `Content-Length: ${SMUGGLED.length}\r\n`) + SMUGGLED, status: 200, node: 'GET /app/x', check: bodyIs(SMUGGLED) },
  { name: 'Transfer-Encoding gzip, chunked', request: post('Transfer-Encoding: gzip, chunked\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 501, node: null },
  { name: 'Transfer-Encoding chunked, gzip', request: post('Transfer-Encoding: chunked, gzip\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 400, node: null },
  { name: 'Transfer-Encoding identity', request: post('Transfer-Encoding: identity\r\n', '0\r\n\r\n'), status: 400, node: null },
  { name: 'Transfer-Encoding chunked then gzip in two fields', request: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 400, node: null },
  { name: 'empty Transfer-Encoding', request: post('Transfer-Encoding:\r\n', '0\r\n\r\n'), status: 400, node: null },
  { name: 'Transfer-Encoding chunked chunked', request: post('Transfer-Encoding: chunked, chunked\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 400, node: null },
  { name: 'Transfer-Encoding CHUNKED', request: post('Transfer-Encoding: CHUNKED\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 200, node: 'POST /app/x', check: bodyIs('ab') },
  { name: 'Transfer-Encoding after a tab', request: post('Transfer-Encoding:\tchunked\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 200, node: 'POST /app/x', check: bodyIs('ab') },
  // uWS disconnects a client that pipelines while an answer is pending: the node sees the POST alone, never GET /secret.
  { name: 'chunked body then a smuggled request', request: post('Transfer-Encoding: chunked\r\n', `0\r\n\r\n${SMUGGLED}`), status: 0, node: 'POST /app/x', check: bodyIs('') },
  { name: 'chunk sizes with bare LF', request: post('Transfer-Encoding: chunked\r\n', '2\nab\n0\n\n'), status: 200, node: 'POST /app/x', check: bodyIs('ab') },
  { name: 'chunk extension', request: post('Transfer-Encoding: chunked\r\n', '2;x=y\r\nab\r\n0\r\n\r\n'), status: 0, node: 'incomplete' },
  { name: 'negative chunk size', request: post('Transfer-Encoding: chunked\r\n', '-2\r\nab\r\n0\r\n\r\n'), status: 0, node: 'incomplete' },
  { name: 'chunk size with a 0x prefix', request: post('Transfer-Encoding: chunked\r\n', '0x2\r\nab\r\n0\r\n\r\n'), status: 0, node: 'incomplete' },
  { name: 'Host twice', request: `GET /app/x HTTP/1.1\r\n${H}${H}\r\n`, status: 400, node: null },
  { name: 'two different Hosts', request: `GET /app/x HTTP/1.1\r\n${H}Host: evil\r\n\r\n`, status: 400, node: null },
  { name: 'Host with a path and userinfo', request: 'GET /app/x HTTP/1.1\r\nHost: a/b@c\r\n\r\n', status: 400, node: null },
  { name: 'Host with a space', request: 'GET /app/x HTTP/1.1\r\nHost: a b\r\n\r\n', status: 400, node: null },
  { name: 'empty Host', request: 'GET /app/x HTTP/1.1\r\nHost:\r\n\r\n', status: 200, node: 'GET /app/x' },
  { name: 'DEL in a header value', request: get('/app/x', 'X-A: a\x7fb\r\n'), status: 400, node: null },
  // Sent in one write: uWS reads a head that comes in several reads into a 4 KB buffer and drops it when larger.
  { name: 'a 20 KB header section', request: get('/app/x', `X-A: ${'a'.repeat(20 * 1024)}\r\n`), status: 431, node: null },
  { name: 'nine 2 KB headers', request: get('/app/x', Array.from({ length: 9 }, (_, i) => `X-${i}: ${'b'.repeat(2000)}\r\n`).join('')), status: 431, node: null },
  { name: 'a 12 KB header section is served', request: get('/app/x', `X-A: ${'a'.repeat(12 * 1024)}\r\n`), status: 200, node: 'GET /app/x' },
  { name: 'Upgrade: h2c is not passed on', request: get('/app/x', 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'), status: 200, node: 'GET /app/x', check: (seen) => {
    assert.equal(seen[0]?.headers.upgrade, undefined);
    assert.equal(seen[0]?.headers['http2-settings'], undefined);
  } },
  { name: 'X-Forwarded-Proto from the client is replaced', request: get('/app/x', 'X-Forwarded-Proto: https\r\n'), status: 200, node: 'GET /app/x', check: (seen) => assert.equal(seen[0]?.headers['x-forwarded-proto'], 'http') },
];

/** What uWS drops before JavaScript sees the request (README "Security", uWS limits). */
const DROPPED_BY_UWS: Vector[] = [
  { name: 'Content-Length then Transfer-Encoding', request: post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '2\r\nab\r\n0\r\n\r\n'), status: 0, node: null },
  { name: 'space before the colon of Transfer-Encoding', request: post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), status: 0, node: null },
  { name: 'header line starting with a space', request: post(' Transfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 0, node: null },
  { name: 'CR alone in a value', request: get('/app/x', 'X-A: a\rb\r\n'), status: 0, node: null },
  { name: 'control character in a value', request: get('/app/x', 'X-A: a\x01b\r\n'), status: 0, node: null },
  { name: 'tab in a header name', request: get('/app/x', 'X\tA: 1\r\n'), status: 0, node: null },
  { name: 'header line without a colon', request: get('/app/x', 'XYZ\r\n'), status: 0, node: null },
  { name: 'non-ASCII header name', request: get('/app/x', 'X\xe9: 1\r\n'), status: 0, node: null },
  { name: 'control character in the target', request: get('/app/x\x01'), status: 0, node: null },
  { name: 'tab in the target', request: get('/app/a\tb'), status: 0, node: null },
  { name: 'two spaces after the target', request: `GET /app/x  HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'lower-case method', request: `get /app/x HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'lower-case version', request: `GET /app/x http/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'HTTP/1.0 without Host', request: 'GET /app/x HTTP/1.0\r\n\r\n', status: 0, node: null },
  { name: 'HTTP/1.2', request: `GET /app/x HTTP/1.2\r\n${H}\r\n`, status: 0, node: null },
  { name: 'HTTP/0.9', request: 'GET /app/x\r\n\r\n', status: 0, node: null },
  { name: 'HTTP/2 preface', request: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 0, node: null },
  { name: 'CONNECT authority-form', request: `CONNECT localhost:443 HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'OPTIONS *', request: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'target without a leading /', request: `GET app/x HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'absolute-form with ..', request: `GET http://localhost/app/../secret HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: 'CR-only line ends', request: 'GET /app/x HTTP/1.1\rHost: localhost\r\r', status: 0, node: null },
  { name: 'empty line before the request line', request: `\r\nGET /app/x HTTP/1.1\r\n${H}\r\n`, status: 0, node: null },
  { name: '49 header fields', request: get('/app/x', Array.from({ length: 48 }, (_, i) => `X-${i}: 1\r\n`).join('')), status: 0, node: null },
  { name: 'Transfer-Encoding on HTTP/1.0', request: `POST /app/x HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 0, node: null },
  // These reach JavaScript, but uWS closes the connection as it reads the body, before the 400 is written.
  { name: 'Content-Length list "2, 2"', request: post('Content-Length: 2, 2\r\n', 'ab'), status: 0, node: null },
  { name: 'negative Content-Length', request: post('Content-Length: -1\r\n', ''), status: 0, node: null },
  { name: 'Content-Length +2', request: post('Content-Length: +2\r\n', 'ab'), status: 0, node: null },
  { name: 'Content-Length 0x2', request: post('Content-Length: 0x2\r\n', 'ab'), status: 0, node: null },
  { name: 'Content-Length of 10 digits', request: post('Content-Length: 1000000000\r\n', 'ab'), status: 0, node: null },
];

/** The WebSocket upgrade path: the same target rules. */
const WEBSOCKET: Vector[] = [
  { name: 'upgrade: dot-segments inside /app are removed', request: get('/app/x/../y', UPGRADE), status: 101, node: 'GET /app/y', check: (seen) => assert.equal(seen[0]?.upgrade, true) },
  { name: 'upgrade: %2e%2e out of /app', request: get('/app/%2e%2e/secret', UPGRADE), status: 404, node: null },
  { name: 'upgrade: ..;/', request: get('/app/..;/secret', UPGRADE), status: 400, node: null },
  { name: 'upgrade: %2F', request: get('/app%2f..%2fsecret', UPGRADE), status: 404, node: null },
  { name: 'upgrade: // prefix', request: get('//app/ws', UPGRADE), status: 101, node: 'GET /app/ws' },
  { name: 'upgrade: into a STOPPED context', request: get('/app/../stopped/ws', UPGRADE), status: 404, node: null },
  { name: 'upgrade: two Hosts', request: `GET /app/ws HTTP/1.1\r\n${H}Host: evil\r\n${UPGRADE}\r\n`, status: 400, node: null },
];

const ALL = [...ISSUE_TABLE, ...PATHS, ...FRAMING, ...DROPPED_BY_UWS, ...WEBSOCKET];

let cluster: Cluster;
/** Every request the node parsed over the whole run, for the context-boundary check. */
const everySeen: SeenRequest[] = [];
const results: string[] = [];

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.close();
  // The table a reviewer reads: vector, status, what the node saw.
  for (const line of results) console.log(`# ${line}`);
});

/** How long a client waits for an answer uWS never gives (it closes at its ~10 s idle timeout). */
const NO_ANSWER_WAIT_MS = 1500;

async function run(v: Vector): Promise<{ statuses: number[]; seen: SeenRequest[]; received: string }> {
  const node = cluster.node;
  node.reset();
  const answers = v.answers ?? 1;
  const r = await sendRaw(cluster.proxy.listenPort, Buffer.from(v.request, 'latin1'), {
    expect: v.status === 0 ? undefined : answers,
    timeoutMs: v.status === 0 ? NO_ANSWER_WAIT_MS : 10_000,
  });
  // A request forwarded after the answer was written would show up here.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const seen = [...node.requests];
  everySeen.push(...seen);
  // A body cut by uWS ends the node's message early (llhttp: HPE_INVALID_EOF_STATE); anything else is a malformed forward.
  const errors = v.node === 'incomplete' ? node.parseErrors.filter((e) => !e.startsWith('HPE_INVALID_EOF_STATE')) : node.parseErrors;
  assert.deepEqual(errors, [], `${v.name}: the node's strict parser refused what it got: ${JSON.stringify(node.received)}`);
  return { statuses: r.responses.map((x) => x.status), seen, received: node.received };
}

function describeSeen(seen: SeenRequest[], received: string): string {
  if (seen.length > 0) return seen.map((s) => `${s.method} ${s.url}${s.upgrade ? ' (upgrade)' : ''}`).join(' + ');
  return received === '' ? 'nothing' : `an unfinished request (${received.split('\r\n')[0]})`;
}

describe(`${ALL.length} hostile requests against the real proxy`, () => {
  it('has the issue table and at least 50 more vectors', () => {
    assert.equal(ISSUE_TABLE.length, 16);
    assert.ok(ALL.length - ISSUE_TABLE.length >= 50, String(ALL.length));
  });

  for (const v of ALL) {
    it(`${v.name} → ${v.status === 0 ? 'no answer' : v.status}, node sees ${v.node ?? 'nothing'}`, async () => {
      const { statuses, seen, received } = await run(v);
      results.push(`| ${v.name} | ${statuses[0] ?? 'no answer'} | ${describeSeen(seen, received)} |`);
      assert.equal(statuses[0] ?? 0, v.status, `${v.name}: status; node saw ${describeSeen(seen, received)}`);
      if (v.node === null) assert.equal(received, '', `${v.name}: the node saw ${JSON.stringify(received)}`);
      else if (v.node === 'incomplete') assert.equal(seen.length, 0, `${v.name}: a complete request reached the node`);
      else {
        assert.deepEqual(
          seen.map((s) => `${s.method} ${s.url}`),
          [v.node],
          `${v.name}: node saw ${JSON.stringify(received)}`,
        );
      }
      v.check?.(seen, statuses);
    });
  }

  it('every request the node received stays inside /app, read as permissively as a container may', () => {
    assert.ok(everySeen.length > 10);
    for (const s of everySeen) assert.ok(insideApp(s.url), s.url);
  });

  it('the proxy is still up and serving', async () => {
    const r = await run({ name: 'after', request: get('/app/after'), status: 200, node: 'GET /app/after' });
    assert.equal(r.statuses[0], 200);
    assert.equal(cluster.proxy.child.exitCode, null);
  });
});

// The AJP13 wire format module against the bytes httpd's mod_proxy_ajp and
// Tomcat 10.1 really exchanged (../shared/reference/ajp-exchanges.txt).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AjpProtocolError, AjpRequestTooLargeError } from '../../../src/forward/upstream/ajp/errors';
import {
  CPING_PACKET,
  CPONG_PACKET,
  decodeSendHeaders,
  EMPTY_DATA_PACKET,
  encodeDataPacket,
  encodeForwardRequest,
  endResponseReuse,
  getBodyChunkLength,
  packetSizeFrom,
  payloadLength,
  BODY_CHUNK_DATA,
  sendBodyChunkLength,
  type ForwardRequest,
} from '../../../src/forward/upstream/ajp/protocol';
import { capturedPacket, exchangePackets } from './captures';
import { decodeForward } from './fake-container';

// The test's own copy of the code tables (AJP.md §2.2, §2.4), to map captured codes back to names.
const METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT', 'UNCHECKOUT', 'SEARCH', 'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY'];
const HEADERS = ['accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection', 'content-type', 'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent'];

/** The fields httpd put in a captured FORWARD_REQUEST, when mcmp-edge can express them all; else null. */
function fieldsOf(packet: Buffer): ForwardRequest | null {
  const d = decodeForward(packet);
  if (d.isSsl || d.remoteHost !== null) return null;
  const known = new Set([0x05, 0x06, 0x0a, 0x0c, 0x0d]);
  for (const code of d.attributes.keys()) if (!known.has(code)) return null;
  let remotePort = -1;
  let localAddr = '';
  for (const a of d.attributes.get(0x0a) ?? []) {
    const [name, value] = a.split('=') as [string, string];
    if (name === 'AJP_REMOTE_PORT') remotePort = Number(value);
    else if (name === 'AJP_LOCAL_ADDR') localAddr = value;
    else return null;
  }
  const stored = d.attributes.get(0x0d)?.[0];
  const method = d.method === 0xff ? (stored as string) : (METHODS[d.method - 1] as string);
  // httpd stores ACL and SEARCH (its table does not know them); mcmp-edge codes them (D-AJP-14).
  if (d.method === 0xff && METHODS.includes(method)) return null;
  return {
    method,
    protocol: d.protocol,
    uri: d.uri,
    remoteAddr: d.remoteAddr,
    serverName: d.serverName,
    serverPort: d.serverPort,
    isSsl: false,
    headers: d.headers.flatMap(([n, v]) => [/^a0[0-9a-f]{2}$/.test(n) ? (HEADERS[parseInt(n.slice(2), 16) - 1] as string) : n, v]),
    query: d.attributes.get(0x05)?.[0] ?? null,
    route: d.attributes.get(0x06)?.[0] ?? '',
    secret: d.attributes.get(0x0c)?.[0] ?? '',
    remotePort,
    localAddr,
  };
}

test('FORWARD_REQUEST: byte for byte what httpd sent, for every captured request mcmp-edge can express', () => {
  let compared = 0;
  const kinds = new Set<string>();
  for (let n = 1; n <= 58; n++) {
    for (const p of exchangePackets(n)) {
      if (p.from !== 'proxy' || p.type !== 'FORWARD_REQUEST' || p.bytes === null) continue;
      const fields = fieldsOf(p.bytes);
      if (fields === null || p.bytes.length > 8192) continue;
      assert.deepEqual(encodeForwardRequest(fields, 8192), p.bytes, `exchange ${n} packet ${p.index}`);
      compared++;
      if (fields.query !== null) kinds.add('query');
      if (fields.route !== '') kinds.add('route');
      if (fields.secret !== '') kinds.add('secret');
      if (!METHODS.includes(fields.method)) kinds.add('stored method');
      if (fields.headers.some((h, i) => i % 2 === 0 && !HEADERS.includes(h))) kinds.add('string header name');
    }
  }
  assert.ok(compared >= 20, `only ${compared} requests compared`);
  assert.deepEqual([...kinds].sort(), ['query', 'route', 'secret', 'stored method', 'string header name']);
});

test('fixed packets are the captured bytes', () => {
  assert.deepEqual(CPING_PACKET, capturedPacket(1, 1));
  assert.deepEqual(CPONG_PACKET, capturedPacket(1, 2));
  assert.deepEqual(EMPTY_DATA_PACKET, capturedPacket(1, 5));
});

test('data packets: length fields as httpd writes them; request heads too large are refused', () => {
  const body = Buffer.from('0123456789abcdefghij');
  const packet = encodeDataPacket(body, 0, body.length);
  // X5: POST 20 bytes, the unsolicited first data packet.
  const captured = exchangePackets(5).find((p) => p.from === 'proxy' && p.type === 'DATA' && p.bytes !== null && p.bytes.length === 26);
  assert.ok(captured?.bytes !== undefined && captured.bytes !== null);
  assert.deepEqual(packet.subarray(0, 6), captured.bytes.subarray(0, 6));
  const fields: ForwardRequest = { method: 'GET', protocol: 'HTTP/1.1', uri: '/', remoteAddr: '127.0.0.1', serverName: 'a', serverPort: 80, isSsl: false, headers: ['x-big', 'v'.repeat(9000)], query: null, route: '', secret: '', remotePort: -1, localAddr: '' };
  assert.throws(() => encodeForwardRequest(fields, 8192), AjpRequestTooLargeError);
  assert.equal(encodeForwardRequest(fields, 16384).length > 9000, true);
  assert.throws(() => encodeForwardRequest({ ...fields, headers: ['x', 'a\r\nb'] }, 8192), /CR, LF or NUL/);
});

test('container packets: captured SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE, GET_BODY_CHUNK decode', () => {
  const head = capturedPacket(1, 6);
  assert.equal(payloadLength(head, 0, 8192), head.length - 4);
  const decoded = decodeSendHeaders(head, 4, head.length);
  assert.equal(decoded.status, 200);
  assert.equal(decoded.reason, '', 'the reason "200" means no reason');
  assert.deepEqual(decoded.headers.map((b) => b.toString()), ['Content-Type', 'text/plain;charset=UTF-8', 'Content-Length', '474']);
  const chunk = capturedPacket(41, 5);
  const n = sendBodyChunkLength(chunk, 4, chunk.length);
  assert.equal(chunk.subarray(4 + BODY_CHUNK_DATA, 4 + BODY_CHUNK_DATA + n).toString(), 'ok\n');
  const keep = capturedPacket(41, 12);
  const close = capturedPacket(41, 6);
  assert.equal(endResponseReuse(keep, 4, keep.length), true);
  assert.equal(endResponseReuse(close, 4, close.length), false);
  const ask = capturedPacket(1, 4);
  assert.equal(getBodyChunkLength(ask, 4, ask.length), 8186);
  // X40: a null reason phrase is accepted.
  const reasonless = exchangePackets(40).find((p) => p.type === 'SEND_HEADERS' && p.bytes !== null)?.bytes as Buffer;
  assert.equal(decodeSendHeaders(reasonless, 4, reasonless.length).reason, '');
});

test('malformed container packets are protocol errors (AJP.md §6.4)', () => {
  const badCode = capturedPacket(32, 4);
  assert.throws(() => decodeSendHeaders(badCode, 4, badCode.length), AjpProtocolError);
  const badSig = exchangePackets(33).find((p) => p.type === 'BAD')?.bytes as Buffer;
  assert.throws(() => payloadLength(badSig, 0, 8192), AjpProtocolError);
  assert.throws(() => payloadLength(Buffer.from([0x41, 0x42, 0x1f, 0xfd]), 0, 8192), /exceeds the packet size/);
  assert.equal(payloadLength(Buffer.from([0x41, 0x42, 0x1f, 0xfc]), 0, 8192), 8188);
  const shortChunk = Buffer.from([0x41, 0x42, 0x00, 0x06, 0x03, 0x00, 0x05, 0x61, 0x62, 0x00]);
  assert.throws(() => sendBodyChunkLength(shortChunk, 4, shortChunk.length), /disagrees/);
  const truncatedHead = head200Truncated();
  assert.throws(() => decodeSendHeaders(truncatedHead, 4, truncatedHead.length), /beyond the packet/);
  assert.throws(() => endResponseReuse(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x05]), 4, 5), /reuse byte/);
});

function head200Truncated(): Buffer {
  const full = capturedPacket(1, 6);
  return full.subarray(0, full.length - 3);
}

test('ProxyIOBufferSize as httpd takes it: at least 8192, at most 65536, rounded up to 1 KiB', () => {
  assert.equal(packetSizeFrom(0), 8192);
  assert.equal(packetSizeFrom(512), 8192);
  assert.equal(packetSizeFrom(8192), 8192);
  assert.equal(packetSizeFrom(10000), 10240);
  assert.equal(packetSizeFrom(65536), 65536);
  assert.equal(packetSizeFrom(100000), 65536);
});

const PLAIN_REQUEST: ForwardRequest = { method: 'GET', protocol: 'HTTP/1.1', uri: '/a', remoteAddr: '127.0.0.1', serverName: 'a', serverPort: 80, isSsl: false, headers: ['host', 'a'], query: null, route: '', secret: '', remotePort: -1, localAddr: '' };

test('FORWARD_REQUEST packets are written in place and handed out as views: each stays intact while later ones are built', () => {
  const first = encodeForwardRequest({ ...PLAIN_REQUEST, uri: '/first' }, 8192);
  const copy = Buffer.from(first);
  // Enough later packets to fill several slabs, some of them refused half-way.
  for (let i = 0; i < 2000; i++) {
    encodeForwardRequest({ ...PLAIN_REQUEST, uri: `/later/${i}`, headers: ['x-pad', 'p'.repeat(i % 300)] }, 8192);
    assert.throws(() => encodeForwardRequest({ ...PLAIN_REQUEST, headers: ['x', 'a\nb'] }, 8192), /CR, LF or NUL/);
  }
  assert.deepEqual(first, copy);
  assert.equal(decodeForward(first).uri, '/first');
});

test('strings go out as latin1 bytes, and the byte written is the one checked for CR, LF and NUL', () => {
  const p = encodeForwardRequest({ ...PLAIN_REQUEST, headers: ['x-latin1', 'caf\u00e9 \u00ff'] }, 8192);
  assert.ok(p.includes(Buffer.from('caf\u00e9 \u00ff\0', 'latin1')));
  // U+010D, U+010A, U+0100: latin1 writes their low byte (0x0D, 0x0A, 0x00), so they are refused like CR, LF, NUL.
  for (const c of ['\u010d', '\u010a', '\u0100', '\r', '\n', '\0']) {
    assert.throws(() => encodeForwardRequest({ ...PLAIN_REQUEST, headers: ['x', `a${c}b`] }, 8192), /CR, LF or NUL/, JSON.stringify(c));
    assert.throws(() => encodeForwardRequest({ ...PLAIN_REQUEST, uri: `/a${c}` }, 8192), /CR, LF or NUL/, JSON.stringify(c));
  }
  // Too large and with a CR: the CR is what is reported.
  assert.throws(() => encodeForwardRequest({ ...PLAIN_REQUEST, headers: ['x', `${'v'.repeat(9000)}\r`] }, 8192), /CR, LF or NUL/);
});

/** A SEND_HEADERS packet: status 200, reason `reason`, headers [name, value...] (a number name is a code 0xA0nn). */
function headPacket(reason: string | null, headers: Array<string | number>): Buffer {
  const parts: number[] = [0x04, 0x00, 0xc8];
  const str = (s: string): void => {
    parts.push(s.length >> 8, s.length & 0xff, ...Buffer.from(s, 'latin1'), 0);
  };
  if (reason === null) parts.push(0xff, 0xff);
  else str(reason);
  parts.push(0, headers.length / 2);
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string | number;
    if (typeof name === 'number') parts.push(0xa0, name);
    else str(name);
    str(headers[i + 1] as string);
  }
  const payload = Buffer.from(parts);
  return Buffer.concat([Buffer.from([0x41, 0x42, payload.length >> 8, payload.length & 0xff]), payload]);
}

test('SEND_HEADERS: Content-Length read from the bytes (coded or spelled in any case); names and values outlive the packet', () => {
  const decode = (p: Buffer): ReturnType<typeof decodeSendHeaders> => decodeSendHeaders(p, 4, p.length);
  assert.equal(decode(headPacket('200', [0x03, '474'])).contentLength, 474);
  assert.equal(decode(headPacket('OK', ['CONTENT-length', '12'])).contentLength, 12);
  assert.equal(decode(headPacket('OK', [0x01, 'text/plain'])).contentLength, -1);
  assert.equal(decode(headPacket('OK', [0x03, '12a'])).contentLength, -1);
  assert.equal(decode(headPacket('OK', [0x03, ''])).contentLength, -1);
  assert.equal(decode(headPacket('OK', [0x03, '1234567890123456'])).contentLength, -1);
  assert.equal(decode(headPacket('OK', [0x03, '123456789012345'])).contentLength, 123456789012345);
  assert.equal(decode(headPacket('OK', [0x03, '7', 'Content-Length', '7'])).contentLength, 7);
  assert.equal(decode(headPacket('OK', [0x03, '7', 'Content-Length', '8'])).contentLength, -1);
  assert.equal(decode(headPacket('OK', [0x03, 'x', 'Content-Length', '8'])).contentLength, 8, 'as before: a number after no number counts');
  assert.equal(decode(headPacket('200', [])).reason, '');
  assert.equal(decode(headPacket('201', [])).reason, '201', 'a number that is not the status is a phrase');
  assert.equal(decode(headPacket('Fine\x01\x7f day', [])).reason, 'Fine day');
  assert.equal(decode(headPacket(null, [])).reason, '');
  const p = headPacket('OK', ['X-Name', 'value', 0x07, 'a=b']);
  const d = decode(p);
  p.fill(0x7a);
  assert.deepEqual(d.headers.map((b) => b.toString('latin1')), ['X-Name', 'value', 'Set-Cookie', 'a=b']);
});

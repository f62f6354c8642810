import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  AdvertisementError,
  buildAdvertisement,
  computeAdvertisementDigest,
  nextSequence,
  parseAdvertisement,
  parseManagerAddress,
  verifyAdvertisementDigest,
} from '../../src/advertise/datagram';

// The datagrams real httpd + mod_advertise sent (../shared/reference), as bytes.
const CAPTURE = path.resolve(__dirname, '../../../../shared/reference/httpd-advertise-packets.txt');
const CAPTURE_KEY = 's3cretkey';

function capturedDatagrams(): Buffer[] {
  const out: Buffer[] = [];
  for (const block of fs.readFileSync(CAPTURE, 'latin1').split(/^--- datagram .*$/m).slice(1)) {
    const lines = block.split('\n').filter((l) => l.endsWith('\\r\\n'));
    out.push(Buffer.from(lines.map((l) => l.slice(0, -4) + '\r\n').join(''), 'latin1'));
  }
  return out;
}

const FIELDS = {
  date: new Date('2026-07-22T09:04:25Z'),
  sequence: 1n,
  server: '2f3c8a1e-6b1d-4c5e-9f0a-1b2c3d4e5f60',
  manager: { address: '10.0.0.1:6666', url: '/2f3c8a1e-6b1d-4c5e-9f0a-1b2c3d4e5f60', protocol: 'http', host: 'proxy1' },
};

test('the digest examples of MCMP.md §4.2', () => {
  const date = 'Wed, 22 Jul 2026 09:04:25 GMT';
  const server = '2f3c8a1e-6b1d-4c5e-9f0a-1b2c3d4e5f60';
  assert.equal(computeAdvertisementDigest('secret', date, '1', server), '12f64d78601c8bd7437b1cb9389bd25a');
  assert.equal(computeAdvertisementDigest(undefined, date, '1', server), 'f12ee9ff49612d828fbad23b31773856');
});

test('every datagram real httpd sent parses and verifies with its key, and not with another', () => {
  const all = capturedDatagrams();
  assert.equal(all.length, 8);
  for (const d of all) {
    const ad = parseAdvertisement(d);
    assert.ok(verifyAdvertisementDigest(ad, CAPTURE_KEY), d.toString('latin1'));
    assert.ok(!verifyAdvertisementDigest(ad, 'other'));
    assert.ok(!verifyAdvertisementDigest(ad, undefined));
  }
  const running = parseAdvertisement(all[0]!);
  assert.equal(running.status, 200);
  assert.equal(running.reason, 'OK');
  assert.equal(running.managerAddress, '127.0.0.1:17001');
  assert.equal(running.managerUrl, `/${running.server}`);
  assert.equal(running.managerProtocol, 'http');
  assert.equal(running.managerHost, '127.0.0.1');
  const gone = parseAdvertisement(all[7]!);
  assert.equal(gone.status, 410);
  assert.equal(gone.reason, 'Gone');
  assert.equal(gone.managerAddress, undefined);
});

test('built datagrams are byte for byte what httpd sent for the same fields', () => {
  for (const d of capturedDatagrams()) {
    const ad = parseAdvertisement(d);
    const status = ad.status as 200 | 403 | 410;
    const built = buildAdvertisement({
      status,
      date: new Date(ad.date!),
      sequence: BigInt(ad.sequence!),
      server: ad.server,
      securityKey: CAPTURE_KEY,
      manager:
        status === 200
          ? { address: ad.managerAddress!, url: ad.managerUrl!, protocol: ad.managerProtocol!, host: ad.managerHost! }
          : undefined,
    });
    assert.equal(built.toString('latin1'), d.toString('latin1'));
  }
});

test('build: field order puts X-Manager-* after Server, no key means the zero salt', () => {
  const text = buildAdvertisement(FIELDS).toString('latin1');
  assert.equal(
    text,
    'HTTP/1.0 200 OK\r\nDate: Wed, 22 Jul 2026 09:04:25 GMT\r\nSequence: 1\r\nDigest: f12ee9ff49612d828fbad23b31773856\r\n' +
      'Server: 2f3c8a1e-6b1d-4c5e-9f0a-1b2c3d4e5f60\r\nX-Manager-Address: 10.0.0.1:6666\r\n' +
      'X-Manager-Url: /2f3c8a1e-6b1d-4c5e-9f0a-1b2c3d4e5f60\r\nX-Manager-Protocol: http\r\nX-Manager-Host: proxy1\r\n\r\n',
  );
  assert.match(buildAdvertisement({ ...FIELDS, securityKey: 'secret' }).toString(), /Digest: 12f64d78601c8bd7437b1cb9389bd25a\r\n/);
});

test('build refuses what Java could not read: CR/LF, non-ASCII, over 512 bytes, manager fields on a shutdown packet', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof AdvertisementError);
      return e.code;
    }
    assert.fail('no error');
  };
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, manager: { ...FIELDS.manager, url: '/a\r\nX: y' } })), 'ERR_MCMP_EDGE_ADVERTISE_FIELD');
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, manager: { ...FIELDS.manager, host: 'pröxy' } })), 'ERR_MCMP_EDGE_ADVERTISE_FIELD');
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, manager: { ...FIELDS.manager, url: '/' + 'x'.repeat(300) } })), 'ERR_MCMP_EDGE_ADVERTISE_TOO_LARGE');
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, status: 410 })), 'ERR_MCMP_EDGE_ADVERTISE_FIELD');
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, manager: undefined })), 'ERR_MCMP_EDGE_ADVERTISE_FIELD');
  assert.equal(code(() => buildAdvertisement({ ...FIELDS, sequence: 0n })), 'ERR_MCMP_EDGE_ADVERTISE_FIELD');
  assert.equal(buildAdvertisement({ ...FIELDS, status: 403, manager: undefined }).toString().split('\r\n')[0], 'HTTP/1.0 403 Forbidden');
});

test('sequence: +1, and back to 1 past the signed 64-bit range', () => {
  assert.equal(nextSequence(1n), 2n);
  assert.equal(nextSequence((1n << 63n) - 2n), (1n << 63n) - 1n);
  assert.equal(nextSequence((1n << 63n) - 1n), 1n);
});

test('parse drops what Java drops, each with its code', () => {
  const code = (text: string): string => {
    try {
      parseAdvertisement(Buffer.from(text, 'latin1'));
    } catch (e) {
      assert.ok(e instanceof AdvertisementError);
      return e.code;
    }
    assert.fail('parsed: ' + text);
  };
  assert.equal(code('NOTIFY * HTTP/1.1\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_NOT_HTTP');
  assert.equal(code('HTTP/1.0 200\r\nServer: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE');
  assert.equal(code('HTTP/1.0 abc OK\r\nServer: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE');
  assert.equal(code('HTTP/1.0 99 Low\r\nServer: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE');
  assert.equal(code('HTTP/1.0  200 OK\r\nServer: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_STATUS_LINE');
  assert.equal(code('HTTP/1.0 200 OK\r\nDate: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_NO_SERVER');
  // A header without ": " ends parsing, so a Server after it is never seen.
  assert.equal(code('HTTP/1.0 200 OK\r\nBroken:x\r\nServer: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_NO_SERVER');
  // Names are case-sensitive.
  assert.equal(code('HTTP/1.0 200 OK\r\nserver: x\r\n\r\n'), 'ERR_MCMP_EDGE_ADVERTISE_NO_SERVER');
});

test('parse: headers before Server are lost, after it they are parameters; a blank line ends the headers', () => {
  const ad = parseAdvertisement(
    Buffer.from('HTTP/1.1 200 Fine thanks\r\nX-Manager-Address: early:1\r\nServer: s\r\nX-Manager-Address: h:2\r\nX-Other: v\r\nX-Other: w\r\n\r\nX-Late: z\r\n', 'latin1'),
  );
  assert.equal(ad.reason, 'Fine thanks');
  assert.equal(ad.managerAddress, 'h:2');
  assert.deepEqual([...ad.parameters], [['X-Manager-Address', 'h:2'], ['X-Other', 'w']]);
  assert.equal(ad.date, undefined);
  assert.equal(verifyAdvertisementDigest(ad, undefined), false, 'no Digest/Date/Sequence never verifies');
});

test('parse reads only the 512 bytes Java reads', () => {
  const long = buildAdvertisement(FIELDS).toString('latin1').replace('\r\n\r\n', `\r\nX-Pad: ${'p'.repeat(600)}\r\nX-After: a\r\n\r\n`);
  const ad = parseAdvertisement(Buffer.from(long, 'latin1'));
  assert.equal(ad.parameters.get('X-After'), undefined);
  assert.equal(ad.parameters.get('X-Pad')!.length, 512 - long.indexOf('X-Pad: ') - 'X-Pad: '.length);
  assert.ok(verifyAdvertisementDigest(ad, undefined));
  assert.equal(parseAdvertisement(Buffer.from(long, 'latin1'), { bufferSize: 4096 }).parameters.get('X-After'), 'a');
});

test('verify follows Java: hex case-insensitive, a 33rd character ignored, a changed field fails', () => {
  const ad = parseAdvertisement(buildAdvertisement({ ...FIELDS, securityKey: 'k' }));
  assert.ok(verifyAdvertisementDigest(ad, 'k'));
  assert.ok(verifyAdvertisementDigest({ ...ad, digest: ad.digest!.toUpperCase() }, 'k'));
  assert.ok(verifyAdvertisementDigest({ ...ad, digest: ad.digest! + 'z' }, 'k'));
  assert.ok(!verifyAdvertisementDigest({ ...ad, digest: ad.digest!.slice(0, 31) }, 'k'));
  assert.ok(!verifyAdvertisementDigest({ ...ad, sequence: '2' }, 'k'));
  assert.ok(!verifyAdvertisementDigest({ ...ad, server: ad.server + 'x' }, 'k'));
  assert.ok(!verifyAdvertisementDigest({ ...ad, date: ad.date + ' ' }, 'k'));
  // Java hashes chars >= 127 as '?': a key 'é' and a key '?' are the same key to it.
  const latin = parseAdvertisement(buildAdvertisement({ ...FIELDS, securityKey: '?' }));
  assert.ok(verifyAdvertisementDigest(latin, 'é'));
  // An empty key is a key (MD5 of nothing), not the absence of one.
  assert.ok(!verifyAdvertisementDigest(parseAdvertisement(buildAdvertisement({ ...FIELDS, securityKey: '' })), undefined));
});

test('X-Manager-Address read as the Java worker reads it', () => {
  assert.deepEqual(parseManagerAddress('127.0.0.1:17001'), { host: '127.0.0.1', port: 17001 });
  assert.deepEqual(parseManagerAddress('proxy.example:6666'), { host: 'proxy.example', port: 6666 });
  assert.deepEqual(parseManagerAddress('[::1]:6666'), { host: '::1', port: 6666 });
  assert.deepEqual(parseManagerAddress('::1'), { host: '::1', port: 0 });
  assert.deepEqual(parseManagerAddress('proxy'), { host: 'proxy', port: 0 });
  assert.throws(() => parseManagerAddress('proxy:abc'), { code: 'ERR_MCMP_EDGE_ADVERTISE_MANAGER_ADDRESS' });
  assert.throws(() => parseManagerAddress('proxy:70000'), { code: 'ERR_MCMP_EDGE_ADVERTISE_MANAGER_ADDRESS' });
});

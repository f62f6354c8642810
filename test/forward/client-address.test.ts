// The client address text made from uWS's binary address (client-address.ts)
// must be exactly what uWS's own getRemoteAddressAsText gives (what nodes were
// always sent as X-Forwarded-For): checked against real uWS listeners and
// loopback clients for IPv4, IPv6 and an IPv4 client of a dual-stack listener,
// then against uWS's format over many addresses, through the caches.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import uws from 'uWebSockets.js';
import { addressText } from '../../src/forward/request/client-address';

interface Seen {
  ours: string;
  uws: string;
}

/** One request from `localAddress` to a uWS app listening on `listenHost`: both texts of the client's address. */
function addressesSeen(listenHost: string, connectHost: string, localAddress: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const app = uws.App();
    let seen: Seen | undefined;
    app.any('/*', (res) => {
      seen = {
        ours: addressText(res.getRemoteAddress()),
        uws: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'),
      };
      res.end('ok');
    });
    app.listen(listenHost, 0, (listenSocket) => {
      if (listenSocket === false) {
        reject(new Error(`cannot listen on ${listenHost}`));
        return;
      }
      const port = uws.us_socket_local_port(listenSocket);
      const req = http.get({ host: connectHost, port, path: '/', localAddress, agent: false, timeout: 10_000 }, (r) => {
        r.resume();
        r.on('end', () => {
          uws.us_listen_socket_close(listenSocket);
          if (seen === undefined) reject(new Error('handler not reached'));
          else resolve(seen);
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', (err) => {
        uws.us_listen_socket_close(listenSocket);
        reject(err);
      });
    });
  });
}

describe('client address text: the same as uWS getRemoteAddressAsText', () => {
  it('IPv4 on an IPv4 listener, from two loopback addresses', async () => {
    for (const client of ['127.0.0.1', '127.0.0.5', '127.0.0.1']) {
      const seen = await addressesSeen('127.0.0.1', '127.0.0.1', client);
      assert.equal(seen.uws, client);
      assert.equal(seen.ours, seen.uws);
    }
  });

  it('IPv6 (::1): eight zero-padded groups, no :: compression', async () => {
    const seen = await addressesSeen('::1', '::1', '::1');
    assert.equal(seen.uws, '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(seen.ours, seen.uws);
  });

  it('an IPv4 client of a dual-stack listener keeps the mapped form', async () => {
    const seen = await addressesSeen('::', '127.0.0.1', '127.0.0.1');
    assert.equal(seen.uws, '0000:0000:0000:0000:0000:ffff:7f00:0001');
    assert.equal(seen.ours, seen.uws);
    // And the cache hands back the right text when v6 and mapped alternate.
    const v6 = await addressesSeen('::', '::1', '::1');
    assert.equal(v6.ours, '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(v6.ours, v6.uws);
  });
});

/** uWS's format (AsyncSocket::addressAsText): "%u.%u.%u.%u", or eight "%04x" groups. */
function uwsFormat(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16).padStart(4, '0'));
  return groups.join(':');
}

describe('client address text over many addresses', () => {
  it('IPv4: every byte value, high bit set, and past the cache bound', () => {
    let seed = 1;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array([i & 0xff, next(), next(), i < 256 ? 255 : next()]);
      const copy = b.slice().buffer;
      assert.equal(addressText(copy), uwsFormat(b));
      // A repeat comes from the cache and must still be the same text.
      assert.equal(addressText(b.slice().buffer), uwsFormat(b));
    }
    assert.equal(addressText(new Uint8Array([255, 255, 255, 255]).buffer), '255.255.255.255');
    assert.equal(addressText(new Uint8Array([0, 0, 0, 0]).buffer), '0.0.0.0');
  });

  it('IPv6: random addresses, alternating so the last-address cache is both hit and missed', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const fixed = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 1]);
    assert.equal(addressText(fixed.slice().buffer), '2001:0db8:0000:0000:0000:0000:abcd:0001');
    for (let i = 0; i < 500; i++) {
      const b = new Uint8Array(16);
      for (let j = 0; j < 16; j++) b[j] = next();
      assert.equal(addressText(b.slice().buffer), uwsFormat(b));
      assert.equal(addressText(b.slice().buffer), uwsFormat(b));
      // Differs from b only in its last byte.
      const near = b.slice();
      near[15] = (near[15]! + 1) & 0xff;
      assert.equal(addressText(near.slice().buffer), uwsFormat(near));
    }
  });

  it('any other length (uWS gives an empty address when it cannot say) is empty text', () => {
    assert.equal(addressText(new ArrayBuffer(0)), '');
    assert.equal(addressText(new ArrayBuffer(5)), '');
  });
});

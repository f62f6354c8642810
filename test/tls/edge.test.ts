// HTTPS at the edge through the real command: --listen-tls beside --listen,
// curl and Node's https client, SNI, TLS versions and ciphers, client
// certificates, a WebSocket over wss, large bodies both ways, X-Forwarded-*
// for the node, and certificate errors at start (exit 2, one line).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import https from 'node:https';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent, WebSocket } from 'undici';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { loadUws } from '../../native-bindings/uws';
import { CLI, startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';
import { httpsRequest, registerNode, startEcho, type EchoBackend } from './harness';

const CURL_MISSING = spawnSync('curl', ['--version']).status !== 0 ? 'curl not installed (apt-get install curl)' : false;

function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '60', ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

describe('HTTPS at the edge', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let backend: EchoBackend;
  let tlsPort: number;
  let secondTlsPort: number;

  before(async () => {
    pki = makePki();
    backend = await startEcho();
    proxy = await startProxy([
      '--threads', '2',
      '--listen-tls', '127.0.0.1:0',
      '--listen-tls', '127.0.0.1:0',
      '--tls-cert', pki.server.cert,
      '--tls-key', pki.server.key,
      '--tls-sni', `shop.test=${pki.shop.cert},${pki.shop.key}`,
      '--tls-sni', `*.wild.test=${pki.wild.cert},${pki.wild.key}`,
    ]);
    [tlsPort, secondTlsPort] = proxy.tlsPorts as [number, number];
    await registerNode(proxy.managerPort, 'node1', backend.port);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await backend?.close();
    pki?.remove();
  });

  it('serves GET and POST to curl over TLS 1.2+, the node learns https and the port the client used', { skip: CURL_MISSING }, async () => {
    const get = await curl(['--cacert', pki.ca, '-w', '\n%{http_code} %{ssl_verify_result}', `https://localhost:${tlsPort}/app/hello?x=1`]);
    assert.equal(get.code, 0, get.stderr);
    const [json, status] = get.stdout.split('\n') as [string, string];
    assert.equal(status, '200 0');
    const seen = JSON.parse(json) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/app/hello?x=1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-port'], String(tlsPort));
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers.host, `localhost:${tlsPort}`);

    const post = await curl(['--cacert', pki.ca, '--tlsv1.2', '-H', 'X-Forwarded-Proto: http', '-H', 'X-Forwarded-Port: 1', '--data-binary', 'hello=world', `https://localhost:${secondTlsPort}/app/form`]);
    assert.equal(post.code, 0, post.stderr);
    const p = JSON.parse(post.stdout) as { method: string; bodyBytes: number; headers: Record<string, string> };
    assert.equal(p.method, 'POST');
    assert.equal(p.bodyBytes, 11);
    // What the client claims is replaced: only the proxy says how the client came.
    assert.equal(p.headers['x-forwarded-proto'], 'https');
    assert.equal(p.headers['x-forwarded-port'], String(secondTlsPort));
  });

  it('keeps plain HTTP on --listen beside it (X-Forwarded-Proto http)', async () => {
    const r = await curl([`http://127.0.0.1:${proxy.listenPort}/app/plain`]);
    const seen = JSON.parse(r.stdout) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-port'], String(proxy.listenPort));
  });

  it('Node https client: keep-alive over one connection, TLS 1.3 by default, the default certificate without SNI', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: pki.read(pki.ca) });
    try {
      const a = await httpsRequest({ port: tlsPort, path: '/app/a', agent, servername: 'localhost' });
      const b = await httpsRequest({ port: tlsPort, path: '/app/b', agent, servername: 'localhost' });
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.equal(a.localPort, b.localPort, 'the second request reused the connection');
      assert.equal(a.protocol, 'TLSv1.3');
      assert.equal(a.peerCn, 'localhost');
    } finally {
      agent.destroy();
    }
    // No SNI at all (an IP address): the default certificate, verified by its IP SAN.
    const ip = await httpsRequest({ port: tlsPort, path: '/app/ip', ca: pki.read(pki.ca), agent: false });
    assert.equal(ip.status, 200);
    assert.equal(ip.peerCn, 'localhost');
  });

  it('SNI picks the certificate (exact name and *.domain), and the request is served under that name', async () => {
    const shop = await httpsRequest({ port: tlsPort, path: '/app/s', servername: 'shop.test', headers: { host: 'shop.test' }, ca: pki.read(pki.ca), agent: false });
    assert.equal(shop.peerCn, 'shop.test');
    assert.equal(shop.status, 200);
    assert.equal((JSON.parse(shop.body.toString()) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
    const wild = await httpsRequest({ port: secondTlsPort, path: '/app/w', servername: 'a.wild.test', headers: { host: 'a.wild.test' }, ca: pki.read(pki.ca), agent: false });
    assert.equal(wild.peerCn, '*.wild.test');
    assert.equal(wild.status, 200);
    const unknown = await httpsRequest({ port: tlsPort, path: '/app/u', servername: 'unknown.test', rejectUnauthorized: false, agent: false });
    assert.equal(unknown.peerCn, 'localhost', 'an unknown name gets the default certificate');
    assert.equal(unknown.status, 200);
  });

  it('refuses TLS 1.1 and a TLS 1.2 suite without forward secrecy; no ALPN is negotiated (HTTP/1.1)', async () => {
    const attempt = (opts: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, ...opts }, () => {
          const alpn = s.alpnProtocol;
          const protocol = s.getProtocol();
          s.destroy();
          resolve(`ok ${String(protocol)} alpn=${String(alpn)}`);
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code ?? err.message}`));
      });
    assert.match(await attempt({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /^refused /);
    assert.match(await attempt({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }), /^refused /);
    assert.equal(await attempt({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }), 'ok TLSv1.2 alpn=false');
    assert.equal(await attempt({ ALPNProtocols: ['http/1.1'] }), 'ok TLSv1.3 alpn=false');
  });

  it('streams 256 MiB up (chunked) and 256 MiB down over TLS', async () => {
    const size = 256 * 1024 * 1024;
    const piece = Buffer.alloc(1024 * 1024, 0x62);
    let sent = 0;
    const upload = new Readable({
      read() {
        if (sent >= size) this.push(null);
        else {
          sent += piece.length;
          this.push(piece);
        }
      },
    });
    const up = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: tlsPort, method: 'PUT', path: '/app/upload', ca: pki.read(pki.ca), servername: 'localhost', agent: false, headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      upload.pipe(req);
    });
    assert.equal(up.status, 200);
    assert.equal((JSON.parse(up.body) as { bodyBytes: number }).bodyBytes, size);

    const down = await new Promise<{ status: number; bytes: number; wrong: number }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: tlsPort, path: `/app/big/${size}`, ca: pki.read(pki.ca), servername: 'localhost', agent: false }, (res) => {
          let bytes = 0;
          let wrong = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (c[0] !== 0x61 || c[c.length - 1] !== 0x61) wrong++;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, wrong }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    assert.deepEqual(down, { status: 200, bytes: size, wrong: 0 });
  });

  it('a certificate the client does not trust is refused by the client (curl without the CA)', { skip: CURL_MISSING }, async () => {
    const r = await curl([`https://localhost:${tlsPort}/app/x`]);
    assert.equal(r.code, 60, r.stderr);
  });
});

describe('WebSocket over wss at the edge', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let app: TemplatedApp;
  let listen: us_listen_socket | null = null;
  const upgrades: Array<Record<string, string>> = [];

  before(async () => {
    pki = makePki();
    const uws = loadUws();
    app = uws.App();
    app.ws('/*', {
      upgrade: (res, req, context) => {
        upgrades.push({ proto: req.getHeader('x-forwarded-proto'), port: req.getHeader('x-forwarded-port') });
        res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      message: (ws, message, isBinary) => {
        ws.send(message, isBinary);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => {
        if (s === false) return reject(new Error('ws backend cannot listen'));
        listen = s;
        resolve(uws.us_socket_local_port(s as unknown as us_socket));
      }),
    );
    // EnableOptions Off: uWS back ends drop `OPTIONS *`, so STATUS would find this one in error.
    proxy = await startProxy(['--threads', '1', '--set', 'EnableWsTunnel=On', '--set', 'EnableOptions=Off', '--listen-tls', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key], 60_000);
    await registerNode(proxy.managerPort, 'ws1', port);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    if (listen !== null) loadUws().us_listen_socket_close(listen);
    (app as TemplatedApp & { close(): void } | undefined)?.close();
    pki?.remove();
  });

  it('echoes messages through a wss:// client connection', async () => {
    const dispatcher = new Agent({ connect: { ca: pki.read(pki.ca) } });
    const ws = new WebSocket(`wss://localhost:${proxy.tlsPorts[0]}/app/chat`, { dispatcher });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = (e) => reject(new Error(`wss failed: ${String((e as { message?: string }).message)}`));
      });
      const echoed = await new Promise<string>((resolve) => {
        ws.onmessage = (m) => resolve(String(m.data));
        ws.send('over tls');
      });
      assert.equal(echoed, 'over tls');
      assert.deepEqual(upgrades.at(-1), { proto: 'https', port: String(proxy.tlsPorts[0]) });
    } finally {
      ws.close();
      await dispatcher.close();
    }
  });
});

describe('client certificates at the edge (--tls-client-ca)', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let backend: EchoBackend;

  before(async () => {
    pki = makePki();
    backend = await startEcho();
    proxy = await startProxy(['--threads', '1', '--listen-tls', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-client-ca', pki.ca, '--tls-client-verify', 'request'], 60_000);
    await registerNode(proxy.managerPort, 'node1', backend.port);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await backend?.close();
    pki?.remove();
  });

  it('accepts a client certificate from the CA, refuses one from another CA, serves a client without one (request mode)', async () => {
    const base = { port: proxy.tlsPorts[0], path: '/app/c', ca: pki.read(pki.ca), servername: 'localhost', agent: false } as const;
    const good = await httpsRequest({ ...base, cert: pki.read(pki.client.cert), key: pki.read(pki.client.key) });
    assert.equal(good.status, 200);
    await assert.rejects(httpsRequest({ ...base, cert: pki.read(pki.stranger.cert), key: pki.read(pki.stranger.key) }), (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /unknown ca|ECONNRESET|alert/i);
      return true;
    });
    // "request" is what uWebSockets.js offers: a client that sends no certificate is served.
    const none = await httpsRequest(base);
    assert.equal(none.status, 200);
  });
});

describe('certificate files checked at start', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  before(() => {
    pki = makePki();
  });
  after(() => pki?.remove());

  const run = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0', '--listen-tls', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stderr: r.stderr };
  };

  it('a key that does not match, an unreadable file, an encrypted key without passphrase: one line, exit 2', () => {
    const mismatch = run(['--tls-cert', pki.server.cert, '--tls-key', pki.shop.key]);
    assert.equal(mismatch.status, 2);
    assert.equal(mismatch.stderr, `mcmp-edge: --tls-key: the key in ${pki.shop.key} does not match the certificate in ${pki.server.cert}\n`);
    const missing = run(['--tls-cert', `${pki.dir}/nope.pem`, '--tls-key', pki.server.key]);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, `mcmp-edge: --tls-cert: cannot read ${pki.dir}/nope.pem: ENOENT\n`);
    const notCert = run(['--tls-cert', pki.server.key, '--tls-key', pki.server.key]);
    assert.equal(notCert.status, 2);
    assert.match(notCert.stderr, /^mcmp-edge: --tls-cert: .* holds no PEM certificate .*\n$/);
    const encrypted = run(['--tls-cert', pki.server.cert, '--tls-key', pki.encryptedKey]);
    assert.equal(encrypted.status, 2);
    assert.equal(encrypted.stderr, `mcmp-edge: --tls-key: ${pki.encryptedKey} is an encrypted key; give its passphrase with --tls-passphrase-file FILE\n`);
    const sni = run(['--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-sni', `shop.test=${pki.shop.cert},${pki.server.key}`]);
    assert.equal(sni.status, 2);
    assert.match(sni.stderr, /^mcmp-edge: --tls-sni shop\.test: the key in .* does not match .*\n$/);
    const badSni = run(['--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-sni', 'bad name=a,b']);
    assert.equal(badSni.status, 2);
    assert.match(badSni.stderr, /^mcmp-edge: --tls-sni: bad value "bad name=a,b"; expected NAME=CERT,KEY/);
    const require = run(['--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-client-ca', pki.ca, '--tls-client-verify', 'require']);
    assert.equal(require.status, 2);
    assert.match(require.stderr, /^mcmp-edge: --tls-client-verify: bad value "require"; expected request/);
    const noKey = spawnSync(process.execPath, [CLI, '--listen-tls', '127.0.0.1:0', '--tls-cert', pki.server.cert], { encoding: 'utf8' });
    assert.equal(noKey.status, 2);
    assert.equal(noKey.stderr, 'mcmp-edge: --listen-tls: needs --tls-key FILE\n');
    for (const r of [mismatch, missing, notCert, encrypted, sni, badSni, require]) assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  });

  it('an encrypted key with --tls-passphrase-file serves', async () => {
    const backend = await startEcho();
    const proxy = await startProxy(['--threads', '1', '--listen-tls', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.encryptedKey, '--tls-passphrase-file', pki.passphraseFile], 60_000);
    try {
      await registerNode(proxy.managerPort, 'node1', backend.port);
      const r = await httpsRequest({ port: proxy.tlsPorts[0], path: '/app/enc', ca: pki.read(pki.ca), servername: 'localhost', agent: false });
      assert.equal(r.status, 200);
      assert.equal(r.peerCn, 'localhost');
    } finally {
      await proxy.stop('SIGKILL');
      await backend.close();
    }
  });
});

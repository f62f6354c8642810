// HTTPS and WSS to the nodes through the real command: a Node https node and
// nginx with ssl, verified against --upstream-ca, refused (node in error, one
// clear log line) when the CA is wrong, accepted with SSLProxyVerify none, SNI
// = the node's Host, TLS sessions resumed across the pool's connections, the
// STATUS probe over TLS, and a WebSocket tunnel to a wss node.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'undici';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { loadUws } from '../../native-bindings/uws';
import { sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';
import { mcmp, registerNode, startEcho, waitForLog, type EchoBackend } from './harness';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

interface TlsNode extends EchoBackend {
  /** Handshakes: full ones and resumed ones; server names the proxy sent. */
  readonly stats: { full: number; resumed: number; servernames: string[] };
}

async function startTlsNode(pair: { cert: string; key: string }): Promise<TlsNode> {
  const server = https.createServer({ cert: fs.readFileSync(pair.cert), key: fs.readFileSync(pair.key), keepAliveTimeout: 30_000 });
  const stats = { full: 0, resumed: 0, servernames: [] as string[] };
  server.on('secureConnection', (s: TLSSocket) => {
    if (s.isSessionReused()) stats.resumed++;
    else stats.full++;
    stats.servernames.push(String((s as TLSSocket & { servername?: string | false }).servername));
  });
  const echo = await startEcho(server);
  return { ...echo, stats };
}

async function get(port: number, urlPath: string, host = 'localhost'): Promise<{ status: number; body: string }> {
  const { responses } = await sendRaw(port, `GET ${urlPath} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, { expect: 1 });
  return { status: responses[0]?.status ?? 0, body: responses[0]?.body.toString() ?? '' };
}

describe('https nodes', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let trusted: TlsNode;
  let untrusted: TlsNode;

  before(async () => {
    pki = makePki();
    trusted = await startTlsNode(pki.server);
    untrusted = await startTlsNode(pki.untrustedServer);
    proxy = await startProxy(['--threads', '1', '--upstream-ca', pki.ca, '--log-level', 'debug'], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await trusted?.close();
    await untrusted?.close();
    pki?.remove();
  });

  it('a node whose certificate chains to --upstream-ca is verified and served; SNI is its Host; sessions are resumed', async () => {
    const status = await registerNode(proxy.managerPort, 'good', trusted.port, { type: 'https', host: 'localhost', context: '/good' });
    assert.match(status, /State=OK/, 'the STATUS probe (OPTIONS over TLS) passed');
    const first = await get(proxy.listenPort, '/good/one');
    assert.equal(first.status, 200);
    assert.equal((JSON.parse(first.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'http');
    // Six at once: one on the kept-alive connection, five on new connections that resume the pool's session.
    const slow = await Promise.all(Array.from({ length: 6 }, (_, i) => get(proxy.listenPort, `/good/n${i}`)));
    for (const r of slow) assert.equal(r.status, 200);
    assert.ok(trusted.stats.resumed >= 1, `resumed handshakes: ${JSON.stringify(trusted.stats)}`);
    assert.ok(trusted.stats.servernames.every((n) => n === 'localhost'), JSON.stringify(trusted.stats.servernames));
  });

  it('the STATUS probe (OPTIONS over TLS) refuses a certificate that does not verify: node in error, one clear log line', async () => {
    const status = await registerNode(proxy.managerPort, 'bad', untrusted.port, { type: 'https', host: 'localhost', context: '/bad' });
    assert.match(status, /State=NOTOK/, 'the STATUS probe refused the certificate');
    const probeLine = await waitForLog(proxy.logs, (l) => l.msg === 'node probe: TLS handshake failed (certificate not verified?); node in error' && l.node === 'bad');
    assert.match(String(probeLine.reason), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    assert.equal(probeLine.level, 40);
    const r = await get(proxy.listenPort, '/bad/x');
    assert.equal(r.status, 503);
    assert.equal(untrusted.seen.length, 0, 'no request reached the node');
  });

  it('an IP address as Host: no SNI, and the certificate is checked against its IP SAN', async () => {
    const before = trusted.stats.servernames.length;
    await registerNode(proxy.managerPort, 'byip', trusted.port, { type: 'https', host: '127.0.0.1', context: '/byip' });
    const r = await get(proxy.listenPort, '/byip/x');
    assert.equal(r.status, 200);
    assert.ok(trusted.stats.servernames.slice(before).includes('false'), JSON.stringify(trusted.stats.servernames));
  });
});

describe('the forwarder refuses a node certificate that does not verify', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let untrusted: TlsNode;
  let good: EchoBackend;

  before(async () => {
    pki = makePki();
    untrusted = await startTlsNode(pki.untrustedServer);
    good = await startEcho();
    // No probe: the node is routable until the forwarder itself meets its certificate.
    proxy = await startProxy(['--threads', '1', '--set', 'EnableOptions=Off', '--upstream-ca', pki.ca], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await untrusted?.close();
    await good?.close();
    pki?.remove();
  });

  it('puts the node in error, logs one clear line, and no request reaches it', async () => {
    await registerNode(proxy.managerPort, 'bad', untrusted.port, { type: 'https', host: 'localhost' });
    const r = await get(proxy.listenPort, '/app/x');
    assert.equal(r.status, 503);
    const line = await waitForLog(proxy.logs, (l) => l.msg === 'node TLS handshake failed (certificate not verified?); node in error' && l.node === 'bad');
    assert.equal(line.level, 40);
    assert.equal(line.reason, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(untrusted.seen.length, 0);
    // In error: with a healthy node beside it, requests go there and the bad one is not tried again.
    await registerNode(proxy.managerPort, 'good', good.port);
    for (let i = 0; i < 5; i++) assert.equal((await get(proxy.listenPort, `/app/y${i}`)).status, 200);
    assert.equal(good.seen.length, 5);
    assert.equal(proxy.logs.filter((l) => l.msg === line.msg).length, 1, 'one line, not one per request');
    assert.equal(untrusted.seen.length, 0);
  });
});

describe('SSLProxyVerify none', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let untrusted: TlsNode;

  before(async () => {
    pki = makePki();
    untrusted = await startTlsNode(pki.untrustedServer);
    proxy = await startProxy(['--threads', '1', '--set', 'SSLProxyVerify=none'], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await untrusted?.close();
    pki?.remove();
  });

  it('forwards to a node whose certificate does not verify (explicitly asked for)', async () => {
    const status = await registerNode(proxy.managerPort, 'n1', untrusted.port, { type: 'https', host: 'localhost' });
    assert.match(status, /State=OK/);
    assert.equal((await get(proxy.listenPort, '/app/x')).status, 200);
  });

  it('a bad value is one line naming the directive, exit 2', () => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../src/cli.js'), '--set', 'SSLProxyVerify=optional'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^mcmp-edge: --set: .*SSLProxyVerify.*none, require\n$/);
  });
});

describe('nginx with ssl as a node', { skip: OPENSSL_MISSING || (NGINX === undefined ? 'nginx not installed (apt-get install nginx)' : false) }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let nginx: ChildProcess;
  let port: number;
  let logFile: string;

  before(async () => {
    pki = makePki();
    port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const dir = path.join(pki.dir, 'nginx');
    fs.mkdirSync(dir);
    logFile = path.join(dir, 'access.log');
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(
      conf,
      `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  log_format tls '$request_uri $ssl_session_reused $ssl_server_name $ssl_protocol';
  access_log ${logFile} tls;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ssl_session_cache shared:SSL:1m;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.server.cert};
    ssl_certificate_key ${pki.server.key};
    location / { return 200 "nginx $request_uri\\n"; }
  }
}
`,
    );
    nginx = spawn(NGINX as string, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    proxy = await startProxy(['--threads', '1', '--upstream-ca', pki.ca], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    nginx?.kill('SIGTERM');
    pki?.remove();
  });

  it('is verified, gets SNI, and sees resumed sessions in its access log', async () => {
    const status = await registerNode(proxy.managerPort, 'nginx', port, { type: 'https', host: 'localhost' });
    assert.match(status, /State=OK/);
    const one = await get(proxy.listenPort, '/app/one');
    assert.equal(one.status, 200);
    assert.equal(one.body, 'nginx /app/one\n');
    // Concurrent requests open more connections; those resume the pool's session.
    const many = await Promise.all(Array.from({ length: 6 }, (_, i) => get(proxy.listenPort, `/app/m${i}`)));
    for (const r of many) assert.equal(r.status, 200);
    const deadline = Date.now() + 10_000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n') : [];
      if (lines.filter((l) => l.startsWith('/app/')).length >= 7) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const app = lines.filter((l) => l.startsWith('/app/'));
    assert.equal(app.length, 7, lines.join('\n'));
    for (const l of app) assert.match(l, / localhost TLSv1\.[23]$/, l);
    assert.ok(app.some((l) => / r localhost /.test(l)), `a resumed session in nginx's log:\n${lines.join('\n')}`);
  });
});

describe('wss nodes', { skip: OPENSSL_MISSING }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let app: TemplatedApp;
  let listen: us_listen_socket | null = null;
  let port: number;

  before(async () => {
    pki = makePki();
    const uws = loadUws();
    app = uws.SSLApp({ cert_file_name: pki.server.cert, key_file_name: pki.server.key });
    app.ws('/*', {
      message: (ws, message, isBinary) => {
        ws.send(message, isBinary);
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => {
        if (s === false) return reject(new Error('wss backend cannot listen'));
        listen = s;
        resolve(uws.us_socket_local_port(s as unknown as us_socket));
      }),
    );
    proxy = await startProxy(['--threads', '1', '--set', 'EnableWsTunnel=On', '--set', 'EnableOptions=Off', '--upstream-ca', pki.ca], 60_000);
  });

  after(async () => {
    await proxy?.stop('SIGKILL');
    if (listen !== null) loadUws().us_listen_socket_close(listen);
    (app as (TemplatedApp & { close(): void }) | undefined)?.close();
    pki?.remove();
  });

  it('tunnels a WebSocket to a verified wss node', async () => {
    const status = await registerNode(proxy.managerPort, 'wss1', port, { type: 'https', host: 'localhost' });
    assert.match(status, /State=OK/);
    const info = await mcmp(proxy.managerPort, 'INFO');
    assert.match(info.body, /Name: wss1,.*Type: wss/);
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.listenPort}/app/chat`);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error('the tunnel did not open'));
      });
      const echoed = await new Promise<string>((resolve) => {
        ws.onmessage = (m) => resolve(String(m.data));
        ws.send('to a wss node');
      });
      assert.equal(echoed, 'to a wss node');
    } finally {
      ws.close();
    }
  });
});

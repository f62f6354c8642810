// Pieces shared by the TLS tests: an echo back end, MCMP registration through
// the real manager port, an https client that reports what the handshake
// showed. No tests here.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

export interface EchoBackend {
  readonly server: http.Server | https.Server;
  readonly port: number;
  /** Request heads seen, in order. */
  readonly seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/**
 * Answers `{method,url,headers,bodyBytes}` as JSON after reading the body;
 * `/big/N` answers N bytes (streamed in 1 MiB pieces). Pass an https.Server
 * to make it a TLS node.
 */
export async function startEcho(server: http.Server | https.Server = http.createServer()): Promise<EchoBackend> {
  const seen: EchoBackend['seen'] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const big = /\/big\/(\d+)$/.exec(req.url ?? '');
    if (big !== null) {
      let left = Number(big[1]);
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      res.writeHead(200, { 'content-length': String(left), 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, piece.length);
          left -= n;
          if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function mcmp(managerPort: number, method: string, body = ''): Promise<{ status: number; body: string }> {
  const { responses } = await sendRaw(managerPort, mcmpRequest(method, body), { expect: 1 });
  const r = responses[0];
  assert.ok(r, `${method} got no reply`);
  return { status: r.status, body: r.body.toString('latin1') };
}

/** CONFIG + ENABLE-APP (aliases localhost, 127.0.0.1 and the SNI test names) + STATUS Load=100. */
export async function registerNode(managerPort: number, route: string, port: number, opts: { type?: string; host?: string; context?: string } = {}): Promise<string> {
  const c = await mcmp(managerPort, 'CONFIG', `JVMRoute=${route}&Host=${opts.host ?? '127.0.0.1'}&Port=${port}&Type=${opts.type ?? 'http'}`);
  assert.equal(c.status, 200, c.body);
  const e = await mcmp(managerPort, 'ENABLE-APP', `JVMRoute=${route}&Alias=localhost,127.0.0.1,shop.test,a.wild.test&Context=${opts.context ?? '/app'}`);
  assert.equal(e.status, 200, e.body);
  const s = await mcmp(managerPort, 'STATUS', `JVMRoute=${route}&Load=100`);
  return s.body;
}

export interface HttpsResult {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
  /** CN of the certificate the proxy presented. */
  peerCn: string;
  protocol: string;
  localPort: number;
}

/** One HTTPS request; `options` are https.request's (ca, servername, cert, key, agent...). */
export function httpsRequest(options: https.RequestOptions, body?: Buffer | string): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', method: body === undefined ? 'GET' : 'POST', ...options }, (res) => {
      const socket = res.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const peerCn = typeof peer.subject?.CN === 'string' ? peer.subject.CN : '';
      const protocol = socket.getProtocol() ?? '';
      const localPort = socket.localPort ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, peerCn, protocol, localPort }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.end(body);
  });
}

export async function waitForLog(logs: Array<Record<string, unknown>>, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logs.find(pred);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`no such log line within ${timeoutMs} ms; last: ${JSON.stringify(logs.slice(-5))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TlsReply {
  status: number;
  body: string;
}

/** One MCMP command (or a GET of the page) over TLS, as the Java listener sends it (Node's client takes any method token). */
export function mcmpTls(port: number, method: string, body: string, tlsOptions: https.RequestOptions, target = '/'): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'ClusterListener/1.0' },
        ...tlsOptions,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('latin1')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
}

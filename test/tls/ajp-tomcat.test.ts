// A real Tomcat 10.1 registered as Type=ajp behind --listen-tls: a client that
// came over HTTPS reaches the servlet with is_ssl set, so request.isSecure() is
// true, the scheme is https and the session cookie Tomcat makes is marked
// Secure; the plain listener beside it stays http. The SSL attributes
// (cipher, session id, key size, client certificate) are not sent:
// uWebSockets.js 20.30 exposes none of them to JavaScript (README "TLS").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { CONTEXT, startTomcat, tomcatMissing, type Tomcat } from '../helpers/tomcat';
import { makePki, OPENSSL_MISSING, type TestPki } from './certs';
import { httpsRequest, registerNode } from './harness';

const tomcatAbsent = tomcatMissing();
const skip = OPENSSL_MISSING !== false ? OPENSSL_MISSING : tomcatAbsent === null ? false : `why: ${tomcatAbsent}`;

interface Echo {
  secure: boolean;
  scheme: string;
  serverName: string;
  serverPort: number;
  sessionId: string | null;
  headers: Array<[string, string]>;
}

describe('AJP node behind --listen-tls (real Tomcat)', { skip, timeout: 240_000 }, () => {
  let pki: TestPki;
  let tomcat: Tomcat;
  let proxy: ProxyProcess;
  let tlsPort: number;

  before(async () => {
    pki = makePki();
    tomcat = await startTomcat({ jvmRoute: 'tls1' });
    proxy = await startProxy(['--threads', '1', '--listen-tls', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key], 60_000);
    tlsPort = proxy.tlsPorts[0] as number;
    await registerNode(proxy.managerPort, 'tls1', tomcat.ajpPort, { type: 'ajp', context: CONTEXT });
  }, { timeout: 180_000 });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await tomcat?.stop();
    pki?.remove();
  }, { timeout: 60_000 });

  it('over HTTPS: isSecure() true, scheme https, the port the client used, a Secure session cookie', async () => {
    const r = await httpsRequest({ port: tlsPort, path: `${CONTEXT}/s?session=1`, servername: 'localhost', headers: { host: `localhost:${tlsPort}` }, ca: pki.read(pki.ca), agent: false });
    assert.equal(r.status, 200, r.body.toString());
    const e = JSON.parse(r.body.toString()) as Echo;
    assert.equal(e.secure, true);
    assert.equal(e.scheme, 'https');
    assert.equal(e.serverName, 'localhost');
    assert.equal(e.serverPort, tlsPort);
    const cookie = String(r.headers['set-cookie']?.[0] ?? '');
    assert.match(cookie, /^JSESSIONID=[^;]+\.tls1;/);
    assert.match(cookie, /;\s*Secure/i, `Tomcat marks the session cookie Secure only for a secure request: ${cookie}`);
    // AJP carries TLS in is_ssl, not in headers: nothing an HTTP node would get leaks in.
    assert.ok(!e.headers.some(([n]) => /^x-forwarded-/i.test(n)), JSON.stringify(e.headers));
  });

  it('a Host without a port over HTTPS: Tomcat takes 443, as behind httpd', async () => {
    const r = await httpsRequest({ port: tlsPort, path: `${CONTEXT}/p`, servername: 'localhost', headers: { host: 'localhost' }, ca: pki.read(pki.ca), agent: false });
    assert.equal(r.status, 200, r.body.toString());
    const e = JSON.parse(r.body.toString()) as Echo;
    assert.equal(e.secure, true);
    assert.equal(e.serverPort, 443);
  });

  it('the plain listener beside it: isSecure() false, scheme http, the cookie not Secure', async () => {
    const { responses } = await sendRaw(proxy.listenPort, `GET ${CONTEXT}/s?session=1 HTTP/1.1\r\nHost: localhost:${proxy.listenPort}\r\n\r\n`, { expect: 1 });
    const r = responses[0];
    assert.ok(r !== undefined);
    assert.equal(r.status, 200, r.body.toString());
    const e = JSON.parse(r.body.toString('utf8')) as Echo;
    assert.equal(e.secure, false);
    assert.equal(e.scheme, 'http');
    assert.equal(e.serverPort, proxy.listenPort);
    const cookie = r.headers['set-cookie'];
    assert.ok(cookie !== undefined && !/secure/i.test(String(cookie)), String(cookie));
  });
});

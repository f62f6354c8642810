// The status page over --manager-tls in a real browser (headless Chromium), set
// up as an operator would: workers must present a certificate from the
// workers' CA (--manager-client-ca), so the operator's browser holds an
// operator certificate from that CA (imported as PKCS#12 into its NSS store)
// and trusts the CA that signed the proxy's certificate. The page must show the
// registered node; a screenshot is left in test-artifacts/tls/ (git-ignored).
// Without the operator certificate, or without trusting the CA, no page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactDir, chromiumMissing, loadPage, makeBrowserProfile, type BrowserProfile } from '../helpers/chromium';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { issueFromCa, makePki, OPENSSL_MISSING, TEST_CA_CN, type TestPki } from './certs';
import { mcmpTls, startEcho, type EchoBackend } from './harness';

const skip = OPENSSL_MISSING !== false ? OPENSSL_MISSING : chromiumMissing();
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('status page over HTTPS in headless Chromium', { skip, timeout: 300_000 }, () => {
  let pki: TestPki;
  let proxy: ProxyProcess;
  let backend: EchoBackend;
  let pageUrl: string;
  let origin: string;
  const profiles: BrowserProfile[] = [];

  before(async () => {
    pki = makePki();
    backend = await startEcho();
    proxy = await startProxy(['--threads', '1', '--manager-tls', '--manager-cert', pki.server.cert, '--manager-key', pki.server.key, '--manager-client-ca', pki.ca], 60_000);
    const worker = { ca: pki.read(pki.ca), cert: pki.read(pki.client.cert), key: pki.read(pki.client.key) };
    assert.equal((await mcmpTls(proxy.managerPort, 'CONFIG', `JVMRoute=browser1&Host=127.0.0.1&Port=${backend.port}&Type=http`, worker)).status, 200);
    assert.equal((await mcmpTls(proxy.managerPort, 'ENABLE-APP', 'JVMRoute=browser1&Alias=localhost&Context=/shop', worker)).status, 200);
    assert.match((await mcmpTls(proxy.managerPort, 'STATUS', 'JVMRoute=browser1&Load=100', worker)).body, /State=OK/);
    origin = `https://localhost:${proxy.managerPort}`;
    pageUrl = `${origin}/mod_cluster-manager`;
  }, { timeout: 120_000 });

  after(async () => {
    await proxy?.stop('SIGKILL');
    await backend?.close();
    for (const p of profiles) p.remove();
    pki?.remove();
  });

  function profile(id: Parameters<typeof makeBrowserProfile>[0]): BrowserProfile {
    const p = makeBrowserProfile(id);
    profiles.push(p);
    return p;
  }

  it('an operator certificate from the workers CA and the CA trusted: the page shows the node, screenshot kept', async (t) => {
    const operator = issueFromCa(pki, 'operator', 'operator');
    const browser = profile({ trustCa: pki.ca, clientCert: { ...operator, issuerCn: TEST_CA_CN }, autoSelectFor: [origin] });
    const screenshot = path.join(artifactDir('tls'), 'status-page.png');
    fs.rmSync(screenshot, { force: true });
    const page = await loadPage(browser, pageUrl, { screenshot });
    assert.match(page.dom, /<title>Mod_cluster Status<\/title>/, page.log.slice(-1500));
    assert.match(page.dom, /Node browser1 \(http:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(page.dom, /\/shop, Status: ENABLED/);
    assert.ok(page.screenshot !== undefined, `no screenshot written: ${page.log.slice(-1500)}`);
    const png = fs.readFileSync(page.screenshot);
    assert.ok(png.subarray(0, 8).equals(PNG_MAGIC), 'the screenshot is a PNG');
    assert.ok(png.length > 2000, `a screenshot of a rendered page, not an empty one (${png.length} bytes)`);
    t.diagnostic(`status page screenshot: ${page.screenshot}`);
  });

  it('a browser without an operator certificate gets no page: the proxy refuses it in the handshake', async () => {
    const refusedBefore = proxy.logs.filter((l) => l.msg === 'MCMP TLS handshake refused').length;
    const page = await loadPage(profile({ trustCa: pki.ca }), pageUrl);
    assert.doesNotMatch(page.dom, /Mod_cluster Status|browser1/);
    const deadline = Date.now() + 10_000;
    while (proxy.logs.filter((l) => l.msg === 'MCMP TLS handshake refused').length === refusedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const refused = proxy.logs.filter((l) => l.msg === 'MCMP TLS handshake refused').slice(refusedBefore);
    assert.ok(refused.length > 0, 'the proxy logged the refusal');
    assert.equal(refused[0]?.code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  });

  it('a browser that does not trust the CA refuses the proxy certificate (nothing is trusted blindly)', async () => {
    const operator = issueFromCa(pki, 'operator2', 'operator2');
    const page = await loadPage(profile({ clientCert: { ...operator, issuerCn: TEST_CA_CN }, autoSelectFor: [origin] }), pageUrl);
    assert.doesNotMatch(page.dom, /Mod_cluster Status|browser1/);
    assert.match(page.log, /ERR_CERT_AUTHORITY_INVALID/);
  });
});

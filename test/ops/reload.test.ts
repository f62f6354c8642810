// SIGHUP re-reads --config in the real process: allow lists, log level and
// routing directives change on a client connection that stays open; table
// sizes are named as kept; a file that does not load changes nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, parseResponses, sendRaw, type RawResponse } from '../helpers/raw-http';

function config(mcmpFrom: string, extra: string[]): string {
  return [
    'Listen 6666',
    '<VirtualHost _default_:6666>',
    '  EnableMCMPReceive',
    '  <Location />',
    `    Require ip ${mcmpFrom}`,
    '  </Location>',
    '  <Location /mod_cluster-manager>',
    '    SetHandler mod_cluster-manager',
    '    Require ip 127.0.0.1',
    '  </Location>',
    '</VirtualHost>',
    'EnableOptions Off',
    ...extra,
    '',
  ].join('\n');
}

/** One client connection kept open across the reload. */
class KeptConnection {
  readonly #socket: net.Socket;
  #data = Buffer.alloc(0);
  #closed = false;
  constructor(port: number) {
    this.#socket = net.connect({ port, host: '127.0.0.1' });
    this.#socket.on('data', (d: Buffer) => (this.#data = Buffer.concat([this.#data, d])));
    this.#socket.on('close', () => (this.#closed = true));
  }
  get closed(): boolean {
    return this.#closed;
  }
  async get(urlPath: string): Promise<RawResponse> {
    this.#data = Buffer.alloc(0);
    this.#socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { responses } = parseResponses(this.#data, false);
      if (responses[0] !== undefined) return responses[0];
      if (this.#closed || Date.now() > deadline) throw new Error(`no response on the kept connection (closed=${this.#closed})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  close(): void {
    this.#socket.destroy();
  }
}

async function waitForLog(p: ProxyProcess, msg: string, after: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = p.logs.slice(after).find((l) => l.msg === msg);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line; last: ${JSON.stringify(p.logs.slice(-3))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGHUP applies what can change live, keeps the rest, and keeps connections', async () => {
  const backend = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-reload-'));
  const file = path.join(dir, 'cluster.conf');
  fs.writeFileSync(file, config('127.0.0.1', ['Maxnode 20']));
  const p = await startProxy(['--threads', '2', '--config', file]);
  const kept = new KeptConnection(p.listenPort);
  try {
    const mcmp = async (method: string, body: string, from = '127.0.0.1'): Promise<number> =>
      (await sendRaw(p.managerPort, mcmpRequest(method, body), { expect: 1, localAddress: from })).responses[0]?.status ?? 0;
    assert.equal(await mcmp('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backendPort}&Type=http`), 200);
    assert.equal(await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app'), 200);
    assert.equal(await mcmp('STATUS', 'JVMRoute=node1&Load=100'), 200);
    assert.equal((await kept.get('/app/')).status, 200);
    assert.equal((await kept.get('/elsewhere')).status, 404);
    assert.equal(p.logs.some((l) => l.msg === 'MCMP'), false, 'no debug lines at info');

    fs.writeFileSync(file, config('127.0.0.2', ['Maxnode 50', 'ResponseStatusCodeOnNoContext 410', 'LogLevel debug']));
    let mark = p.logs.length;
    p.child.kill('SIGHUP');
    const reloaded = await waitForLog(p, 'configuration reloaded', mark);
    assert.deepEqual(reloaded.applied, ['ResponseStatusCodeOnNoContext', 'allow lists', 'log level']);
    const warning = p.logs.slice(mark).find((l) => l.msg === 'reload: these cannot change while running; restart to apply them');
    assert.deepEqual(warning?.kept, ['Maxnode', 'Maxhost'], 'Maxhost follows Maxnode');

    // Same client connection: it was not dropped, and routes with the new directive.
    assert.equal((await kept.get('/elsewhere')).status, 410);
    assert.equal((await kept.get('/app/')).status, 200);
    assert.equal(kept.closed, false);
    // The new allow list: MCMP from 127.0.0.2 only; the page from 127.0.0.1 still.
    assert.equal(await mcmp('STATUS', 'JVMRoute=node1&Load=90'), 403);
    assert.equal(await mcmp('STATUS', 'JVMRoute=node1&Load=90', '127.0.0.2'), 200);
    const page = await sendRaw(p.managerPort, 'GET /mod_cluster-manager HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1 });
    assert.equal(page.responses[0]?.status, 200);
    await waitForLog(p, 'MCMP', mark); // the debug line of the STATUS above: the new log level
    // Maxnode was kept: the tables still have 20 slots (21 nodes do not fit).
    for (let i = 2; i <= 20; i++) assert.equal(await mcmp('CONFIG', `JVMRoute=n${i}&Host=127.0.0.1&Port=${20000 + i}&Type=http`, '127.0.0.2'), 200);
    assert.equal(await mcmp('CONFIG', `JVMRoute=n21&Host=127.0.0.1&Port=20021&Type=http`, '127.0.0.2'), 500);

    // A file that does not load changes nothing.
    fs.writeFileSync(file, config('127.0.0.1', ['ResponseStatusCodeOnNoContext 9999']));
    mark = p.logs.length;
    p.child.kill('SIGHUP');
    const refused = await waitForLog(p, 'reload refused: the configuration did not load; nothing changed', mark);
    assert.match(String(refused.err), /cluster\.conf:13: ResponseStatusCodeOnNoContext: bad value "9999"/);
    assert.equal((await kept.get('/elsewhere')).status, 410);
    assert.equal(await mcmp('STATUS', 'JVMRoute=node1&Load=90'), 403);
  } finally {
    kept.close();
    await p.stop();
    await new Promise((r) => backend.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

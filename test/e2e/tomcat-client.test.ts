// Replays what a real Tomcat 10.1 with the mod_cluster listener sends over its
// life (../shared/reference/tomcat-mcmp-trace.txt), byte for byte in form: one
// keep-alive connection, no Content-Type, URL-encoded bodies, and the reply
// handling rules of the Java client (MCMP.md §8.4, §8.5).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parseResponses, sendRaw, type RawResponse } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';

/** One persistent MCMP connection, one request at a time, like the Java ClusterListener. */
class JavaMcmpConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: ((r: RawResponse) => void) | undefined;

  #failed: ((err: Error) => void) | undefined;

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1');
    this.#socket.on('error', (err) => this.#failed?.(err));
    this.#socket.on('data', (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      const { responses, rest } = parseResponses(this.#buffer, false);
      if (responses.length > 0 && this.#waiting !== undefined) {
        this.#buffer = rest;
        const w = this.#waiting;
        this.#waiting = undefined;
        w(responses[0] as RawResponse);
      }
    });
  }

  send(method: string, target: string, params: Array<[string, string]>): Promise<RawResponse> {
    const body = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');
    const head = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${this.#socket.remotePort ?? 0}`];
    if (body.length > 0) head.push(`Content-Length: ${body.length}`);
    head.push('User-Agent: ClusterListener/1.0', 'Connection: Keep-Alive');
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.#socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** The Java client's status parse: the text between the first and second space. */
function javaStatus(r: RawResponse): number {
  const parts = r.statusLine.split(' ');
  assert.ok(parts.length >= 3, `status line without reason phrase: ${r.statusLine}`);
  return Number(parts[1]);
}

/** STOP-APP reply: Requests= from the trimmed body split on & then = (absent ⇒ 0). */
function javaRequests(r: RawResponse): number {
  for (const item of r.body.toString('latin1').trim().split('&')) {
    const kv = item.split('=');
    if (kv.length === 2 && kv[0] === 'Requests') return Number(kv[1]);
  }
  return 0;
}

/** MCMP.md §8.5: the Java INFO parser; throws where Java would. */
function javaParseInfo(body: string): Map<string, { node: string; contexts: Map<string, string> }> {
  const nodes = new Map<number, string>();
  const vhosts = new Set<string>();
  const out = new Map<string, { node: string; contexts: Map<string, string> }>();
  for (const line of body.split(/\r?\n/)) {
    if (line === '') continue;
    const ids = /^(Node|Vhost|Context): \[([^\]]*)\],(.*)$/.exec(line);
    assert.ok(ids !== null, `unparseable INFO line ${line}`);
    const entries = new Map<string, string>();
    for (const e of (ids[3] ?? '').split(',')) {
      const c = e.indexOf(':');
      assert.ok(c > 0, `entry without ':' in ${line}`);
      entries.set(e.slice(0, c).trim(), e.slice(c + 1).trim());
    }
    const idParts = (ids[2] ?? '').split(':').map(Number);
    if (ids[1] === 'Node') {
      nodes.set(idParts[0] ?? -1, entries.get('Name') ?? '');
      out.set(entries.get('Name') ?? '', { node: entries.get('Name') ?? '', contexts: new Map() });
    } else {
      assert.equal(idParts.length, 3, line);
      assert.ok(nodes.has(idParts[0] ?? -1), `unknown node in ${line}`);
      if (ids[1] === 'Vhost') vhosts.add(`${idParts[0]}:${idParts[1]}`);
      else {
        assert.ok(vhosts.has(`${idParts[0]}:${idParts[1]}`), `context of an unknown vhost: ${line}`);
        const status = entries.get('Status') ?? '';
        assert.ok(['ENABLED', 'DISABLED', 'STOPPED'].includes(status), line);
        out.get(nodes.get(idParts[0] ?? -1) ?? '')?.contexts.set(entries.get('Context') ?? '', status);
      }
    }
  }
  return out;
}

let proxy: ProxyProcess;
let tomcat: http.Server;
let tomcatPort: number;
const slow = new Set<http.ServerResponse>();

before(async () => {
  tomcat = http.createServer((req, res) => {
    if (req.url?.startsWith('/demo2/slow') === true) {
      slow.add(res); // answered by the test when it decides
      return;
    }
    res.end(`node=tomcat1 ${req.url}\n`);
  });
  await new Promise<void>((r) => tomcat.listen(0, '127.0.0.1', r));
  tomcatPort = (tomcat.address() as AddressInfo).port;
  proxy = await startProxy(['--threads', '2', '--log-level', 'warn']);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  for (const r of slow) r.destroy();
  tomcat.closeAllConnections();
  await new Promise((r) => tomcat.close(r));
});

async function get(path: string): Promise<{ status: number; body: string }> {
  const { responses } = await sendRaw(proxy.listenPort, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`, { expect: 1 });
  return { status: responses[0]?.status ?? 0, body: responses[0]?.body.toString() ?? '' };
}

test('a Tomcat life cycle: first contact, steady state, deploy, drained undeploy, shutdown', async () => {
  const java = new JavaMcmpConnection(proxy.managerPort);
  const route: [string, string] = ['JVMRoute', 'tomcat1'];
  // 1. First periodic event: INFO, CONFIG, ENABLE-APP, STATUS on one connection.
  const info0 = await java.send('INFO', '/', []);
  assert.equal(javaStatus(info0), 200);
  assert.equal(javaParseInfo(info0.body.toString('latin1')).size, 0);
  const config = await java.send('CONFIG', '/', [route, ['Balancer', 'mycluster'], ['Host', '127.0.0.1'], ['Port', String(tomcatPort)], ['StickySessionForce', 'No'], ['Type', 'http']]);
  assert.equal(javaStatus(config), 200);
  assert.equal(javaStatus(await java.send('ENABLE-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo']])), 200);
  assert.equal(javaStatus(await java.send('STATUS', '/', [route, ['Load', '50']])), 200);
  assert.deepEqual(await get('/demo/'), { status: 200, body: 'node=tomcat1 /demo/\n' });

  // 2. Steady state STATUS, and the INFO Java parses on every reset.
  for (const load of ['45', '43', '100']) {
    const r = await java.send('STATUS', '/', [route, ['Load', load]]);
    assert.equal(javaStatus(r), 200);
    assert.match(r.body.toString(), /^Type=STATUS-RSP&JVMRoute=tomcat1&State=OK&id=\d+\n$/);
  }
  const parsed = javaParseInfo((await java.send('INFO', '/', [])).body.toString('latin1'));
  assert.equal(parsed.get('tomcat1')?.contexts.get('/demo'), 'ENABLED');

  // 3. Runtime deploy, then undeploy while a request is in flight: STOP-APP reports it (decision D5).
  assert.equal(javaStatus(await java.send('ENABLE-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo2']])), 200);
  const inflight = get('/demo2/slow');
  for (let i = 0; i < 100 && slow.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(slow.size, 1, 'the slow request reached the node');
  assert.equal(javaStatus(await java.send('DISABLE-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo2']])), 200);
  const stop1 = await java.send('STOP-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo2']]);
  assert.equal(javaStatus(stop1), 200);
  assert.equal(javaRequests(stop1), 1, `STOP-APP reply ${stop1.body.toString()}`);
  for (const r of slow) r.end('slow done\n');
  slow.clear();
  assert.equal((await inflight).status, 200);
  const stop2 = await java.send('STOP-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo2']]);
  assert.equal(javaRequests(stop2), 0);
  assert.equal(javaStatus(await java.send('REMOVE-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo2']])), 200);
  assert.equal((await get('/demo/x')).status, 200, '/demo still served');

  // 4. Shutdown: per context DISABLE, STOP, REMOVE; then REMOVE-APP /*.
  for (const cmd of ['DISABLE-APP', 'STOP-APP', 'REMOVE-APP']) {
    assert.equal(javaStatus(await java.send(cmd, '/', [route, ['Alias', 'localhost'], ['Context', '/demo']])), 200, cmd);
  }
  assert.equal(javaStatus(await java.send('REMOVE-APP', '/*', [route])), 200);
  assert.notEqual((await get('/demo/')).status, 200, 'a removed node gets no traffic');
  // A STATUS for the removed node is an error the Java client recovers from (never SYNTAX).
  const late = await java.send('STATUS', '/', [route, ['Load', '100']]);
  assert.notEqual(late.headers.type, 'SYNTAX');
  java.close();
});

test('after a proxy restart the Java recovery path (STATUS → MEM error, INFO, CONFIG, ENABLE-APP) re-registers the node', async () => {
  const fresh = await startProxy(['--threads', '1', '--log-level', 'warn']);
  try {
    const java = new JavaMcmpConnection(fresh.managerPort);
    const route: [string, string] = ['JVMRoute', 'tomcat9'];
    const status = await java.send('STATUS', '/', [route, ['Load', '100']]);
    assert.equal(javaStatus(status), 500);
    assert.equal(status.headers.type, 'MEM');
    assert.equal(status.headers.mess, 'MEM: Can\'t read node with "tomcat9" JVMRoute');
    java.close();
    const again = new JavaMcmpConnection(fresh.managerPort);
    assert.equal(javaStatus(await again.send('INFO', '/', [])), 200);
    assert.equal(javaStatus(await again.send('CONFIG', '/', [route, ['Host', '127.0.0.1'], ['Port', String(tomcatPort)], ['StickySessionForce', 'No'], ['Type', 'http']])), 200);
    assert.equal(javaStatus(await again.send('ENABLE-APP', '/', [route, ['Alias', 'localhost'], ['Context', '/demo']])), 200);
    assert.equal(javaStatus(await again.send('STATUS', '/', [route, ['Load', '100']])), 200);
    const { responses } = await sendRaw(fresh.listenPort, 'GET /demo/ HTTP/1.1\r\nHost: localhost\r\n\r\n', { expect: 1 });
    assert.equal(responses[0]?.status, 200);
    again.close();
  } finally {
    await fresh.stop('SIGKILL');
  }
});

// GET /metrics end to end: the real proxy with two threads, a real backend, a
// dead node, MCMP accepted and refused; the exposition is checked by value,
// by promtool, and by a real Prometheus server scraping it on loopback.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

let proxy: ProxyProcess;
let backend: http.Server;
let backendPort: number;
let deadPort: number;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function mcmp(method: string, body = ''): Promise<number> {
  const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1 });
  return responses[0]?.status ?? 0;
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host: 'localhost', ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

/** The value of one series in an exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

before(async () => {
  backend = http.createServer((req, res) => {
    res.statusCode = req.url?.includes('missing') === true ? 404 : 200;
    res.end('hello from the backend\n');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
  deadPort = await freePort();
  proxy = await startProxy(['--threads', '2', '--set', 'EnableOptions=Off', '--allow', '127.0.0.1,::1']);
  assert.equal(await mcmp('CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${backendPort}&Type=http`), 200);
  assert.equal(await mcmp('CONFIG', `JVMRoute=node2&Host=127.0.0.1&Port=${deadPort}&Type=http&StickySessionForce=No`), 200);
  assert.equal(await mcmp('ENABLE-APP', 'JVMRoute=node1&Alias=localhost&Context=/app'), 200);
  assert.equal(await mcmp('ENABLE-APP', 'JVMRoute=node2&Alias=localhost&Context=/app'), 200);
  assert.equal(await mcmp('STATUS', 'JVMRoute=node1&Load=100'), 200);
  assert.equal(await mcmp('STATUS', 'JVMRoute=node2&Load=100'), 200);
  assert.equal(await mcmp('STATUS', 'JVMRoute=nosuchnode&Load=100'), 500);
  assert.equal(await mcmp('CONFIG', 'JVMRoute=bad&Port=notaport'), 500);
});

after(async () => {
  await proxy?.stop('SIGKILL');
  await new Promise((r) => backend?.close(r));
});

test('/metrics counts requests, failures, latency, MCMP and threads', async () => {
  // A session of node2, which is down: the request fails over to node1 and is served.
  const sticky = await get(proxy.listenPort, '/app/x', { cookie: 'JSESSIONID=abc.node2' });
  assert.equal(sticky.status, 200);
  for (let i = 0; i < 20; i++) assert.equal((await get(proxy.listenPort, '/app/x')).status, 200);
  assert.equal((await get(proxy.listenPort, '/app/missing')).status, 404);
  assert.equal((await get(proxy.listenPort, '/nothing-here')).status, 404, 'no context: the proxy answers');
  // Event-loop utilisation is published once a second.
  await new Promise((r) => setTimeout(r, 1500));

  const m = await get(proxy.managerPort, '/metrics');
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = m.body;
  assert.equal(sample(text, 'mcmp_edge_requests_total{node="node1",code_class="2xx"}'), 21);
  assert.equal(sample(text, 'mcmp_edge_requests_total{node="node1",code_class="4xx"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_requests_total{node="",code_class="4xx"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_context_requests_total{node="node1",host="localhost",context="/app",code_class="2xx"}'), 21);
  assert.equal(sample(text, 'mcmp_edge_upstream_errors_total{node="node2",kind="connect"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_failovers_total{node="node2"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_node_state{node="node2",balancer="mycluster",state="error"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_node_state{node="node1",balancer="mycluster",state="ok"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_node_load{node="node1"}'), 100);
  assert.equal(sample(text, 'mcmp_edge_requests_in_flight{node="node1"}'), 0);
  assert.ok((sample(text, 'mcmp_edge_node_elected_total{node="node1"}') ?? 0) >= 22);
  assert.ok((sample(text, 'mcmp_edge_node_received_bytes_total{node="node1"}') ?? 0) >= 22 * 'hello from the backend\n'.length);
  assert.equal(sample(text, 'mcmp_edge_node_ttfb_seconds_count{node="node1"}'), 22);
  assert.equal(sample(text, 'mcmp_edge_node_request_duration_seconds_count{node="node1"}'), 22);
  assert.equal(sample(text, 'mcmp_edge_node_request_duration_seconds_bucket{node="node1",le="+Inf"}'), 22);
  assert.ok((sample(text, 'mcmp_edge_node_request_duration_seconds_sum{node="node1"}') ?? 0) > 0);
  assert.equal(sample(text, 'mcmp_edge_mcmp_messages_total{command="CONFIG",result="ok"}'), 2);
  assert.equal(sample(text, 'mcmp_edge_mcmp_messages_total{command="STATUS",result="refused"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_mcmp_refusals_total{command="STATUS",reason="MNODERD"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_mcmp_refusals_total{command="CONFIG",reason="SPORBIG"}'), 1);
  assert.equal(sample(text, 'mcmp_edge_thread_restarts_total{thread="1"}'), 0);
  const elu = sample(text, 'mcmp_edge_thread_event_loop_utilization{thread="0"}');
  assert.ok(elu !== undefined && elu > 0 && elu <= 1, `thread 0 utilisation ${elu}`);
  assert.ok(sample(text, 'process_resident_memory_bytes') !== undefined, 'prom-client default metrics');

  // The same allow list as the status page.
  const refused = await sendRaw(proxy.managerPort, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', { expect: 1, localAddress: '127.0.0.2' });
  assert.equal(refused.responses[0]?.status, 403);
});

test('promtool check metrics accepts the exposition', { skip: fs.existsSync(PROMTOOL) ? false : 'why: install prometheus (Debian) for promtool' }, async () => {
  const m = await get(proxy.managerPort, '/metrics');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: m.body, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});

test('a real Prometheus server scrapes it', { skip: fs.existsSync(PROMETHEUS) ? false : 'why: install prometheus (Debian)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-prom-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: mcmp-edge', '    static_configs:', `      - targets: ['127.0.0.1:${proxy.managerPort}']`, ''].join('\n'),
  );
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, 'data')}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      const r = await get(port, `/api/v1/query?query=${encodeURIComponent(q)}`);
      if (r.status !== 200) return [];
      return (JSON.parse(r.body) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    };
    const deadline = Date.now() + 90_000;
    let up: string | undefined;
    let served: string | undefined;
    while (Date.now() < deadline && (up !== '1' || served === undefined)) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        up = (await query('up{job="mcmp-edge"}'))[0]?.value[1];
        served = (await query('mcmp_edge_requests_total{node="node1",code_class="2xx"}'))[0]?.value[1];
      } catch {
        // not listening yet
      }
    }
    t.diagnostic(`up=${up} requests=${served}`);
    assert.equal(up, '1', `Prometheus did not scrape mcmp-edge; its log: ${stderr}`);
    assert.ok(Number(served) >= 21, `mcmp_edge_requests_total from Prometheus: ${served}`);
    const scrapeErrors = await query('scrape_samples_post_metric_relabeling{job="mcmp-edge"}');
    assert.ok(Number(scrapeErrors[0]?.value[1]) > 50, 'the whole exposition was ingested');
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// `--tls`: HTTPS at the edge, mcmp-edge (`--listen-tls`) against nginx
// (`listen … ssl`) with the same certificate (RSA 2048 or, with --tls-key
// ecdsa, ECDSA P-256, from a CA made with the openssl CLI for the run), TLS
// 1.2 and 1.3 only, the same TLS 1.2 suites (src/tls/ciphers.ts; TLS 1.3
// suites are each library's defaults, the same three), both forwarding to the
// same plain uWS backend. Interleaved rounds and medians, as the plain runs
// (with --baseline, that build's mcmp-edge too). Four kinds of run:
//   full handshakes  a new connection per request that never offers a session
//                    (tls-handshake-client): handshakes per second
//   resumed          the same client offering each loop's last session: how
//                    many the server resumes, and their cost
//   new conn (wrk)   wrk's new connections, which offer its last session:
//                    what returning browsers do
//   keep-alive       wrk over TLS, connections reused: the record layer's cost
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { TLS12_CIPHERS } from '../../src/tls/ciphers';
import { parseResponses } from '../../test/helpers/raw-http';
import { makeCa, makeLeaf, type Pair } from '../../test/tls/certs';
import type { BenchOptions, TlsKeyType } from '../args';
import { BODY_PATHS, BODY_SIZES } from './backend';
import { LoadError, runBounded, type LoadGenerator, type LoadResult } from './load';
import { freePort, LOOPBACK } from './net';
import { runScenario, warmUp, type Scenario, type ScenarioOptions, type ScenarioResult } from './scenarios';
import type { HandshakeRun } from './tls-handshake-client';
import { DEFAULT_EDGE_SETS, mcmpEdgeTarget, type EdgeBuild } from './targets/mcmp-edge';
import { nginxTarget } from './targets/nginx';
import type { RunningTarget, TargetSpec } from './targets/types';

const HANDSHAKE_CLIENT = path.join(__dirname, 'tls-handshake-client.js');

export interface TlsComparisonDeps {
  readonly gen: LoadGenerator;
  readonly tmpDir: string;
  readonly backendPort: number;
  readonly backendPid: number;
  readonly print: (line: string) => void;
  readonly skip: (target: string, reason: string) => void;
  readonly fail: (message: string) => void;
  /** Node flags for the mcmp-edge targets (--profile: JIT names). */
  readonly nodeFlags?: readonly string[];
  /** --edge-env: environment of this build's mcmp-edge (not the baseline's). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * --profile: one more run of one target under perf after each TLS run's rounds
   * (run.ts picks the target); undefined: no profile.
   */
  readonly profile?: (running: readonly RunningTarget[], name: string, gen: LoadGenerator, scenario: Scenario) => Promise<void>;
}

/** The wrk/autocannon generator aimed at https:// URLs. */
function overTls(gen: LoadGenerator): LoadGenerator {
  return { name: gen.name, run: (s) => gen.run({ ...s, scheme: 'https' }) };
}

/**
 * Handshakes: tls-handshake-client in its own process (its CPU is not the
 * proxy's). `resume`: each loop offers its last session, and the result says
 * how many were resumed; otherwise none is offered and every one is full.
 */
export function handshakeGenerator(resume = false): LoadGenerator {
  return {
    name: 'tls-handshakes',
    async run(s): Promise<LoadResult> {
      const args = [HANDSHAKE_CLIENT, String(s.port), s.path, String(s.connections), String(s.durationSec), ...(resume ? ['resume'] : [])];
      const out = await runBounded(process.execPath, args, (s.durationSec + 20) * 1000, 'tls-handshake-client');
      const r = JSON.parse(out.trim().split('\n').pop() as string) as HandshakeRun;
      // A resumed handshake would make the full-handshake run a different measurement; none is offered, so none may happen.
      if (!resume && r.resumed > 0) throw new LoadError(`${r.resumed} handshakes were resumed although no session was offered`);
      return {
        tool: 'tls-handshakes',
        requests: r.requests,
        durationSec: r.durationSec,
        rps: r.requests / r.durationSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        non2xx: r.non2xx,
        ...(resume ? { resumed: r.resumed } : {}),
      };
    },
  };
}

/**
 * mcmp-edge with one --listen-tls; the target's port is the HTTPS one (the
 * plain --listen proves the start). `build.checkout`: the --baseline build.
 */
function edgeTlsTarget(threads: number, sets: readonly string[], pair: Pair, build: EdgeBuild = {}): TargetSpec {
  const plain = mcmpEdgeTarget(threads, sets, 'default', undefined, build);
  return {
    kind: 'mcmp-edge',
    label: plain.label,
    unavailable: () => plain.unavailable(),
    async start(ctx) {
      const tlsPort = await freePort();
      const spec = mcmpEdgeTarget(threads, sets, 'default', undefined, { ...build, args: ['--listen-tls', `${LOOPBACK}:${tlsPort}`, '--tls-cert', pair.cert, '--tls-key', pair.key] });
      return { ...(await spec.start(ctx)), port: tlsPort };
    },
  };
}

/**
 * One verified handshake and one GET per target before measuring: the
 * certificate is the run's (verified against its CA, SNI localhost), and what
 * was negotiated, so that the report says both sides spoke the same TLS.
 */
function checkTarget(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: LOOPBACK, port, servername: 'localhost', ca, rejectUnauthorized: true });
    let data: Buffer = Buffer.alloc(0);
    let negotiated = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.once('secureConnect', () => {
      const kx = socket.getEphemeralKeyInfo() as { name?: string } | null;
      const peer = socket.getPeerCertificate();
      // An EC key names its curve; an RSA key has a modulus.
      const keyType = peer.asn1Curve !== undefined ? `ECDSA ${peer.nistCurve ?? peer.asn1Curve}` : 'RSA';
      negotiated = `${socket.getProtocol() ?? '?'} ${socket.getCipher().standardName}, ${kx?.name ?? '?'} key exchange, ${peer.bits ?? '?'}-bit ${keyType} certificate`;
      socket.write(`GET ${BODY_PATHS.small} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      const r = parseResponses(data, false).responses[0];
      if (r === undefined) return;
      socket.destroy();
      if (r.status === 200 && r.body.length === BODY_SIZES.small) resolve(negotiated);
      else reject(new Error(`GET ${BODY_PATHS.small} over TLS answered ${r.status} with ${r.body.length} bytes`));
    });
    socket.once('error', reject);
  });
}

const KEY_NAMES: Record<TlsKeyType, string> = { rsa: 'RSA 2048', ecdsa: 'ECDSA P-256' };

/** One TLS comparison per --tls-key, one after the other (each with its own certificate and targets). */
export async function runTlsComparison(o: BenchOptions, d: TlsComparisonDeps): Promise<ScenarioResult[]> {
  if (spawnSync('openssl', ['version']).status !== 0) {
    const why = 'openssl CLI not installed (apt-get install openssl): the run makes its certificate with it';
    d.print(`skipped the TLS comparison: ${why}`);
    d.skip('tls', why);
    return [];
  }
  const results: ScenarioResult[] = [];
  for (const key of o.tlsKeys) results.push(...(await runOneKey(o, d, key, o.tlsKeys.length > 1)));
  return results;
}

async function runOneKey(o: BenchOptions, d: TlsComparisonDeps, key: TlsKeyType, nameKey: boolean): Promise<ScenarioResult[]> {
  const dir = path.join(d.tmpDir, `tls-${key}`);
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca', 'mcmp-edge bench CA');
  const pair = makeLeaf(dir, 'server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'ca', key);
  const ca = readFileSync(path.join(dir, 'ca.pem'));
  // Several key types in one run: each scenario name says which (and so does its profile file).
  const tlsName = nameKey ? `TLS ${key === 'rsa' ? 'RSA' : 'ECDSA'}` : 'TLS';
  const threads = Math.max(...o.threads);
  const sets = [...DEFAULT_EDGE_SETS, ...o.edgeSets];
  const nodeFlags = d.nodeFlags ?? [];
  const specs: TargetSpec[] = [
    ...(o.baseline !== undefined ? [edgeTlsTarget(threads, sets, pair, { checkout: o.baseline, nodeFlags })] : []),
    edgeTlsTarget(threads, sets, pair, { nodeFlags, ...(d.env !== undefined ? { env: d.env } : {}) }),
  ];
  if (o.peers.includes('nginx')) specs.push(nginxTarget({ cert: pair.cert, key: pair.key, ciphers: TLS12_CIPHERS }));
  const running: RunningTarget[] = [];
  const results: ScenarioResult[] = [];
  try {
    d.print(`\nTLS comparison: one certificate (${KEY_NAMES[key]}), TLS 1.2 + 1.3, the same TLS 1.2 suites`);
    for (const spec of specs) {
      const why = spec.unavailable();
      if (why !== undefined) {
        d.print(`skipped ${spec.label} (TLS): ${why}`);
        d.skip(`${spec.label} (TLS)`, why);
        continue;
      }
      try {
        // Its own directory: the plain runs' nginx is still running from tmpDir/nginx.
        const t = await spec.start({ backendPort: d.backendPort, tmpDir: dir });
        running.push(t);
        d.print(`started ${spec.label} (TLS port ${t.port}): ${await checkTarget(t.port, ca)}`);
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
        d.print(`FAILED to start ${spec.label} (TLS): ${msg}`);
        d.skip(`${spec.label} (TLS)`, msg);
        if (spec.kind === 'mcmp-edge') d.fail(`${spec.label} (TLS): ${msg}`);
      }
    }
    const wrkTls = overTls(d.gen);
    const so: ScenarioOptions = { gen: wrkTls, connections: o.connections, durationSec: o.durationSec, rounds: o.rounds, warmupSec: o.warmupSec, backendPid: d.backendPid, print: d.print };
    await warmUp(running, so);
    const runs: Array<{ name: (plain: string) => string; gen: LoadGenerator; scenario: Parameters<typeof runScenario>[0] }> = [];
    if (o.modes.includes('close')) {
      runs.push({ name: () => `${tlsName} full handshakes/s (100 B, new conn/req, no session offered)`, gen: handshakeGenerator(), scenario: { size: 'small', mode: 'close' } });
      runs.push({ name: () => `${tlsName} resumed handshakes/s (100 B, new conn/req, last session offered)`, gen: handshakeGenerator(true), scenario: { size: 'small', mode: 'close' } });
      runs.push({ name: (n) => `${tlsName} ${n} (wrk: offers its last session)`, gen: wrkTls, scenario: { size: 'small', mode: 'close' } });
    }
    if (o.modes.includes('keep-alive')) {
      for (const size of o.sizes) runs.push({ name: (n) => `${tlsName} ${n}`, gen: wrkTls, scenario: { size, mode: 'keep-alive' } });
    }
    for (const run of runs) {
      d.print('');
      const r = await runScenario(run.scenario, running, { ...so, gen: run.gen });
      const named = { ...r, name: run.name(r.name) };
      results.push(named);
      for (const t of r.targets) {
        if (t.failure !== undefined && t.kind === 'mcmp-edge') d.fail(`${t.label} in ${named.name}: ${t.failure.split('\n')[0] as string}`);
      }
      if (d.profile !== undefined) await d.profile(running, named.name, run.gen, run.scenario);
    }
  } finally {
    await Promise.all(running.map((t) => t.stop()));
  }
  return results;
}

// Command line of `npm run bench` (`node dist/bench/run.js [flags]`).
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { BodySize } from './e2e/backend';
import type { EdgeUpstream } from './e2e/targets/mcmp-edge';
import { ACCESS_LOG_FORMATS, type AccessLogFormat } from '../src/access-log/settings';
import type { ConnectionMode } from './e2e/scenarios';

export const PEERS = ['nginx', 'haproxy', 'httpd'] as const;
export type PeerName = (typeof PEERS)[number];
export const PARTS = ['micro', 'e2e', 'management'] as const;
export const NODE_TYPES = ['http', 'ajp'] as const;
/** Key of the --tls certificate: RSA 2048 (what most sites have) or ECDSA P-256. */
export const TLS_KEY_TYPES = ['rsa', 'ecdsa'] as const;
export type TlsKeyType = (typeof TLS_KEY_TYPES)[number];
export type NodeType = (typeof NODE_TYPES)[number];
export type Part = (typeof PARTS)[number];

export interface BenchOptions {
  readonly quick: boolean;
  readonly parts: ReadonlySet<Part>;
  readonly peers: readonly PeerName[];
  readonly sizes: readonly BodySize[];
  readonly modes: readonly ConnectionMode[];
  /** mcmp-edge forwarding-thread counts, each a target of its own. */
  readonly threads: readonly number[];
  readonly rounds: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly connections: number;
  readonly load: 'auto' | 'wrk' | 'autocannon';
  readonly edgeSets: readonly string[];
  /** --edge-env: environment of this checkout's mcmp-edge targets (not --baseline's), NAME=VALUE each. */
  readonly edgeEnv: Readonly<Record<string, string>>;
  /** Upstream clients to run mcmp-edge with, one target each (['default']: the proxy's own choice). */
  readonly edgeUpstreams: readonly EdgeUpstream[];
  /** --access-log: each mcmp-edge target again with the access log on in these formats, same rounds (on vs off). */
  readonly accessLogFormats: readonly AccessLogFormat[];
  /** Node types to measure: http (the uWS backend, always) and ajp (the same Tomcat over HTTP and over AJP). */
  readonly nodeTypes: readonly NodeType[];
  /** Add the HTTPS comparison (mcmp-edge --listen-tls against nginx ssl): handshakes/s and keep-alive over TLS. */
  readonly tls: boolean;
  /** --tls-key: one TLS comparison per certificate key type, in this order. */
  readonly tlsKeys: readonly TlsKeyType[];
  readonly microFilter: readonly string[];
  readonly microTimeSec: number;
  readonly statusSeconds: number;
  readonly statusConnections: number;
  readonly routeSamples: number;
  readonly outDir: string | undefined;
  /** Another checkout of mcmp-edge (built: DIR/dist) run beside this one, interleaved. */
  readonly baseline: string | undefined;
  /** Record where the CPU time goes (perf) in one extra run per scenario. */
  readonly profile: boolean;
  /** The target profiled: its label or a part of it (default: this build's mcmp-edge with the most threads). */
  readonly profileTarget: string | undefined;
  readonly help: boolean;
}

export class BenchArgsError extends Error {
  readonly code = 'ERR_BENCH_ARGS';
  constructor(message: string) {
    super(message);
    this.name = 'BenchArgsError';
  }
}

export const USAGE = `usage: npm run bench -- [flags]
  --quick                   short run, under a minute (1 round of 2 s; 100 B + 16 KiB keep-alive, 100 B new-conn)
  --only micro,e2e,management   parts to run (default: all)
  --peers nginx,haproxy,httpd   peer proxies to compare with, or "none" (default: all; absent ones are skipped)
  --sizes 100b,16k,1m,chunked   response bodies (default: 100b,16k,1m; --quick: 100b,16k); chunked: 100 B without
                            Content-Length, four chunks and the last chunk in one write from the node
  --modes keep-alive,close  client connections reused, or one per request (default: both)
  --threads 1,2             mcmp-edge forwarding-thread counts to measure (default: 1..CPUs; --quick: CPUs)
  --rounds N                interleaved rounds, medians reported (default 3; --quick 1)
  --duration S              seconds per measured run (default 5; --quick 2)
  --warmup S                seconds of unrecorded load per target first (default 2; --quick 1; 0: none)
  --connections N           concurrent client connections (default 64)
  --load auto|wrk|autocannon    load generator (default: wrk if installed)
  --edge-set Name=Value     extra --set for mcmp-edge (repeatable; the bench already sets EnableOptions=Off)
  --edge-upstream undici,h1 mcmp-edge once per upstream client (MCMP_EDGE_UPSTREAM), side by side (default: the proxy's default)
  --access-log combined,json    each mcmp-edge target also with --access-log (a file in the bench's temporary
                            directory) in these formats, "+log FORMAT" in its label, in the same interleaved
                            rounds: the access log's cost, on vs off (default: off)
  --node-types http,ajp     ajp adds the same Tomcat over HTTP and over AJP, side by side (needs tomcat10; httpd
                            with mod_proxy_http/mod_proxy_ajp as the peer when installed; --baseline adds its AJP
                            target, --profile records this build's AJP target) (default: http)
  --tls                     add the HTTPS comparison: mcmp-edge --listen-tls vs nginx ssl, same certificate, protocols
                            and TLS 1.2 suites; full handshakes/s (new connection, no session), wrk's new connections
                            (resumed sessions) and keep-alive over TLS (needs openssl; the e2e part); --baseline
                            and --profile apply to these runs too (the profile file names start with profile-tls-)
  --tls-key rsa,ecdsa       certificate key of the --tls comparison: RSA 2048 and/or ECDSA P-256, one comparison
                            each (default: rsa)
  --micro-filter WORD       only micro suites whose name contains WORD (repeatable)
  --micro-time S            seconds per micro case (default 1; --quick 0.1)
  --status-seconds S        seconds per STATUS-rate phase (default 3; --quick 1)
  --status-connections N    concurrent MCMP connections of the second STATUS phase (default 50)
  --route-samples N         ENABLE-APP -> first routed request samples (default 30; --quick 10)
  --out DIR                 where results go (default bench/results)
  --edge-env NAME=VALUE     environment for this checkout's mcmp-edge targets only, not --baseline's (repeatable),
                            e.g. MALLOC_ARENA_MAX=2 or NODE_OPTIONS=--v8-pool-size=2 with --baseline of the same
                            build: a launcher setting measured against none in one run
  --baseline DIR            also run the mcmp-edge built in checkout DIR (DIR/dist/src/cli.js, e.g. a git worktree
                            of main), labelled "@base", in the same interleaved rounds: before/after in one run;
                            the management part then runs --rounds times on each, alternated
  --profile                 after each scenario's rounds, one more run of one target under \`perf record\` (needs
                            linux-perf); writes where its CPU time goes (threads, binaries, top functions) to
                            profile-<scenario>.txt beside the results. mcmp-edge targets then start with
                            --perf-basic-prof-only-functions (JIT names)
  --profile-target LABEL    the target --profile records (a label or part of one; default: this build's mcmp-edge)
  -h, --help`;

const SIZE_NAMES: Record<string, BodySize> = { '100b': 'small', small: 'small', '16k': 'medium', '16kib': 'medium', medium: 'medium', '1m': 'large', '1mib': 'large', large: 'large', chunked: 'chunked' };
const MODE_NAMES: Record<string, ConnectionMode> = { 'keep-alive': 'keep-alive', keepalive: 'keep-alive', ka: 'keep-alive', close: 'close', 'new-conn': 'close', new: 'close' };

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
}

function positive(name: string, value: string | undefined, fallback: number, { integer = true, allowZero = false } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0 || (!allowZero && n === 0)) {
    throw new BenchArgsError(`--${name} must be a ${integer ? 'whole ' : ''}number${allowZero ? ' ≥ 0' : ' > 0'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function mapNames<T>(flag: string, names: string[] | undefined, table: Record<string, T>, fallback: readonly T[]): T[] {
  if (names === undefined) return [...fallback];
  const out: T[] = [];
  for (const n of names) {
    const v = table[n];
    if (v === undefined) throw new BenchArgsError(`--${flag}: unknown value ${JSON.stringify(n)} (known: ${Object.keys(table).join(', ')})`);
    if (!out.includes(v)) out.push(v);
  }
  if (out.length === 0) throw new BenchArgsError(`--${flag} needs at least one value`);
  return out;
}

export function parseBenchArgs(argv: readonly string[], cpus: number = os.cpus().length): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        peers: { type: 'string' },
        sizes: { type: 'string' },
        modes: { type: 'string' },
        threads: { type: 'string' },
        rounds: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        load: { type: 'string' },
        'edge-set': { type: 'string', multiple: true },
        'edge-env': { type: 'string', multiple: true },
        'edge-upstream': { type: 'string' },
        'access-log': { type: 'string' },
        'node-types': { type: 'string' },
        tls: { type: 'boolean' },
        'tls-key': { type: 'string' },
        'micro-filter': { type: 'string', multiple: true },
        'micro-time': { type: 'string' },
        'status-seconds': { type: 'string' },
        'status-connections': { type: 'string' },
        'route-samples': { type: 'string' },
        out: { type: 'string' },
        baseline: { type: 'string' },
        profile: { type: 'boolean' },
        'profile-target': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new BenchArgsError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  const quick = v.quick === true;
  const partNames = list(v.only);
  const parts = new Set<Part>(mapNames('only', partNames, Object.fromEntries(PARTS.map((p) => [p, p])) as Record<string, Part>, PARTS));
  const peerNames = list(v.peers);
  const peers: PeerName[] =
    peerNames !== undefined && peerNames.length === 1 && peerNames[0] === 'none'
      ? []
      : mapNames('peers', peerNames, Object.fromEntries(PEERS.map((p) => [p, p])) as Record<string, PeerName>, PEERS);
  const sizes = mapNames('sizes', list(v.sizes), SIZE_NAMES, quick ? (['small', 'medium'] as const) : (['small', 'medium', 'large'] as const));
  const modes = mapNames('modes', list(v.modes), MODE_NAMES, ['keep-alive', 'close'] as const);
  const threadList = list(v.threads);
  const threads =
    threadList === undefined
      ? quick
        ? [cpus]
        : Array.from({ length: cpus }, (_, i) => i + 1)
      : [...new Set(threadList.map((t) => positive('threads', t, 1)))];
  const load = v.load ?? 'auto';
  if (load !== 'auto' && load !== 'wrk' && load !== 'autocannon') throw new BenchArgsError(`--load must be auto, wrk or autocannon, got ${JSON.stringify(load)}`);
  for (const s of v['edge-set'] ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9]*=/.test(s)) throw new BenchArgsError(`--edge-set wants Name=Value, got ${JSON.stringify(s)}`);
  }
  const edgeEnv: Record<string, string> = {};
  for (const e of v['edge-env'] ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(e);
    if (m === null) throw new BenchArgsError(`--edge-env wants NAME=VALUE, got ${JSON.stringify(e)}`);
    edgeEnv[m[1] as string] = m[2] as string;
  }
  return {
    quick,
    parts,
    peers,
    sizes,
    modes,
    threads,
    rounds: positive('rounds', v.rounds, quick ? 1 : 3),
    durationSec: positive('duration', v.duration, quick ? 2 : 5),
    warmupSec: positive('warmup', v.warmup, quick ? 1 : 2, { allowZero: true }),
    connections: positive('connections', v.connections, 64),
    load,
    edgeSets: v['edge-set'] ?? [],
    edgeEnv,
    edgeUpstreams: mapNames('edge-upstream', list(v['edge-upstream']), { undici: 'undici', h1: 'h1' } as Record<string, EdgeUpstream>, ['default']),
    accessLogFormats: v['access-log'] === undefined ? [] : mapNames('access-log', list(v['access-log']), Object.fromEntries(ACCESS_LOG_FORMATS.map((f) => [f, f])) as Record<string, AccessLogFormat>, ACCESS_LOG_FORMATS),
    tls: v.tls === true || v['tls-key'] !== undefined,
    tlsKeys: mapNames('tls-key', list(v['tls-key']), Object.fromEntries(TLS_KEY_TYPES.map((k) => [k, k])) as Record<string, TlsKeyType>, ['rsa']),
    nodeTypes: mapNames('node-types', list(v['node-types']), Object.fromEntries(NODE_TYPES.map((t) => [t, t])) as Record<string, NodeType>, ['http']),
    microFilter: v['micro-filter'] ?? [],
    microTimeSec: positive('micro-time', v['micro-time'], quick ? 0.1 : 1, { integer: false }),
    statusSeconds: positive('status-seconds', v['status-seconds'], quick ? 1 : 3),
    statusConnections: positive('status-connections', v['status-connections'], 50),
    routeSamples: positive('route-samples', v['route-samples'], quick ? 10 : 30),
    outDir: v.out,
    baseline: v.baseline,
    profile: v.profile === true || v['profile-target'] !== undefined,
    profileTarget: v['profile-target'],
    help: v.help === true,
  };
}

/** The scenarios a run covers: every size × mode, except --quick keeps new-connection runs to the smallest size. */
export function scenarioList(o: BenchOptions): Array<{ size: BodySize; mode: ConnectionMode }> {
  const out: Array<{ size: BodySize; mode: ConnectionMode }> = [];
  for (const mode of o.modes) {
    for (const size of o.sizes) {
      if (o.quick && mode === 'close' && size !== o.sizes[0]) continue;
      out.push({ size, mode });
    }
  }
  return out;
}

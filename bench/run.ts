// `npm run bench`: micro benchmarks of the hot paths, then mcmp-edge against
// the backend served directly and against the peer proxies that are
// installed, then the management plane under load. Writes a terminal table,
// bench/results/<timestamp>.json (+ latest.json) and latest.svg.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchArgsError, parseBenchArgs, scenarioList, USAGE, type BenchOptions, type PeerName } from './args';
import { BODY_PATHS } from './e2e/backend';
import { startBackend, type BackendProcess } from './e2e/backend-process';
import { findExecutable } from './e2e/executables';
import { pickLoadGenerator, type LoadGenerator } from './e2e/load';
import { measureManagement, type ManagementResult } from './e2e/management';
import { PROFILE_NODE_FLAGS, perfUnavailable, profileWhile } from './e2e/profile';
import { processTree, setClockTicks, stopAll } from './e2e/proc';
import { runScenario, scenarioName, warmUp, type ScenarioOptions, type ScenarioResult } from './e2e/scenarios';
import { runTomcatComparison } from './e2e/tomcat-compare';
import { runTlsComparison } from './e2e/tls-compare';
import { directTarget } from './e2e/targets/direct';
import { haproxyTarget } from './e2e/targets/haproxy';
import { httpdTarget } from './e2e/targets/httpd';
import { BASELINE_SUFFIX, DEFAULT_EDGE_SETS, mcmpEdgeTarget } from './e2e/targets/mcmp-edge';
import { nginxTarget } from './e2e/targets/nginx';
import type { RunningTarget, TargetSpec } from './e2e/targets/types';
import { runSuites, type MicroRow } from './micro/harness';
import { MICRO_SUITES } from './micro/suites';
import { ratiosFor } from './report/ratios';
import { resultsSvg } from './report/svg';
import { managementComparison, managementTable, microTable, scenarioTable } from './report/table';

const RESULTS_DIR = path.resolve(__dirname, '../../bench/results');

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

interface Skipped {
  readonly target: string;
  readonly reason: string;
}

interface ProfileOutput {
  readonly scenario: string;
  readonly target: string;
  readonly file: string;
  readonly summary: string;
}

interface BenchReport {
  readonly schema: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpus: number; cpuModel: string; memoryMiB: number; kernel: string; node: string };
  readonly options: Omit<BenchOptions, 'parts'> & { parts: string[] };
  readonly loadTool: string | undefined;
  readonly versions: Record<string, string>;
  readonly skipped: readonly Skipped[];
  readonly micro: readonly MicroRow[];
  readonly scenarios: ReadonlyArray<ScenarioResult & { ratios: Record<string, ReturnType<typeof ratiosFor>> }>;
  readonly management: ManagementResult | undefined;
  /** Every management run, this build's and --baseline's, in the order run. */
  readonly managementRuns: readonly ManagementResult[];
  /** --profile: the summary file and text per scenario. */
  readonly profiles: readonly ProfileOutput[];
  readonly failures: readonly string[];
  /** Seconds spent per part. */
  readonly timings: Record<string, number>;
}

/** First line a tool prints for its version flag (some print it on stderr). */
function versionOf(bin: string | undefined, args: string[]): string | undefined {
  if (bin === undefined) return undefined;
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return text.length > 0 ? text.split('\n')[0]?.trim() : undefined;
}

function collectVersions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined) v[name] = value;
  };
  add('nginx', versionOf(findExecutable('nginx'), ['-v']));
  add('haproxy', versionOf(findExecutable('haproxy'), ['-v']));
  add('httpd', versionOf(findExecutable('apache2') ?? findExecutable('httpd'), ['-v']));
  add('wrk', versionOf(findExecutable('wrk'), ['--version']));
  return v;
}

function clockTicks(): void {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim());
    if (Number.isFinite(hz) && hz > 0) setClockTicks(hz);
  } catch {
    // 100 is the Linux value everywhere that matters.
  }
}

function peerSpec(p: PeerName): TargetSpec {
  switch (p) {
    case 'nginx':
      return nginxTarget();
    case 'haproxy':
      return haproxyTarget();
    case 'httpd':
      return httpdTarget();
  }
}

async function startTargets(specs: readonly TargetSpec[], backend: BackendProcess, tmpDir: string, skipped: Skipped[], failures: string[]): Promise<RunningTarget[]> {
  const running: RunningTarget[] = [];
  for (const spec of specs) {
    const why = spec.unavailable();
    if (why !== undefined) {
      print(`skipped ${spec.label}: ${why}`);
      skipped.push({ target: spec.label, reason: why });
      if (spec.kind === 'mcmp-edge') failures.push(`${spec.label}: ${why}`);
      continue;
    }
    try {
      const t0 = Date.now();
      running.push(await spec.start({ backendPort: backend.ports['node1'] as number, tmpDir }));
      print(`started ${spec.label} (${Date.now() - t0} ms)`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      print(`FAILED to start ${spec.label}: ${msg}`);
      skipped.push({ target: spec.label, reason: msg.split('\n')[0] as string });
      if (spec.kind === 'mcmp-edge') failures.push(msg.split('\n')[0] as string);
    }
  }
  return running;
}

function writeResults(report: BenchReport, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const files = [path.join(outDir, `${stamp}.json`), path.join(outDir, 'latest.json')];
  for (const f of files) writeFileSync(f, json);
  if (report.scenarios.length > 0) {
    const svgFile = path.join(outDir, 'latest.svg');
    const tool = report.loadTool ?? 'load';
    writeFileSync(
      svgFile,
      resultsSvg(report.scenarios, {
        title: `mcmp-edge bench, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
        subtitle: `${report.machine.cpus} CPUs (${report.machine.cpuModel}), Node ${report.machine.node}, ${tool} -c${report.options.connections}, ${report.options.rounds} round(s) x ${report.options.durationSec} s, medians`,
      }),
    );
    files.push(svgFile);
  }
  return files;
}

/** The target --profile records: named by --profile-target, else this build's mcmp-edge with the most threads. */
function profiledTarget(running: readonly RunningTarget[], wanted: string | undefined): RunningTarget | undefined {
  if (wanted !== undefined) return running.find((t) => t.label === wanted) ?? running.find((t) => t.label.includes(wanted));
  const own = running.filter((t) => t.kind === 'mcmp-edge' && !t.label.endsWith(BASELINE_SUFFIX));
  return own[own.length - 1];
}

/** One more (unrecorded) run of `t` under perf; the summary goes beside the results. `name`: the run's own name (TLS runs), else `prefix` + the scenario's. */
async function profileScenario(t: RunningTarget, sc: ReturnType<typeof scenarioList>[number], so: ScenarioOptions, outDir: string, prefix = '', name = `${prefix}${scenarioName(sc)}`): Promise<ProfileOutput | undefined> {
  if (t.pid === undefined) return undefined;
  const file = path.join(outDir, `profile-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '').toLowerCase()}.txt`);
  const threads = Number(/(\d+)t\b/.exec(t.label)?.[1] ?? 2);
  mkdirSync(outDir, { recursive: true });
  const pids = processTree(t.pid);
  const { result, summary } = await profileWhile(pids, `${t.label}, ${name}, ${so.connections} connections, ${so.durationSec} s`, file, threads, () =>
    so.gen.run({ port: t.port, path: (so.paths ?? BODY_PATHS)[sc.size], connections: so.connections, durationSec: so.durationSec, closeEachRequest: sc.mode === 'close' }),
  );
  print(`  profiled ${t.label} (${result.rps.toFixed(0)} req/s under perf): ${file}`);
  return { scenario: name, target: t.label, file, summary };
}

async function runE2e(o: BenchOptions, gen: LoadGenerator, skipped: Skipped[], failures: string[]): Promise<{ scenarios: ScenarioResult[]; management: ManagementResult | undefined; managementRuns: ManagementResult[]; profiles: ProfileOutput[] }> {
  const scenarios: ScenarioResult[] = [];
  const profiles: ProfileOutput[] = [];
  let management: ManagementResult | undefined;
  const managementRuns: ManagementResult[] = [];
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-bench-'));
  let backend: BackendProcess | undefined;
  const running: RunningTarget[] = [];
  try {
    backend = await startBackend(['node1', 'node2']);
    print(`backend: uWebSockets.js, 1 thread, pid ${backend.pid}, ports node1=${backend.ports['node1']} node2=${backend.ports['node2']}`);
    const edgeSets = [...DEFAULT_EDGE_SETS, ...o.edgeSets];
    const doE2e = o.parts.has('e2e');
    const threads = doE2e ? o.threads : [Math.max(...o.threads)];
    const nodeFlags = o.profile ? PROFILE_NODE_FLAGS : [];
    const env = Object.keys(o.edgeEnv).length > 0 ? o.edgeEnv : undefined;
    if (env !== undefined) print(`mcmp-edge (this checkout) environment: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const specs: TargetSpec[] = [
      ...(doE2e ? [directTarget()] : []),
      // --baseline: that build runs the scenarios and, with --only management, the management plane beside this one.
      ...(o.baseline !== undefined && (doE2e || o.parts.has('management')) ? threads.flatMap((n) => o.edgeUpstreams.map((u) => mcmpEdgeTarget(n, edgeSets, u, undefined, { checkout: o.baseline, nodeFlags }))) : []),
      // --access-log: the same proxies writing an access log, before the plain ones (the default --profile target stays a plain one).
      ...(doE2e
        ? threads.flatMap((n) =>
            o.edgeUpstreams.flatMap((u) =>
              o.accessLogFormats.map((f) =>
                mcmpEdgeTarget(n, edgeSets, u, undefined, { nodeFlags, env, labelSuffix: `+log ${f}`, args: ['--access-log', path.join(tmpDir, `access-${n}t-${u}-${f}.log`), '--access-log-format', f] }),
              ),
            ),
          )
        : []),
      ...threads.flatMap((n) => o.edgeUpstreams.map((u) => mcmpEdgeTarget(n, edgeSets, u, undefined, { nodeFlags, env }))),
      ...(doE2e ? o.peers.map(peerSpec) : []),
    ];
    for (const p of ['nginx', 'haproxy', 'httpd'] as const) {
      if (doE2e && !o.peers.includes(p)) print(`skipped ${p}: not in --peers`);
    }
    running.push(...(await startTargets(specs, backend, tmpDir, skipped, failures)));
    if (doE2e && running.length > 0) {
      const so = {
        gen,
        connections: o.connections,
        durationSec: o.durationSec,
        rounds: o.rounds,
        warmupSec: o.warmupSec,
        backendPid: backend.pid,
        print,
      };
      print(`\nwarm-up: ${o.warmupSec} s per target`);
      await warmUp(running, so);
      let profiled: RunningTarget | undefined;
      if (o.profile) {
        const why = perfUnavailable();
        profiled = why === undefined ? profiledTarget(running, o.profileTarget) : undefined;
        if (why !== undefined) print(`--profile: ${why}; no profile recorded`);
        else if (profiled === undefined) print(`--profile: no running target matches ${JSON.stringify(o.profileTarget ?? 'mcmp-edge')}`);
      }
      for (const sc of scenarioList(o)) {
        print('');
        const r = await runScenario(sc, running, so);
        scenarios.push(r);
        print(scenarioTable(r));
        for (const t of r.targets) {
          if (t.failure !== undefined && t.kind === 'mcmp-edge') failures.push(`${t.label} in ${r.name}: ${t.failure.split('\n')[0] as string}`);
        }
        if (profiled !== undefined) {
          try {
            const p = await profileScenario(profiled, sc, so, o.outDir !== undefined ? path.resolve(o.outDir) : RESULTS_DIR);
            if (p !== undefined) profiles.push(p);
          } catch (e) {
            print(`  profiling ${profiled.label} failed: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      }
    }
    if (o.parts.has('management')) {
      const edges = running.filter((t) => t.kind === 'mcmp-edge');
      const own = edges.filter((t) => !t.label.endsWith(BASELINE_SUFFIX));
      const edge = own[own.length - 1];
      const base = edges.filter((t) => t.label.endsWith(BASELINE_SUFFIX)).pop();
      print('');
      if (edge === undefined) {
        print('skipped management plane: mcmp-edge is not running');
      } else {
        // With --baseline both builds are measured in alternated rounds (A B, B A, ...): the same machine load for both.
        const rounds = base === undefined ? 1 : Math.max(1, o.rounds);
        for (let round = 0; round < rounds; round++) {
          const order = base === undefined ? [edge] : round % 2 === 0 ? [edge, base] : [base, edge];
          for (const target of order) {
            print(`management plane under load (${target.label}${rounds > 1 ? `, round ${round + 1} of ${rounds}` : ''})`);
            const m = await measureManagement({
              edge: target,
              gen,
              node2Port: backend.ports['node2'] as number,
              statusSeconds: o.statusSeconds,
              statusConnections: o.statusConnections,
              routeSamples: o.routeSamples,
              loadConnections: o.connections,
              print,
            });
            managementRuns.push(m);
            if (target === edge && management === undefined) management = m;
            for (const e of m.errors) failures.push(`management (${target.label}): ${e}`);
          }
        }
      }
    }
    if (doE2e && o.nodeTypes.includes('ajp')) {
      for (const r of await runTomcatComparison(o, {
        gen,
        tmpDir,
        print,
        skip: (target, reason) => skipped.push({ target, reason }),
        fail: (message) => failures.push(message),
        profile: async (running, sc, so) => {
          const why = perfUnavailable();
          if (why !== undefined) return print(`--profile: ${why}; no profile recorded`);
          // Default: this build's mcmp-edge with the AJP node.
          const t = o.profileTarget !== undefined ? profiledTarget(running, o.profileTarget) : running.find((r) => r.kind === 'mcmp-edge' && r.label.endsWith(' ajp'));
          if (t === undefined) return print(`--profile: no running target matches ${JSON.stringify(o.profileTarget ?? 'mcmp-edge … ajp')}`);
          try {
            const p = await profileScenario(t, sc, so, o.outDir !== undefined ? path.resolve(o.outDir) : RESULTS_DIR, `tomcat ${t.label.endsWith(' ajp') ? 'ajp ' : ''}`);
            if (p !== undefined) profiles.push(p);
          } catch (e) {
            print(`  profiling ${t.label} failed: ${e instanceof Error ? e.message : String(e)}`);
          }
        },
      })) {
        scenarios.push(r);
        print(scenarioTable(r));
      }
    }
    if (doE2e && o.tls) {
      const perfWhy = o.profile ? perfUnavailable() : undefined;
      if (perfWhy !== undefined) print(`--profile (TLS): ${perfWhy}; no profile recorded`);
      const profileTls = async (tlsRunning: readonly RunningTarget[], name: string, tlsGen: LoadGenerator, sc: ReturnType<typeof scenarioList>[number]): Promise<void> => {
        const t = profiledTarget(tlsRunning, o.profileTarget);
        if (t === undefined) {
          print(`--profile: no running TLS target matches ${JSON.stringify(o.profileTarget ?? 'mcmp-edge')}`);
          return;
        }
        const so: ScenarioOptions = { gen: tlsGen, connections: o.connections, durationSec: o.durationSec, rounds: 1, warmupSec: 0, backendPid: backend?.pid ?? 0, print };
        try {
          const p = await profileScenario(t, sc, so, o.outDir !== undefined ? path.resolve(o.outDir) : RESULTS_DIR, '', name);
          if (p !== undefined) profiles.push(p);
        } catch (e) {
          print(`  profiling ${t.label} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      };
      for (const r of await runTlsComparison(o, {
        gen,
        tmpDir,
        backendPort: backend.ports['node1'] as number,
        backendPid: backend.pid,
        print,
        skip: (target, reason) => skipped.push({ target, reason }),
        fail: (message) => failures.push(message),
        nodeFlags: o.profile ? PROFILE_NODE_FLAGS : [],
        ...(Object.keys(o.edgeEnv).length > 0 ? { env: o.edgeEnv } : {}),
        ...(o.profile && perfWhy === undefined ? { profile: profileTls } : {}),
      })) {
        scenarios.push(r);
        print(scenarioTable(r));
      }
    }
  } finally {
    await Promise.all(running.map((t) => t.stop()));
    await backend?.stop();
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  return { scenarios, management, managementRuns, profiles };
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof BenchArgsError) {
      process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    print(USAGE);
    return 0;
  }
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  clockTicks();
  const cpus = os.cpus();
  print(`mcmp-edge bench${o.quick ? ' (quick)' : ''}: ${cpus.length} CPUs, ${cpus[0]?.model ?? '?'}, Node ${process.version}, ${os.platform()} ${os.release()}`);
  const skipped: Skipped[] = [];
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  let micro: MicroRow[] = [];
  if (o.parts.has('micro')) {
    print('\nmicro benchmarks (benchmark.js)');
    if (MICRO_SUITES.length === 0) print('  no micro suites are built yet');
    micro = await runSuites(MICRO_SUITES, { maxTimeSec: o.microTimeSec, minSamples: o.quick ? 3 : 5, ...(o.quick ? { minTimeSec: 0.02 } : {}), print, filter: o.microFilter });
    timings.microSec = (Date.now() - t0) / 1000;
  }
  let scenarios: ScenarioResult[] = [];
  let management: ManagementResult | undefined;
  let managementRuns: ManagementResult[] = [];
  let profiles: ProfileOutput[] = [];
  let loadTool: string | undefined;
  if (o.parts.has('e2e') || o.parts.has('management')) {
    const { gen, note } = pickLoadGenerator(o.load);
    loadTool = gen.name;
    print(`\n${note}`);
    const t1 = Date.now();
    ({ scenarios, management, managementRuns, profiles } = await runE2e(o, gen, skipped, failures));
    timings.e2eAndManagementSec = (Date.now() - t1) / 1000;
  }
  timings.totalSec = (Date.now() - t0) / 1000;
  const report: BenchReport = {
    schema: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? '', memoryMiB: Math.round(os.totalmem() / 1024 / 1024), kernel: os.release(), node: process.version },
    options: { ...o, parts: [...o.parts] },
    loadTool,
    versions: collectVersions(),
    skipped,
    micro,
    scenarios: scenarios.map((r) => ({ ...r, ratios: Object.fromEntries(r.targets.map((t) => [t.label, ratiosFor(r, t)])) })),
    management,
    managementRuns,
    profiles,
    failures,
    timings,
  };
  const files = writeResults(report, o.outDir !== undefined ? path.resolve(o.outDir) : RESULTS_DIR);
  print(`\n==== summary (${Object.entries(timings).map(([k, v]) => `${k.replace(/Sec$/, '')} ${v.toFixed(0)} s`).join(', ')}) ====`);
  if (micro.length > 0) print(`\n${microTable(micro)}`);
  for (const r of scenarios) print(`\n${scenarioTable(r)}`);
  if (management !== undefined) print(`\n${managementTable(management)}`);
  if (new Set(managementRuns.map((m) => m.target)).size > 1) print(`\n${managementComparison(managementRuns)}`);
  for (const p of profiles) print(`\n${p.summary}`);
  for (const s of skipped) print(`skipped ${s.target}: ${s.reason}`);
  print(`\nresults: ${files.join(', ')}`);
  if (failures.length > 0) {
    print('\nFAILED:');
    for (const f of failures) print(`  ${f}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);

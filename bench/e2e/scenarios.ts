// Interleaved rounds (A B C A B C ...) of every target for every scenario, and
// the medians that go into the report. Each run measures, besides what the
// load generator sees, the CPU time of the proxy's whole process tree and its
// peak resident set, because CPU per request is the steadiest figure on a
// machine the load generator and backend share (PERFORMANCE.md).
import { BODY_PATHS, BODY_SIZES, type BodySize } from './backend';
import type { LoadGenerator, LoadResult } from './load';
import { cpuMicros, isInterrupted, resetPeakRss, treeCpuMicros, treePeakRssKiB } from './proc';
import type { RunningTarget } from './targets/types';

export type ConnectionMode = 'keep-alive' | 'close';

export interface Scenario {
  readonly size: BodySize;
  readonly mode: ConnectionMode;
}

export function scenarioName(s: Scenario): string {
  return `${sizeLabel(s.size)} ${s.mode === 'close' ? 'new conn/req' : 'keep-alive'}`;
}

export function sizeLabel(size: BodySize): string {
  if (size === 'chunked') return `${BODY_SIZES.chunked} B chunked`;
  const bytes = BODY_SIZES[size];
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

export interface RunSample {
  readonly round: number;
  readonly load: LoadResult;
  /** CPU µs of the proxy tree per request; null for direct. */
  readonly cpuUsPerReq: number | null;
  readonly backendCpuUsPerReq: number;
  readonly peakRssKiB: number | null;
}

export interface TargetSummary {
  readonly label: string;
  readonly kind: RunningTarget['kind'];
  readonly samples: readonly RunSample[];
  /** Medians over the rounds. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number | null;
  readonly backendCpuUsPerReq: number;
  readonly peakRssMiB: number | null;
  /** Summed over the rounds. */
  readonly errors: number;
  readonly non2xx: number;
  /** Set when a run failed (the proxy crashed or the load generator failed). */
  readonly failure?: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly scenario: Scenario;
  readonly targets: readonly TargetSummary[];
}

export interface ScenarioOptions {
  readonly gen: LoadGenerator;
  readonly connections: number;
  readonly durationSec: number;
  readonly rounds: number;
  /** Seconds of unrecorded load per target before the first round (0: none). */
  readonly warmupSec: number;
  readonly backendPid: number;
  readonly print: (line: string) => void;
  /** Request path per body size (default: the uWS backend's BODY_PATHS). */
  readonly paths?: Readonly<Record<BodySize, string>>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function measureOnce(t: RunningTarget, sc: Scenario, o: ScenarioOptions, round: number): Promise<RunSample> {
  const pid = t.pid;
  if (pid !== undefined) resetPeakRss(pid);
  const cpu0 = pid !== undefined ? treeCpuMicros(pid) : 0;
  const be0 = cpuMicros(o.backendPid);
  const load = await o.gen.run({ port: t.port, path: (o.paths ?? BODY_PATHS)[sc.size], connections: o.connections, durationSec: o.durationSec, closeEachRequest: sc.mode === 'close' });
  const cpu1 = pid !== undefined ? treeCpuMicros(pid) : 0;
  const be1 = cpuMicros(o.backendPid);
  const n = Math.max(1, load.requests);
  return {
    round,
    load,
    cpuUsPerReq: pid !== undefined ? (cpu1 - cpu0) / n : null,
    backendCpuUsPerReq: (be1 - be0) / n,
    peakRssKiB: pid !== undefined ? treePeakRssKiB(pid) : null,
  };
}

function summarize(t: RunningTarget, samples: RunSample[], failure: string | undefined): TargetSummary {
  const pick = (f: (s: RunSample) => number): number => median(samples.map(f));
  const hasProxy = t.pid !== undefined && samples.length > 0;
  return {
    label: t.label,
    kind: t.kind,
    samples,
    rps: pick((s) => s.load.rps),
    p50Ms: pick((s) => s.load.p50Ms),
    p99Ms: pick((s) => s.load.p99Ms),
    cpuUsPerReq: hasProxy ? pick((s) => s.cpuUsPerReq ?? NaN) : null,
    backendCpuUsPerReq: pick((s) => s.backendCpuUsPerReq),
    peakRssMiB: hasProxy ? pick((s) => s.peakRssKiB ?? NaN) / 1024 : null,
    errors: samples.reduce((a, s) => a + s.load.errors, 0),
    non2xx: samples.reduce((a, s) => a + s.load.non2xx, 0),
    ...(failure !== undefined ? { failure } : {}),
  };
}

/** Warm-up ends when a run is no more than this fraction faster than the best before it... */
const STEADY_WITHIN = 0.1;
/**
 * ...and at least this many requests went through the target: V8 optimizes by
 * call counts, and on a loaded machine two short runs can agree while the
 * proxy is still cold (mcmp-edge: 470, 620, 480 req/s, then 9 000 once warm).
 */
const WARMUP_REQUESTS = 40_000;
/** Warm-up runs per target at most (a loaded machine may never look steady). */
const WARMUP_RUNS_MAX = 10;

/**
 * Warms every target up (JIT, pools, upstream connections); results are
 * discarded. Runs of `--warmup` seconds repeat until WARMUP_REQUESTS requests
 * were served and the last run is no more than 10% faster than the best
 * before it (at most 10 runs), then one run with a 16 KiB body warms the body
 * path.
 */
export async function warmUp(targets: readonly RunningTarget[], o: ScenarioOptions): Promise<void> {
  if (o.warmupSec <= 0) return;
  const paths = o.paths ?? BODY_PATHS;
  for (const t of targets) {
    if (isInterrupted()) return;
    try {
      let best = 0;
      let served = 0;
      const rates: string[] = [];
      for (let run = 0; run < WARMUP_RUNS_MAX && !isInterrupted(); run++) {
        const r = await o.gen.run({ port: t.port, path: paths.small, connections: o.connections, durationSec: o.warmupSec, closeEachRequest: false });
        rates.push(r.rps.toFixed(0));
        served += r.requests;
        const steady = r.rps <= best * (1 + STEADY_WITHIN);
        best = Math.max(best, r.rps);
        if (served >= WARMUP_REQUESTS && steady) break;
      }
      await o.gen.run({ port: t.port, path: paths.medium, connections: o.connections, durationSec: o.warmupSec, closeEachRequest: false });
      o.print(`  warm-up ${t.label}: ${rates.join(' → ')} req/s`);
    } catch (e) {
      o.print(`  warm-up of ${t.label} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** Runs one scenario: `rounds` rounds, each target once per round, in the same order (interleaved). */
export async function runScenario(sc: Scenario, targets: readonly RunningTarget[], o: ScenarioOptions): Promise<ScenarioResult> {
  const name = scenarioName(sc);
  const samples = new Map<string, RunSample[]>(targets.map((t) => [t.label, []]));
  const failures = new Map<string, string>();
  for (let round = 1; round <= o.rounds; round++) {
    for (const t of targets) {
      if (isInterrupted()) break;
      if (failures.has(t.label)) continue;
      try {
        const s = await measureOnce(t, sc, o, round);
        (samples.get(t.label) as RunSample[]).push(s);
        o.print(
          `  ${name} round ${round}/${o.rounds} ${t.label.padEnd(13)} ${s.load.rps.toFixed(0).padStart(7)} req/s  p99 ${s.load.p99Ms.toFixed(2)} ms` +
            (s.cpuUsPerReq !== null ? `  ${s.cpuUsPerReq.toFixed(1)} µs CPU/req` : '') +
            (s.load.resumed !== undefined ? `  ${((100 * s.load.resumed) / Math.max(1, s.load.requests)).toFixed(0)}% resumed` : '') +
            (s.load.errors + s.load.non2xx > 0 ? `  (${s.load.errors} errors, ${s.load.non2xx} non-2xx)` : ''),
        );
      } catch (e) {
        if (isInterrupted()) break;
        const msg = e instanceof Error ? e.message : String(e);
        failures.set(t.label, msg);
        o.print(`  ${name} ${t.label}: run failed: ${msg}`);
      }
    }
  }
  return { name, scenario: sc, targets: targets.map((t) => summarize(t, samples.get(t.label) as RunSample[], failures.get(t.label))) };
}

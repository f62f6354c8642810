// Upstream I/O bench (issue 10, lever 1): CPU per keep-alive round trip of a
// client against nginx on loopback, for node:net streams, the proxy's handle
// I/O and a minimal N-API addon, interleaved in rounds, each measurement in
// its own process.
//   node dist/bench/upstream-io/run.js [--rounds 5] [--duration 3] [--warmup 1]
//        [--connections 64] [--variants stream,handle,addon-call,addon-make,addon-batch]
//        [--perf DIR]   (each client under perf record: DIR/<variant>-<round>.data; perf adds its own cost)
// Run it under the bench lock: flock -o /work/bench.lock node dist/bench/upstream-io/run.js
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { stopAll } from '../e2e/proc';
import { AddonBuildError, buildAddon } from './build';
import { VARIANTS, type ClientJob, type Variant } from './client';
import type { LoopResult } from './loop';
import { responseLength, startNginx } from './nginx';

const USAGE = `usage: node dist/bench/upstream-io/run.js [--rounds N] [--duration S] [--warmup S] [--connections N] [--variants ${VARIANTS.join(',')}] [--perf DIR] [--help]`;

interface Options {
  readonly rounds: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly variants: readonly Variant[];
  /** Where perf.data files go; undefined: no perf. */
  readonly perfDir: string | undefined;
}

class UsageError extends Error {}

function positive(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`--${name}: a number above 0 and at most ${max}, got ${text}`);
  return n;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
      variants: { type: 'string', default: VARIANTS.join(',') },
      perf: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) return 'help';
  const variants = (values.variants as string).split(',');
  for (const v of variants) {
    if (!(VARIANTS as readonly string[]).includes(v)) throw new UsageError(`--variants: any of ${VARIANTS.join(',')}, got ${v}`);
  }
  return {
    rounds: Math.round(positive('rounds', values.rounds as string, 100)),
    durationMs: positive('duration', values.duration as string, 600) * 1000,
    warmupMs: positive('warmup', values.warmup as string, 60) * 1000,
    connections: Math.round(positive('connections', values.connections as string, 1000)),
    variants: variants as Variant[],
    perfDir: values.perf === undefined ? undefined : path.resolve(values.perf as string),
  };
}

function measure(job: ClientJob, perfData: string | undefined): LoopResult {
  const client = [path.join(__dirname, 'client.js'), JSON.stringify(job)];
  const [command, args] =
    perfData === undefined
      ? [process.execPath, client]
      : ['perf', ['record', '-q', '-e', 'cpu-clock', '-F', '4999', '-g', '-o', perfData, '--', process.execPath, '--perf-basic-prof-only-functions', ...client]];
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: job.warmupMs + job.durationMs + 30_000,
  });
  if (r.status !== 0) throw new Error(`${job.variant}: client failed (${r.status ?? r.signal}): ${r.stderr}${r.error?.message ?? ''}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as LoopResult;
}

const cpuPerTrip = (r: LoopResult): number => (r.userUs + r.systemUs) / r.roundTrips;
const userPerTrip = (r: LoopResult): number => r.userUs / r.roundTrips;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function report(results: ReadonlyMap<Variant, LoopResult[]>): string[] {
  const lines = ['variant       CPU µs/round trip: median (min–max)   user   sys   round trips/s'];
  for (const [variant, rs] of results) {
    const cpu = rs.map(cpuPerTrip);
    const user = median(rs.map(userPerTrip));
    const sys = median(rs.map((r) => r.systemUs / r.roundTrips));
    const rate = median(rs.map((r) => r.roundTrips / r.seconds));
    lines.push(
      `${variant.padEnd(13)} ${median(cpu).toFixed(2).padStart(6)} (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)})`.padEnd(52) +
        `${user.toFixed(2).padStart(6)} ${sys.toFixed(2).padStart(5)} ${Math.round(rate).toString().padStart(9)}`,
    );
  }
  const handle = results.get('handle');
  if (handle !== undefined) {
    for (const [variant, rs] of results) {
      if (variant === 'handle') continue;
      // Paired by round: both ran within seconds of each other.
      const diffs = rs.map((r, i) => cpuPerTrip(handle[i] as LoopResult) - cpuPerTrip(r));
      // User time alone: the paths make the same system calls, but the kernel's share per round trip
      // also moves with the rate (more sockets ready per epoll wake-up), so it carries the load's noise.
      const userDiffs = rs.map((r, i) => userPerTrip(handle[i] as LoopResult) - userPerTrip(r));
      lines.push(
        `handle − ${variant}: CPU median ${median(diffs).toFixed(2)} µs per round trip (rounds: ${diffs.map((d) => d.toFixed(2)).join(' ')}), ` +
          `user median ${median(userDiffs).toFixed(2)}`,
      );
    }
  }
  return lines;
}

async function main(): Promise<number> {
  let parsed: Options | 'help';
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = parsed;
  let addonPath = '';
  if (options.variants.some((v) => v.startsWith('addon-'))) {
    try {
      addonPath = buildAddon();
    } catch (err) {
      if (!(err instanceof AddonBuildError)) throw err;
      process.stderr.write(`upstream-io bench: cannot build the addon: ${err.message}\n(run with --variants stream,handle to measure without it)\n`);
      return 1;
    }
  }
  if (options.perfDir !== undefined) mkdirSync(options.perfDir, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upstream-io-'));
  try {
    const nginx = await startNginx(dir);
    const responseBytes = await responseLength(nginx.port);
    process.stdout.write(
      `nginx (1 worker) on ${nginx.port}, ${responseBytes}-byte responses; ${options.connections} connections, ` +
        `${options.rounds} rounds of ${options.durationMs / 1000} s (+${options.warmupMs / 1000} s warm-up) per variant\n`,
    );
    const results = new Map<Variant, LoopResult[]>(options.variants.map((v) => [v, []]));
    for (let round = 0; round < options.rounds; round++) {
      // Each round starts with a different variant, so none always runs first.
      const order = options.variants.map((_, i) => options.variants[(i + round) % options.variants.length] as Variant);
      for (const variant of order) {
        const job = { variant, port: nginx.port, connections: options.connections, responseBytes, warmupMs: options.warmupMs, durationMs: options.durationMs, addonPath };
        const perfData = options.perfDir === undefined ? undefined : path.join(options.perfDir, `${variant}-${round + 1}.data`);
        const r = measure(job, perfData);
        (results.get(variant) as LoopResult[]).push(r);
        process.stdout.write(`round ${round + 1} ${variant}: ${cpuPerTrip(r).toFixed(2)} µs CPU/round trip, ${Math.round(r.roundTrips / r.seconds)}/s\n`);
      }
    }
    for (const line of report(results)) process.stdout.write(`${line}\n`);
    if (options.perfDir !== undefined) {
      process.stdout.write(`perf data in ${options.perfDir}: perf report -i FILE --no-children --sort dso,sym\n`);
    }
    return 0;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// `--profile`: where a proxy's CPU time goes during one load run, so the next
// person starts from data. `perf record` samples every thread of the proxy
// (kernel, the node binary, uWS, libc, and JIT code, named through the
// /tmp/perf-PID.map that `node --perf-basic-prof` writes); the summary keeps
// the busiest threads (the forwarding threads under load) and lists where
// their time goes by binary and by function, self time only.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { findExecutable } from './executables';
import { spawnTracked } from './proc';

/** Node flags a profiled mcmp-edge starts with: JIT code gets names perf can read. */
export const PROFILE_NODE_FLAGS: readonly string[] = ['--perf-basic-prof-only-functions'];

/** Sampling rate: thousands of samples per busy thread in a short run. */
const SAMPLE_HZ = 4999;
const TOP_FUNCTIONS = 30;

export class ProfileError extends Error {
  readonly code = 'ERR_BENCH_PROFILE';
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** Why `perf record` cannot sample here (with the fix), or undefined when it can. */
export function perfUnavailable(): string | undefined {
  const perf = findExecutable('perf');
  if (perf === undefined) return 'perf is not installed (apt-get install linux-perf)';
  // Hardware counters are often absent in VMs; the cpu-clock software event is enough.
  const r = spawnSync(perf, ['stat', '-e', 'cpu-clock', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return `perf stat -e cpu-clock fails: ${`${r.stderr ?? ''}`.trim().split('\n')[0] ?? ''} (see /proc/sys/kernel/perf_event_paranoid)`;
  return undefined;
}

export interface ProfiledRun<T> {
  readonly result: T;
  /** The "where the time goes" text. */
  readonly summary: string;
}

/**
 * Samples every thread of the processes `pids` while `run` runs, then writes the summary to
 * `summaryFile` (the raw perf.data is removed: it is large and names nothing
 * without the map file, which goes with the process).
 */
export async function profileWhile<T>(pids: readonly number[], title: string, summaryFile: string, busiestThreads: number, run: () => Promise<T>): Promise<ProfiledRun<T>> {
  const perf = findExecutable('perf');
  if (perf === undefined) throw new ProfileError('perf is not installed');
  const data = `${summaryFile}.perf.data`;
  const rec = spawnTracked(perf, ['record', '-e', 'cpu-clock', '-F', String(SAMPLE_HZ), '-p', pids.join(','), '-o', data]);
  // perf needs a moment to attach to every thread.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let result: T;
  try {
    result = await run();
  } finally {
    // perf record writes its file on SIGINT.
    try {
      process.kill(rec.pid, 'SIGINT');
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => void rec.stop(1000), 15_000);
    await rec.exited;
    clearTimeout(timer);
  }
  try {
    const summary = summarize(perf, data, title, busiestThreads);
    writeFileSync(summaryFile, summary);
    return { result, summary };
  } finally {
    rmSync(data, { force: true });
    rmSync(`${data}.old`, { force: true });
  }
}

function report(perf: string, data: string, args: readonly string[]): string {
  const r = spawnSync(perf, ['report', '-i', data, '--stdio', '--no-children', ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new ProfileError(`perf report failed: ${`${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}

/** Rows of a `perf report --stdio` table: [percent, the rest of the line]. */
export function reportRows(text: string): Array<{ percent: number; cols: string }> {
  const rows: Array<{ percent: number; cols: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(.*\S)\s*$/.exec(line);
    if (m !== null) rows.push({ percent: Number(m[1]), cols: m[2] as string });
  }
  return rows;
}

function summarize(perf: string, data: string, title: string, busiestThreads: number): string {
  // perf's `pid` key is the thread id (`tid:comm`).
  const threadText = report(perf, data, ['--sort', 'pid']);
  const threadRows = reportRows(threadText);
  const samples = /^# Samples: (\S+)/m.exec(threadText)?.[1];
  const busiest = threadRows.slice(0, busiestThreads);
  const tids = busiest.map((r) => /(\d+):/.exec(r.cols)?.[1]).filter((t): t is string => t !== undefined);
  const only = tids.length > 0 ? ['--tid', tids.join(',')] : [];
  const dsoRows = reportRows(report(perf, data, ['--sort', 'dso', ...only]));
  const symRows = mergeByName(reportRows(report(perf, data, ['--sort', 'dso,sym', ...only])).map((r) => ({ percent: r.percent, cols: jitName(r.cols).replace(/\s+/g, ' ') })));
  const covered = busiest.reduce((a, r) => a + r.percent, 0);
  const dsos = mergeByName(dsoRows.map((r) => ({ percent: r.percent, cols: jitName(r.cols) })));
  // perf report has been seen to leave out a row now and then: what is not listed is said, not hidden.
  const unlisted = 100 - dsos.reduce((a, r) => a + r.percent, 0);
  const lines = [
    `where the time goes: ${title}`,
    `perf record -e cpu-clock -F ${SAMPLE_HZ} over every thread of the proxy${samples !== undefined ? ` (${samples} samples)` : ''}; self time.`,
    '',
    'threads (share of all samples):',
    ...threadRows.slice(0, 8).map((r) => `  ${r.percent.toFixed(1).padStart(5)}%  ${r.cols}`),
    '',
    `the ${busiest.length} busiest thread(s) (${covered.toFixed(1)}% of samples), by binary:`,
    ...dsos.slice(0, 10).map((r) => `  ${r.percent.toFixed(1).padStart(5)}%  ${r.cols}`),
    ...(unlisted >= 1 ? [`  ${unlisted.toFixed(1).padStart(5)}%  (not in perf report's output)`] : []),
    '',
    `the same threads, top ${TOP_FUNCTIONS} functions:`,
    ...symRows.slice(0, TOP_FUNCTIONS).map((r) => `  ${r.percent.toFixed(1).padStart(5)}%  ${r.cols.slice(0, 150)}`),
    '',
  ];
  return lines.join('\n');
}

/**
 * perf names JIT code by the thread that wrote the map file (`[JIT] tid N`,
 * or the map file itself); say what it is. Each forwarding thread has its own
 * isolate, so one function shows once per thread: those rows are added up.
 */
export function jitName(cols: string): string {
  return cols.replace(/\[JIT\] tid \d+|perf-\d+\.map/, 'JIT(JS)');
}

export function mergeByName(rows: ReadonlyArray<{ percent: number; cols: string }>): Array<{ percent: number; cols: string }> {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(r.cols, (sums.get(r.cols) ?? 0) + r.percent);
  return [...sums].map(([cols, percent]) => ({ percent, cols })).sort((a, b) => b.percent - a.percent);
}

// Runs micro-benchmark suites with benchmark.js, prints one line per case
// (ops/s ± relative margin of error) and returns the rows for the JSON report.
import Benchmark from 'benchmark';

export type MicroCase =
  | {
      readonly name: string;
      /** One operation. Its return value is kept so the work cannot be optimised away. */
      readonly fn: () => unknown;
      readonly async?: false;
    }
  | {
      readonly name: string;
      /** One asynchronous operation. */
      readonly fn: () => Promise<unknown>;
      readonly async: true;
    };

export interface MicroSuite {
  readonly name: string;
  /** Builds the cases; setup may be heavy, so it runs only when the suite runs. */
  build(): MicroCase[] | Promise<MicroCase[]>;
}

export interface MicroRow {
  readonly suite: string;
  readonly name: string;
  readonly opsPerSec: number;
  readonly rmePercent: number;
  readonly nsPerOp: number;
  readonly samples: number;
  /** Set when the case threw instead of being measured. */
  readonly error?: string;
}

export interface HarnessOptions {
  /** Seconds per case. */
  readonly maxTimeSec: number;
  readonly minSamples: number;
  /** Seconds per sample (benchmark.js default: 0.05). */
  readonly minTimeSec?: number;
  readonly print: (line: string) => void;
  /** Only suites whose name contains one of these (all when empty). */
  readonly filter?: readonly string[];
}

/**
 * Asynchronous operations run this many at a time, one after the other,
 * per benchmark.js operation: a deferred benchmark costs more than a
 * microsecond of its own, which would swamp what is measured.
 */
export const ASYNC_BATCH = 64;

// Written by every operation, read by nobody: keeps results observable to the optimiser.
let sink: unknown;
export function lastSink(): unknown {
  return sink;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatMicroRow(r: MicroRow): string {
  if (r.error !== undefined) return `  ${r.name}: ERROR ${r.error}`;
  return `  ${r.name} x ${fmt.format(r.opsPerSec)} ops/sec ±${r.rmePercent.toFixed(2)}% (${r.samples} runs sampled, ${r.nsPerOp.toFixed(0)} ns/op)`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function errorRow(suite: string, name: string, e: unknown): MicroRow {
  return { suite, name, opsPerSec: 0, rmePercent: 0, nsPerOp: 0, samples: 0, error: message(e) };
}

/** `failures` receives the first rejection of an asynchronous case (benchmark.js has no deferred.reject). */
function addCase(bs: Benchmark.Suite, c: MicroCase, options: Benchmark.Options, failures: Map<string, unknown>): void {
  if (c.async === true) {
    const fn = c.fn;
    const fail = (e: unknown): void => {
      if (!failures.has(c.name)) failures.set(c.name, e);
    };
    bs.add(
      c.name,
      (deferred) => {
        let left = ASYNC_BATCH;
        const step = (v: unknown): void => {
          sink = v;
          if (--left >= 0 && !failures.has(c.name)) fn().then(step, (e: unknown) => {
            fail(e);
            deferred.resolve();
          });
          else deferred.resolve();
        };
        step(undefined);
      },
      { ...options, defer: true },
    );
  } else {
    const fn = c.fn;
    bs.add(c.name, () => {
      sink = fn();
    }, options);
  }
}

/** Runs one suite; each case runs once first so a broken case is reported, not measured. */
export async function runSuite(suite: MicroSuite, opts: HarnessOptions): Promise<MicroRow[]> {
  opts.print(suite.name);
  let cases: MicroCase[];
  try {
    cases = await suite.build();
  } catch (e) {
    const row = errorRow(suite.name, '(setup)', e);
    opts.print(formatMicroRow(row));
    return [row];
  }
  const rows: MicroRow[] = [];
  const failures = new Map<string, unknown>();
  const bs = new Benchmark.Suite(suite.name);
  let added = 0;
  for (const c of cases) {
    try {
      sink = c.async === true ? await c.fn() : c.fn();
    } catch (e) {
      const row = errorRow(suite.name, c.name, e);
      rows.push(row);
      opts.print(formatMicroRow(row));
      continue;
    }
    addCase(bs, c, { maxTime: opts.maxTimeSec, minSamples: opts.minSamples, ...(opts.minTimeSec !== undefined ? { minTime: opts.minTimeSec } : {}) }, failures);
    added++;
  }
  if (added === 0) return rows;
  const batchOf = new Map(cases.map((c) => [c.name, c.async === true ? ASYNC_BATCH : 1]));
  await new Promise<void>((resolve) => {
    bs.on('cycle', (ev) => {
      const b = ev.target;
      const batch = batchOf.get(b.name) ?? 1;
      const row: MicroRow =
        b.error !== undefined || failures.has(b.name)
          ? errorRow(suite.name, b.name, b.error ?? failures.get(b.name))
          : { suite: suite.name, name: b.name, opsPerSec: b.hz * batch, rmePercent: b.stats.rme, nsPerOp: (b.stats.mean * 1e9) / batch, samples: b.stats.sample.length };
      rows.push(row);
      opts.print(formatMicroRow(row));
    });
    bs.on('complete', () => resolve());
    bs.run({ async: false });
  });
  return rows;
}

export async function runSuites(suites: readonly MicroSuite[], opts: HarnessOptions): Promise<MicroRow[]> {
  const filter = opts.filter ?? [];
  const chosen = filter.length === 0 ? suites : suites.filter((s) => filter.some((f) => s.name.includes(f)));
  const rows: MicroRow[] = [];
  for (const s of chosen) rows.push(...(await runSuite(s, opts)));
  return rows;
}

// Runs micro-benchmark suites with benchmark.js, prints one line per case
// (ops/s ± relative margin of error) and returns the rows for the JSON report.
import Benchmark from 'benchmark';

export interface MicroCase {
  readonly name: string;
  /** One operation. Its return value is kept so the work cannot be optimised away. */
  readonly fn: () => unknown;
}

export interface MicroSuite {
  readonly name: string;
  /** Builds the cases (setup may be heavy: it runs only when the suite runs). */
  build(): MicroCase[];
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
  readonly print: (line: string) => void;
  /** Only suites whose name contains one of these (all when empty). */
  readonly filter?: readonly string[];
}

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

/** Runs one suite synchronously. */
export function runSuite(suite: MicroSuite, opts: HarnessOptions): MicroRow[] {
  const rows: MicroRow[] = [];
  let cases: MicroCase[];
  try {
    cases = suite.build();
  } catch (e) {
    const row: MicroRow = { suite: suite.name, name: '(setup)', opsPerSec: 0, rmePercent: 0, nsPerOp: 0, samples: 0, error: e instanceof Error ? e.message : String(e) };
    opts.print(`${suite.name}`);
    opts.print(formatMicroRow(row));
    return [row];
  }
  opts.print(`${suite.name}`);
  const bs = new Benchmark.Suite(suite.name);
  for (const c of cases) {
    const fn = c.fn;
    bs.add(c.name, () => {
      sink = fn();
    }, { maxTime: opts.maxTimeSec, minSamples: opts.minSamples });
  }
  bs.on('cycle', (ev) => {
    const b = ev.target;
    const row: MicroRow =
      b.error !== undefined
        ? { suite: suite.name, name: b.name, opsPerSec: 0, rmePercent: 0, nsPerOp: 0, samples: 0, error: b.error.message }
        : { suite: suite.name, name: b.name, opsPerSec: b.hz, rmePercent: b.stats.rme, nsPerOp: b.stats.mean * 1e9, samples: b.stats.sample.length };
    rows.push(row);
    opts.print(formatMicroRow(row));
  });
  bs.run({ async: false });
  return rows;
}

export function runSuites(suites: readonly MicroSuite[], opts: HarnessOptions): MicroRow[] {
  const filter = opts.filter ?? [];
  const chosen = filter.length === 0 ? suites : suites.filter((s) => filter.some((f) => s.name.includes(f)));
  return chosen.flatMap((s) => runSuite(s, opts));
}

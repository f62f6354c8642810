// A metric whose values are read from somewhere else at scrape time (the
// shared counters, the cluster tables), in the shape prom-client's Registry
// renders: prom-client does the exposition format, escaping included.
import type { MetricType, MetricValue } from 'prom-client';

export type Labels = Record<string, string | number>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** For histograms: the _bucket/_sum/_count series name. */
  readonly metricName?: string;
}

export class CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly #collect: () => Iterable<Sample>;

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', collect: () => Iterable<Sample>) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#collect = collect;
  }

  /** What prom-client's Registry asks every metric for. */
  async get(): Promise<{ name: string; help: string; type: MetricType; values: Array<MetricValue<string>>; aggregator: 'sum' }> {
    const values: Array<MetricValue<string>> = [];
    for (const s of this.#collect()) values.push(s.metricName === undefined ? { labels: s.labels, value: s.value } : ({ labels: s.labels, value: s.value, metricName: s.metricName } as MetricValue<string>));
    return { name: this.name, help: this.help, type: this.type as unknown as MetricType, values, aggregator: 'sum' };
  }
}

/** Cumulative histogram series from per-bucket counts (the last is +Inf) and a sum. */
export function* histogramSamples(name: string, labels: Labels, boundsSeconds: readonly number[], perBucket: readonly number[], sumSeconds: number): Iterable<Sample> {
  let cumulative = 0;
  for (let i = 0; i < perBucket.length; i++) {
    cumulative += perBucket[i] as number;
    const le = i < boundsSeconds.length ? String(boundsSeconds[i]) : '+Inf';
    yield { metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative };
  }
  yield { metricName: `${name}_sum`, labels, value: sumSeconds };
  yield { metricName: `${name}_count`, labels, value: cumulative };
}
